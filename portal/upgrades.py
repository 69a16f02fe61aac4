"""Upgrading a subscription's tier, Premium to Ultimate: the card's *Upgrade plan*.

GitLab's documents ("Upgrade subscription tier", doc/subscriptions/manage_subscription.md, for
GitLab.com and self-managed alike): on the subscription card select *Upgrade plan*, confirm the
payment method, accept the Privacy Statement and Terms of Service, select *Upgrade subscription*.
A payment receipt (the invoice) is mailed; on self-managed the new tier takes effect on the next
subscription sync, or at once when an administrator synchronizes. On GitLab.com the group gets
the new plan when the purchase is processed.

Rules held here, all checked before any row is written or card charged, so a refused or declined
upgrade leaves nothing behind:
- Only Premium is upgraded, to Ultimate: an Ultimate subscription is at the highest tier, a Free
  one has no plan to upgrade (a group on Free buys a plan, ``portal.gitlab_com.namespaces``).
- The subscription is in force and paid: not expired, not ended, not cancelled (notice given in
  time, R36), not a trial (a plan trial is already Ultimate, and its group buys a plan instead),
  not a community-program licence, and no renewal booked with sales (that order priced the next
  term on Premium: sales change it).
- Seats and term stay as they are: the upgrade runs from today to the end of the current term,
  for every seat. The customer pays the difference of the list prices for the days left, as the
  Customers Portal lists the new price and a credit for what was already paid and charges the
  net change: ``seats x (Ultimate - Premium) x days left / 365`` (the price list's year, as every
  order, ``portal.orders``).
- Add-on purchases and trials stay as they are (R4: Ultimate allows them as Premium does); on
  GitLab.com, Guests stop counting as billable once Ultimate applies (R31).
- R7: the order is invoiced and confirmed; offline and legacy subscriptions are mailed the new
  license (``notify_license_change``); an online cloud license carries Ultimate from the next
  sync (R13, R14); a subscription linked to a GitLab.com group is pushed at once
  (``portal.gitlab_com.provisioning``: the changed subscription schedules its push).

Operations flush, never commit.
"""

from __future__ import annotations

import datetime as dt

from portal.billing.policy.invoices import LineItem
from portal.billing.policy.renewals import CANCELLATION_NOTICE_DAYS
from portal.billing.renewals import booked_renewal
from portal.errors import Refused
from portal.gitlab_com.provisioning import link_of
from portal.models import Order, OrderKind, PaymentMethod, Subscription, SubscriptionKind, db
from portal.orders import SELF_SERVE, OrderTerms, place_order, seats_line
from portal.pricing import PriceListError, yearly_price
from portal.subscriptions import is_active, lock
from protocol.license import Plan

# The tiers each plan upgrades to, highest last.
UPGRADES: dict[Plan, tuple[Plan, ...]] = {Plan.PREMIUM: (Plan.ULTIMATE,)}

ALREADY_HIGHEST = "already_highest_tier"
NOT_UPGRADABLE = "subscription_not_upgradable"
INVALID_PLAN = "invalid_plan"


def _cancelled(subscription: Subscription) -> bool:
    """Ended, or notice of cancellation given in time (R36): the subscription will not renew."""
    notified = subscription.cancellation_notified_on
    in_time = (
        notified is not None and (subscription.ends_on - notified).days >= CANCELLATION_NOTICE_DAYS
    )
    return subscription.ended_on is not None or in_time


def check_upgradable(subscription: Subscription, today: dt.date) -> tuple[Plan, ...]:
    """Every rule of *Upgrade plan* but the payment; the plans the subscription may move to."""
    plan = Plan(subscription.plan)
    if subscription.kind == SubscriptionKind.PLAN_TRIAL:
        raise Refused(
            "A trial can't be upgraded: buy a Premium or Ultimate subscription instead.",
            code=NOT_UPGRADABLE,
        )
    if subscription.kind == SubscriptionKind.COMMUNITY:
        raise Refused(
            "Community-program subscriptions can't be upgraded in the Customers Portal.",
            code=NOT_UPGRADABLE,
        )
    if not is_active(subscription, today) or subscription.ended_on is not None:
        raise Refused(
            "This subscription has expired: renew it before upgrading.", code=NOT_UPGRADABLE
        )
    if _cancelled(subscription):
        raise Refused(
            f"This subscription is cancelled and ends on {subscription.ends_on}: it can't be "
            "upgraded.",
            code=NOT_UPGRADABLE,
        )
    if booked_renewal(subscription) is not None:
        raise Refused(
            "A renewal is booked with sales for this subscription: ask your sales contact to "
            "upgrade it.",
            code=NOT_UPGRADABLE,
        )
    if plan is Plan.ULTIMATE:
        raise Refused(
            "This subscription is already on Ultimate, the highest tier.", code=ALREADY_HIGHEST
        )
    targets = UPGRADES.get(plan, ())
    if not targets:
        raise Refused(
            f"A {plan.label} subscription has no plan to upgrade: buy Premium or Ultimate.",
            code=NOT_UPGRADABLE,
        )
    return targets


def _target(subscription: Subscription, plan: str, today: dt.date) -> Plan:
    targets = check_upgradable(subscription, today)
    try:
        target = Plan(plan)
    except ValueError:
        target = None
    if target not in targets:
        raise Refused(
            f"Choose the upgrade: {', '.join(p.label for p in targets)}.", code=INVALID_PLAN
        )
    return target


def upgrade_line(subscription: Subscription, target: Plan, today: dt.date) -> LineItem:
    """Every seat, from today to the end of the term, at the difference of the list prices
    (the new plan's price less the credit for the plan paid for)."""
    current = Plan(subscription.plan)
    difference = yearly_price(target.value) - yearly_price(current.value)
    if difference < 0:
        raise PriceListError(f"PRICE_LIST prices {target.value} below {current.value}")
    return seats_line(
        f"Upgrade from {current.label} to {target.label}: {target.label} less the credit for "
        f"{current.label}",
        subscription.seats,
        difference,
        today,
        subscription.ends_on,
    )


def upgrade_quote(subscription: Subscription, plan: str, today: dt.date) -> int:
    """What *Upgrade subscription* charges today, in cents."""
    target = _target(subscription, plan, today)
    return upgrade_line(subscription, target, today).amount_cents


def upgrade_plan(terms: OrderTerms, plan: str, payment_method: PaymentMethod | None) -> Order:
    """The customer's *Upgrade plan* → *Upgrade subscription* (see the module docstring).

    Rows are written before the charge (the order claims its key); a declined card raises, and
    the caller's rollback removes them and leaves the plan as it was.
    """
    subscription, today = terms.subscription, terms.today
    lock(subscription)
    target = _target(subscription, plan, today)
    if payment_method is None or payment_method.account_id != subscription.customer_id:
        raise Refused("Choose one of your payment methods.", code="invalid_payment_method")
    current = Plan(subscription.plan)
    line = upgrade_line(subscription, target, today)
    subscription.plan = target.value
    db.session.flush()  # the license (and a linked group's push) now says the new plan
    return place_order(
        terms,
        SELF_SERVE,
        OrderKind.PLAN_UPGRADE,
        subscription.seats,
        (line,),
        what=f"upgrade from {current.label} to {target.label} ({subscription.seats} seats)",
        note=f"{current.value} to {target.value}",
        pay_with=payment_method,
        takes_effect=takes_effect(subscription),
    )


def takes_effect(subscription: Subscription) -> str:
    """When the new tier applies, as the receipt and the page say it."""
    link = link_of(subscription)
    if link is not None:
        return f"GitLab.com applies {Plan(subscription.plan).label} to {link.namespace_path} now."
    return (
        "The new tier takes effect on the next subscription sync; an administrator can "
        "synchronize the subscription under Admin > Subscription to upgrade right away."
    )
