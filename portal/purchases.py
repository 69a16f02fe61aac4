"""Selling GitLab Duo and seats: the customer's self-serve purchases and sales' orders.

Rules held here, each checked before any payment is taken or row written, so a refused or
declined purchase leaves nothing behind:
- R1: add-ons are extra seats on an existing subscription.
- R3: GitLab Duo Pro is self-serve or sales; GitLab Duo Enterprise is sold by sales only.
- R4: add-ons on Premium and Ultimate only, never on Free.
- R5: *Add seats* buys more of an add-on the subscription has; the add-on's seats never exceed
  the subscription's seats.
- R6: one GitLab Duo tier at a time; Enterprise replaces Pro (and a purchase ends a Duo trial).
- R7: every purchase mails a confirmation to the subscription contact.
- R23: a Duo trial is extended by sales as a $0 order, never by support.

Each order records the idempotency key of the form that placed it (``portal.idempotency``), and
the order row is written before the card is charged, so a second claim of a key fails before it
charges.
"""

from __future__ import annotations

import datetime as dt

from portal.billing.renewals import renew as renew_subscription
from portal.billing.renewals import renewal_for_a_year, renewing_add_on
from portal.errors import Refused
from portal.licensing import notify_license_change
from portal.mail import queue_mail
from portal.models import (
    Account,
    AddOnPurchase,
    Order,
    OrderKind,
    PaymentMethod,
    Role,
    Subscription,
    SubscriptionKind,
    db,
)
from portal.payments import payment_gateway
from portal.pricing import format_money, prorated, yearly_price
from portal.subscriptions import (
    active_add_on,
    check_add_on_seats,
    current_add_ons,
    extendable_trial,
    is_active,
    lock,
)
from protocol.license import AddOnTier, Plan

SELF_SERVE = "self_serve"
SALES = "sales"
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


def _check_seats(subscription: Subscription, seats: int, already: int = 0) -> None:
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


def _paid_add_on(
    subscription: Subscription, tier: AddOnTier, seats: int, now: dt.datetime
) -> AddOnPurchase:
    """A bought add-on: from today to the end of the subscription's term (R1)."""
    purchase = AddOnPurchase(
        subscription=subscription,
        tier=tier.value,
        quantity=seats,
        starts_on=now.date(),
        ends_on=subscription.ends_on,
        trial=False,
        created_at=now,
    )
    db.session.add(purchase)
    db.session.flush()
    return purchase


def duo_pro_quote(subscription: Subscription, seats: int, today: dt.date) -> int:
    """The price of ``seats`` Duo Pro seats from today to the end of the term, in cents."""
    return prorated(yearly_price(AddOnTier.DUO_PRO.value), seats, today, subscription.ends_on)


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
    _check_seats(subscription, seats)


def _record_order(
    subscription: Subscription,
    kind: str,
    channel: str,
    quantity: int,
    amount_cents: int,
    now: dt.datetime,
    placed_by: Account | None,
    *,
    purchase: AddOnPurchase | None = None,
    payment_reference: str | None = None,
    note: str = "",
    idempotency_key: str | None = None,
) -> Order:
    order = Order(
        subscription_id=subscription.id,
        kind=kind,
        channel=channel,
        quantity=quantity,
        amount_cents=amount_cents,
        payment_reference=payment_reference,
        add_on_purchase_id=purchase.id if purchase else None,
        placed_by_id=placed_by.id if placed_by else None,
        note=note,
        created_at=now,
        idempotency_key=idempotency_key,
    )
    db.session.add(order)
    db.session.flush()  # claims the idempotency key: a second claim fails here, before a charge
    return order


def _confirm(subscription: Subscription, order: Order, what: str, now: dt.datetime) -> None:
    """R7: a confirmation to the subscription contact; a new license file where one is issued."""
    queue_mail(
        "purchase_confirmation",
        subscription,
        f"Your purchase for {subscription.name} is confirmed",
        f"Thank you for your order #{order.id}: {what}.\nAmount: {format_money(order.amount_cents)}."
        "\n\nGitLab Duo purchases reach your instance with its next daily synchronization; an "
        "administrator can synchronize at once under Admin > Subscription.",
    )
    notify_license_change(subscription, now, f"Your order #{order.id} changed your license.")


def buy_duo_pro(
    subscription: Subscription,
    seats: int,
    payment_method: PaymentMethod | None,
    now: dt.datetime,
    buyer: Account,
    *,
    idempotency_key: str | None = None,
) -> Order:
    """R1, R3–R7: the customer's *Buy GitLab Duo Pro*; a Duo Pro trial ends where this starts.

    Rows are written before the charge (the order claims its key); a declined card raises, and
    the caller's rollback removes them.
    """
    today = now.date()
    lock(subscription)
    check_duo_pro_purchase(subscription, seats, today)
    method = _check_payment_method(subscription, payment_method)
    amount = duo_pro_quote(subscription, seats, today)
    trial = active_add_on(subscription, today)
    if trial is not None:
        _end_on(trial, today)
    purchase = _paid_add_on(subscription, AddOnTier.DUO_PRO, seats, now)
    order = _record_order(
        subscription,
        OrderKind.DUO_PRO,
        SELF_SERVE,
        seats,
        amount,
        now,
        buyer,
        purchase=purchase,
        idempotency_key=idempotency_key,
    )
    order.payment_reference = payment_gateway().charge(
        method, amount, f"{seats} GitLab Duo Pro seats on {subscription.name}"
    )
    _confirm(subscription, order, f"{seats} GitLab Duo Pro seats", now)
    return order


def paid_add_on(subscription: Subscription, today: dt.date) -> AddOnPurchase | None:
    current = active_add_on(subscription, today)
    return current if current is not None and not current.trial else None


def add_seats_quote(subscription: Subscription, seats: int, today: dt.date) -> int:
    purchase = paid_add_on(subscription, today)
    tier = purchase.tier if purchase else AddOnTier.DUO_PRO.value
    return prorated(yearly_price(tier), seats, today, subscription.ends_on)


def check_add_seats(subscription: Subscription, seats: int, today: dt.date) -> AddOnPurchase:
    check_sellable(subscription, today)
    purchase = paid_add_on(subscription, today)
    if purchase is None:
        raise Refused(
            "This subscription has no purchased GitLab Duo add-on to add seats to.", rule="R5"
        )
    _check_seats(subscription, seats, already=purchase.quantity)
    return purchase


def add_seats(
    subscription: Subscription,
    seats: int,
    payment_method: PaymentMethod | None,
    now: dt.datetime,
    buyer: Account | None,
    *,
    channel: str = SELF_SERVE,
    idempotency_key: str | None = None,
) -> Order:
    """R5: more seats of the add-on the subscription has, never above its own seat count."""
    today = now.date()
    lock(subscription)
    purchase = check_add_seats(subscription, seats, today)
    amount = add_seats_quote(subscription, seats, today)
    method = _check_payment_method(subscription, payment_method) if channel == SELF_SERVE else None
    purchase.quantity += seats
    order = _record_order(
        subscription,
        OrderKind.ADD_ON_SEATS,
        channel,
        seats,
        amount,
        now,
        buyer,
        purchase=purchase,
        idempotency_key=idempotency_key,
    )
    if method is not None:  # self-serve pays by card; sales invoices
        order.payment_reference = payment_gateway().charge(
            method, amount, f"{seats} more add-on seats on {subscription.name}"
        )
    _confirm(subscription, order, f"{seats} more {AddOnTier(purchase.tier).label} seats", now)
    return order


# -- sales ------------------------------------------------------------------------------------------


def _check_sales(account: Account | None) -> None:
    if account is None or account.role != Role.SALES:
        raise Refused("Only sales can place this order.", rule="R3")


def sell_duo_enterprise(
    subscription: Subscription,
    seats: int,
    now: dt.datetime,
    seller: Account | None,
    *,
    idempotency_key: str | None = None,
) -> Order:
    """R3: Duo Enterprise is sold by sales only; R6: it replaces Duo Pro from today."""
    _check_sales(seller)
    lock(subscription)
    today = now.date()
    check_sellable(subscription, today)
    current = active_add_on(subscription, today)
    if current is not None and not current.trial and current.tier == AddOnTier.DUO_ENTERPRISE.value:
        raise Refused("This subscription already has GitLab Duo Enterprise: add seats instead.")
    _check_seats(subscription, seats)
    amount = prorated(
        yearly_price(AddOnTier.DUO_ENTERPRISE.value), seats, today, subscription.ends_on
    )
    for purchase in current_add_ons(subscription, today):
        _end_on(purchase, today)  # R6: Enterprise replaces Pro (and any Duo trial)
    purchase = _paid_add_on(subscription, AddOnTier.DUO_ENTERPRISE, seats, now)
    order = _record_order(
        subscription,
        OrderKind.DUO_ENTERPRISE,
        SALES,
        seats,
        amount,
        now,
        seller,
        purchase=purchase,
        idempotency_key=idempotency_key,
    )
    _confirm(subscription, order, f"{seats} GitLab Duo Enterprise seats", now)
    return order


def sell_add_on_seats(
    subscription: Subscription,
    seats: int,
    now: dt.datetime,
    seller: Account | None,
    *,
    idempotency_key: str | None = None,
) -> Order:
    """R5 through sales: more seats of the add-on the subscription has."""
    _check_sales(seller)
    return add_seats(
        subscription, seats, None, now, seller, channel=SALES, idempotency_key=idempotency_key
    )


def sell_subscription_seats(
    subscription: Subscription,
    seats: int,
    now: dt.datetime,
    seller: Account | None,
    *,
    idempotency_key: str | None = None,
) -> Order:
    """More seats on the subscription itself (room for more add-on seats, R5)."""
    _check_sales(seller)
    lock(subscription)
    today = now.date()
    if not is_active(subscription, today):
        raise Refused("This subscription is not active: renew it first.")
    if seats < 1 or seats > MAX_SEATS:
        raise Refused("Enter a number of seats of at least 1.")
    plan = Plan(subscription.plan)
    amount = (
        0
        if plan is Plan.FREE
        else prorated(yearly_price(plan.value), seats, today, subscription.ends_on)
    )
    subscription.seats += seats
    order = _record_order(
        subscription,
        OrderKind.SUBSCRIPTION_SEATS,
        SALES,
        seats,
        amount,
        now,
        seller,
        idempotency_key=idempotency_key,
    )
    _confirm(subscription, order, f"{seats} more subscription seats", now)
    return order


def renew(
    subscription: Subscription,
    now: dt.datetime,
    seller: Account | None,
    *,
    seats: int | None = None,
    add_on_seats: int | None = None,
    idempotency_key: str | None = None,
) -> Order:
    """The renewal sales order: a year more at ``seats`` (default: the seats now); the paid Duo
    add-on renews with it (at ``add_on_seats`` if given). The renewal itself is
    ``portal.billing.renewals.renew``, the one the automatic renewal also makes."""
    _check_sales(seller)
    lock(subscription)
    if subscription.kind != SubscriptionKind.PAID:
        raise Refused("Only paid subscriptions are renewed.")
    seats = subscription.seats if seats is None else seats
    if seats < 1 or seats > MAX_SEATS:
        raise Refused("Enter a number of seats of at least 1.")
    renewing = renewing_add_on(subscription, subscription.ends_on)
    quantity = add_on_seats if add_on_seats is not None else (renewing.quantity if renewing else 0)
    # R5 over the whole license: a license carries one seat count, so the add-ons still in
    # force (and the renewed one) must fit the renewed seats.
    in_force = [p.quantity for p in current_add_ons(subscription, now.date())]
    check_add_on_seats(
        max([*in_force, quantity if renewing else 0]),
        seats,
        advice=": renew with at least as many seats as the add-on has.",
    )
    renewal = renewal_for_a_year(subscription, seats)
    invoice = renew_subscription(subscription, renewal, now, add_on_seats=quantity)
    amount = invoice.total_cents
    new_end = renewal.new_term.ends_on
    order = _record_order(
        subscription,
        OrderKind.RENEWAL,
        SALES,
        seats,
        amount,
        now,
        seller,
        note=f"renewed to {new_end.isoformat()}",
        idempotency_key=idempotency_key,
    )
    _confirm(subscription, order, f"renewal until {new_end.isoformat()} ({seats} seats)", now)
    return order


def extend_duo_trial(
    subscription: Subscription,
    days: int,
    now: dt.datetime,
    seller: Account | None,
    note: str = "",
    *,
    idempotency_key: str | None = None,
) -> Order:
    """R23: sales extends a Duo trial, in progress or ended, with a $0 order (opportunity) on the
    subscription; the instance receives it at its next sync (R13)."""
    _check_sales(seller)
    lock(subscription)
    if days < 1 or days > 366:
        raise Refused("Extend a trial by 1 to 366 days.")
    trial = extendable_trial(subscription, now.date())
    # An ended trial runs again from today: the days extend what the customer can still use.
    trial.ends_on = max(trial.ends_on, now.date()) + dt.timedelta(days=days)
    order = _record_order(
        subscription,
        OrderKind.TRIAL_EXTENSION,
        SALES,
        trial.quantity,
        0,
        now,
        seller,
        purchase=trial,
        note=note or f"extended by {days} days",
        idempotency_key=idempotency_key,
    )
    _confirm(
        subscription,
        order,
        f"your {AddOnTier(trial.tier).label} trial extended to {trial.ends_on.isoformat()}",
        now,
    )
    return order


def support_extend_trial(subscription: Subscription) -> None:
    """R23: the support tool cannot extend a Duo trial; it says so and points to sales."""
    raise Refused(SUPPORT_CANNOT_EXTEND_TRIALS, rule="R23")
