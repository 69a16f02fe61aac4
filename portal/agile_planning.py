"""Enterprise Agile Planning: a user-based add-on sold by sales on Premium and Ultimate (R6).

Rules:
- R3: sales places the order (no self-serve purchase, as for GitLab Duo Enterprise).
- R4: only on a Premium or Ultimate subscription in force, never on Free or a plan trial.
- R5: the add-on's seats, after the order, never exceed the subscription's own seats; an order
  on a subscription that already has Enterprise Agile Planning adds seats to it.
- R6: it is not a GitLab Duo tier: it sits beside whatever Duo tier or trial the subscription
  holds, neither ending nor ended by it. Its rows share the ``add_on_purchases`` table with
  Duo's, but ``Subscription.add_on_purchases`` (what every Duo rule reads) leaves them out;
  ``Subscription.agile_planning_purchases`` lists them.
- R1: the purchase runs from today to the end of the term; self-managed instances get it in
  the license's ``add_on_products`` at the next sync, GitLab.com groups by the push.
"""

from __future__ import annotations

import datetime as dt

from portal.errors import Refused
from portal.models import (
    AGILE_PLANNING,
    AddOnPurchase,
    Order,
    OrderKind,
    Subscription,
    SubscriptionKind,
    db,
)
from portal.orders import SALES, OrderTerms, place_order
from portal.purchases import add_on_line, bought_add_on, check_sales, check_seats
from portal.subscriptions import current_agile_planning, is_active
from protocol.license import AddOnTier, Plan

LABEL = AddOnTier.ENTERPRISE_AGILE_PLANNING.label


def active_agile_planning(subscription: Subscription, today: dt.date) -> AddOnPurchase | None:
    for purchase in current_agile_planning(subscription, today):
        if purchase.starts_on <= today:
            return purchase
    return None


def check_agile_planning_sale(subscription: Subscription, today: dt.date) -> None:
    """R4 and the term: what must hold before any Enterprise Agile Planning seat is sold."""
    plan = Plan(subscription.plan)
    if not plan.allows_add_ons:
        raise Refused(
            f"{LABEL} is sold on Premium and Ultimate subscriptions only, not on {plan.label}.",
            rule="R4",
            code="plan_not_eligible",
        )
    if not is_active(subscription, today):
        raise Refused(f"This subscription is not active: renew it before selling {LABEL}.")
    if subscription.kind == SubscriptionKind.PLAN_TRIAL:
        raise Refused(f"{LABEL} can't be sold on a plan trial: sell the plan first.")


def sell_agile_planning(terms: OrderTerms, seats: int) -> Order:
    """R3, R4, R5, R6: sales adds ``seats`` Enterprise Agile Planning seats, creating the
    purchase or adding to the one in force; any GitLab Duo purchase is left as it is. The order
    is invoiced like every other (R7)."""
    subscription, today = check_sales(terms), terms.today
    db.session.expire(subscription, ["agile_planning_purchases"])
    check_agile_planning_sale(subscription, today)
    purchase = active_agile_planning(subscription, today)
    check_seats(subscription, seats, already=purchase.quantity if purchase else 0)
    line = add_on_line(subscription, AGILE_PLANNING, seats, today)
    if purchase is None:
        purchase = bought_add_on(
            subscription, AddOnTier.ENTERPRISE_AGILE_PLANNING, seats, terms.now
        )
    else:
        purchase.quantity += seats
        db.session.flush()
    db.session.expire(subscription, ["agile_planning_purchases"])
    return place_order(
        terms,
        SALES,
        OrderKind.AGILE_PLANNING,
        seats,
        (line,),
        what=f"{seats} {LABEL} seats",
        purchase=purchase,
    )
