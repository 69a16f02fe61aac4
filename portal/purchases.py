"""Selling GitLab Duo and seats: the customer's self-serve purchases and sales' orders.

Rules held here, each checked before any payment is taken or row written, so a refused or
declined purchase leaves nothing behind:
- R1: add-ons are extra seats on an existing subscription.
- R3: GitLab Duo Pro is self-serve or sales; GitLab Duo Enterprise is sold by sales only.
- R4: add-ons on Premium and Ultimate only, never on Free.
- R5: *Add seats* buys more of an add-on the subscription has; the add-on's seats never exceed
  the subscription's seats.
- R6: one GitLab Duo tier at a time; Enterprise replaces Pro (and a purchase ends a Duo trial).
- R7: every purchase mails a confirmation, carrying its invoice, to the subscription contact.
- R23: a Duo trial is extended by sales as a $0 order, never by support.

Each order records the idempotency key of the form that placed it (``portal.idempotency``), and
the order row is written before the card is charged, so a second claim of a key fails before it
charges. Every order is invoiced, a line per thing sold with the period it covers, and its
confirmation carries the invoice (``portal.orders``, R7).
"""

from __future__ import annotations

import datetime as dt

from portal.billing.policy.invoices import InvoiceKind, LineItem
from portal.billing.renewals import renew as renew_subscription
from portal.billing.renewals import renewal_for_a_year, renewing_add_on
from portal.errors import Refused
from portal.models import (
    AddOnPurchase,
    Order,
    OrderKind,
    PaymentMethod,
    Role,
    Subscription,
    SubscriptionKind,
    db,
)
from portal.orders import SALES, SELF_SERVE, OrderTerms, place_order, seats_line
from portal.pricing import yearly_price
from portal.subscriptions import (
    active_add_on,
    check_add_on_seats,
    current_add_ons,
    current_agile_planning,
    extendable_trial,
    is_active,
    lock,
)
from protocol.license import AddOnTier, Plan

SUPPORT_CANNOT_EXTEND_TRIALS = (
    "The support tool does not support extending GitLab Duo trials. An extension is done by "
    "sales as a $0 order (opportunity) on the subscription: ask the account owner to request one."
)
MAX_SEATS = 1_000_000


def check_sellable(subscription: Subscription, today: dt.date) -> None:
    """R4, and no add-ons on a subscription that is not in force or is a plan trial."""
    if not Plan(subscription.plan).allows_add_ons:
        raise Refused(
            "Add-ons are sold on Premium and Ultimate subscriptions only, not on Free.", rule="R4"
        )
    if not is_active(subscription, today):
        raise Refused("This subscription is not active: renew it before buying add-ons.")
    if subscription.kind == SubscriptionKind.PLAN_TRIAL:
        raise Refused("Add-ons can't be bought on a plan trial: buy the plan first.")


def check_seats(subscription: Subscription, seats: int, already: int = 0) -> None:
    """A number of seats to buy, then R5 on the add-on's new total (``check_add_on_seats``)."""
    if not isinstance(seats, int) or seats < 1 or seats > MAX_SEATS:
        raise Refused("Enter a number of seats of at least 1.")
    room = subscription.seats - already
    check_add_on_seats(
        already + seats,
        subscription.seats,
        advice=f": you can add at most {room}." if already else "",
    )


def _check_payment_method(
    subscription: Subscription, method: PaymentMethod | None
) -> PaymentMethod:
    if method is None or method.account_id != subscription.customer_id:
        raise Refused("Choose one of your payment methods.")
    return method


def _end_on(purchase: AddOnPurchase, today: dt.date) -> None:
    """End a purchase or trial today (R6: the new tier or purchase takes over from today)."""
    purchase.ends_on = max(min(purchase.ends_on, today), purchase.starts_on)


def bought_add_on(
    subscription: Subscription, tier: AddOnTier, seats: int, now: dt.datetime
) -> AddOnPurchase:
    """A bought add-on: from today to the end of the subscription's term (R1)."""
    purchase = AddOnPurchase(
        tier=tier.value,
        quantity=seats,
        starts_on=now.date(),
        ends_on=subscription.ends_on,
        trial=False,
        created_at=now,
    )
    if tier is AddOnTier.ENTERPRISE_AGILE_PLANNING:
        # By id, not through the relationship: the Duo list must never hold this row (R6).
        purchase.subscription_id = subscription.id
    else:
        purchase.subscription = subscription
    return db.inserted(purchase)


def add_on_line(
    subscription: Subscription, tier: str, seats: int, today: dt.date, prefix: str = ""
) -> LineItem:
    """``seats`` of an add-on from today to the end of the term, at its list price (R1)."""
    description = f"{prefix}{AddOnTier(tier).label} seats"
    return seats_line(description, seats, yearly_price(tier), today, subscription.ends_on)


def _sell_tier(
    terms: OrderTerms,
    channel: str,
    tier: AddOnTier,
    seats: int,
    ending: list[AddOnPurchase],
    pay_with: PaymentMethod | None,
) -> Order:
    """R1, R6: ``seats`` of a GitLab Duo tier from today to the end of the term; the purchases
    and trials in ``ending`` end today, where this one starts."""
    line = add_on_line(terms.subscription, tier.value, seats, terms.today)
    for purchase in ending:
        _end_on(purchase, terms.today)
    purchase = bought_add_on(terms.subscription, tier, seats, terms.now)
    kind = OrderKind.DUO_PRO if tier is AddOnTier.DUO_PRO else OrderKind.DUO_ENTERPRISE
    return place_order(
        terms,
        channel,
        kind,
        seats,
        (line,),
        what=f"{seats} {tier.label} seats",
        purchase=purchase,
        pay_with=pay_with,
    )


def duo_pro_quote(subscription: Subscription, seats: int, today: dt.date) -> int:
    """The price of ``seats`` Duo Pro seats from today to the end of the term, in cents."""
    return add_on_line(subscription, AddOnTier.DUO_PRO.value, seats, today).amount_cents


def check_duo_pro_purchase(subscription: Subscription, seats: int, today: dt.date) -> None:
    """Every rule of *Buy GitLab Duo Pro* except payment (the purchase summary checks these)."""
    check_sellable(subscription, today)
    current = active_add_on(subscription, today)
    if current is not None and not current.trial:
        if current.tier == AddOnTier.DUO_ENTERPRISE.value:
            raise Refused(
                "This subscription has GitLab Duo Enterprise, which includes Duo Pro: a "
                "subscription holds one GitLab Duo tier at a time.",
                rule="R6",
            )
        raise Refused(
            "This subscription already has GitLab Duo Pro: use Add seats to buy more.", rule="R5"
        )
    check_seats(subscription, seats)


def buy_duo_pro(terms: OrderTerms, seats: int, payment_method: PaymentMethod | None) -> Order:
    """R1, R3–R7: the customer's *Buy GitLab Duo Pro*; a Duo Pro trial ends where this starts.

    Rows are written before the charge (the order claims its key); a declined card raises, and
    the caller's rollback removes them.
    """
    subscription, today = terms.subscription, terms.today
    lock(subscription)
    check_duo_pro_purchase(subscription, seats, today)
    method = _check_payment_method(subscription, payment_method)
    trial = active_add_on(subscription, today)
    return _sell_tier(terms, SELF_SERVE, AddOnTier.DUO_PRO, seats, [trial] if trial else [], method)


def paid_add_on(subscription: Subscription, today: dt.date) -> AddOnPurchase | None:
    current = active_add_on(subscription, today)
    return current if current is not None and not current.trial else None


def add_seats_quote(subscription: Subscription, seats: int, today: dt.date) -> int:
    purchase = paid_add_on(subscription, today)
    tier = purchase.tier if purchase else AddOnTier.DUO_PRO.value
    return add_on_line(subscription, tier, seats, today).amount_cents


def check_add_seats(subscription: Subscription, seats: int, today: dt.date) -> AddOnPurchase:
    check_sellable(subscription, today)
    purchase = paid_add_on(subscription, today)
    if purchase is None:
        raise Refused(
            "This subscription has no purchased GitLab Duo add-on to add seats to.", rule="R5"
        )
    check_seats(subscription, seats, already=purchase.quantity)
    return purchase


def add_seats(terms: OrderTerms, seats: int, payment_method: PaymentMethod | None) -> Order:
    """R5: the customer's *Add seats* on the add-on the subscription has."""
    return _add_seats(terms, seats, SELF_SERVE, payment_method)


def _add_seats(
    terms: OrderTerms, seats: int, channel: str, payment_method: PaymentMethod | None
) -> Order:
    """R5: more seats of the add-on the subscription has, never above its own seat count;
    self-serve pays by card, sales invoices."""
    subscription, today = terms.subscription, terms.today
    lock(subscription)
    purchase = check_add_seats(subscription, seats, today)
    method = _check_payment_method(subscription, payment_method) if channel == SELF_SERVE else None
    line = add_on_line(subscription, purchase.tier, seats, today, "Additional ")
    purchase.quantity += seats
    return place_order(
        terms,
        channel,
        OrderKind.ADD_ON_SEATS,
        seats,
        (line,),
        what=f"{seats} more {AddOnTier(purchase.tier).label} seats",
        purchase=purchase,
        pay_with=method,
    )


# -- sales ------------------------------------------------------------------------------------------


def check_sales(terms: OrderTerms) -> Subscription:
    """R3: only sales place these orders; the subscription, locked."""
    if terms.placed_by is None or terms.placed_by.role != Role.SALES:
        raise Refused("Only sales can place this order.", rule="R3")
    lock(terms.subscription)
    return terms.subscription


def sell_duo_enterprise(terms: OrderTerms, seats: int) -> Order:
    """R3: Duo Enterprise is sold by sales only; R6: it replaces Duo Pro from today."""
    subscription, today = check_sales(terms), terms.today
    check_sellable(subscription, today)
    current = active_add_on(subscription, today)
    if current is not None and not current.trial and current.tier == AddOnTier.DUO_ENTERPRISE.value:
        raise Refused("This subscription already has GitLab Duo Enterprise: add seats instead.")
    check_seats(subscription, seats)
    # R6: Enterprise replaces Pro (and any Duo trial)
    ending = current_add_ons(subscription, today)
    return _sell_tier(terms, SALES, AddOnTier.DUO_ENTERPRISE, seats, ending, None)


def sell_add_on_seats(terms: OrderTerms, seats: int) -> Order:
    """R5 through sales: more seats of the add-on the subscription has."""
    check_sales(terms)
    return _add_seats(terms, seats, SALES, None)


def sell_subscription_seats(terms: OrderTerms, seats: int) -> Order:
    """More seats on the subscription itself (room for more add-on seats, R5)."""
    subscription = check_sales(terms)
    if not is_active(subscription, terms.today):
        raise Refused("This subscription is not active: renew it first.")
    if seats < 1 or seats > MAX_SEATS:
        raise Refused("Enter a number of seats of at least 1.")
    plan = Plan(subscription.plan)
    line = seats_line(
        f"Additional {plan.label} subscription seats",
        seats,
        0 if plan is Plan.FREE else yearly_price(plan.value),
        terms.today,
        subscription.ends_on,
    )
    subscription.seats += seats
    return place_order(
        terms,
        SALES,
        OrderKind.SUBSCRIPTION_SEATS,
        seats,
        (line,),
        what=f"{seats} more subscription seats",
    )


def renew(terms: OrderTerms, *, seats: int | None = None, add_on_seats: int | None = None) -> Order:
    """The renewal sales order: a year more at ``seats`` (default: the seats now); the paid Duo
    add-on renews with it (at ``add_on_seats`` if given), Enterprise Agile Planning at its seats. The renewal itself is
    ``portal.billing.renewals.renew``, the one the automatic renewal also makes; its renewal
    invoice is the order's (R7)."""
    subscription = check_sales(terms)
    if subscription.kind != SubscriptionKind.PAID:
        raise Refused("Only paid subscriptions are renewed.")
    seats = subscription.seats if seats is None else seats
    if seats < 1 or seats > MAX_SEATS:
        raise Refused("Enter a number of seats of at least 1.")
    renewing = renewing_add_on(subscription, subscription.ends_on)
    quantity = add_on_seats if add_on_seats is not None else (renewing.quantity if renewing else 0)
    # R5 over the whole license: a license carries one seat count, so the add-ons still in
    # force (and the renewed one, Enterprise Agile Planning's too, which renews at its seats)
    # must fit the renewed seats.
    in_force = [
        p.quantity
        for p in (
            *current_add_ons(subscription, terms.today),
            *current_agile_planning(subscription, terms.today),
        )
    ]
    check_add_on_seats(
        max([*in_force, quantity if renewing else 0]),
        seats,
        advice=": renew with at least as many seats as the add-on has.",
    )
    renewal = renewal_for_a_year(subscription, seats)
    invoice = renew_subscription(subscription, renewal, terms.now, add_on_seats=quantity)
    new_end = renewal.new_term.ends_on.isoformat()
    return place_order(
        terms,
        SALES,
        OrderKind.RENEWAL,
        seats,
        invoice.line_items,
        what=f"renewal until {new_end} ({seats} seats)",
        invoice_kind=InvoiceKind.RENEWAL,
        note=f"renewed to {new_end}",
    )


def extend_duo_trial(terms: OrderTerms, days: int, note: str = "") -> Order:
    """R23: sales extends a Duo trial, in progress or ended, with a $0 order (opportunity) on the
    subscription; its invoice has one $0 line for the days added, and the instance receives the
    extension at its next sync (R13)."""
    subscription = check_sales(terms)
    if days < 1 or days > 366:
        raise Refused("Extend a trial by 1 to 366 days.")
    trial = extendable_trial(subscription, terms.today)
    # An ended trial runs again from today: the days extend what the customer can still use.
    starts = max(trial.ends_on, terms.today)
    trial.ends_on = starts + dt.timedelta(days=days)
    label = AddOnTier(trial.tier).label
    line = seats_line(
        f"{label} trial extended by {days} days ($0 opportunity)",
        trial.quantity,
        0,
        starts,
        trial.ends_on,
    )
    return place_order(
        terms,
        SALES,
        OrderKind.TRIAL_EXTENSION,
        trial.quantity,
        (line,),
        what=f"your {label} trial extended to {trial.ends_on.isoformat()}",
        purchase=trial,
        note=note or f"extended by {days} days",
    )


def support_extend_trial(subscription: Subscription) -> None:
    """R23: the support tool cannot extend a Duo trial; it says so and points to sales."""
    raise Refused(SUPPORT_CANNOT_EXTEND_TRIALS, rule="R23")
