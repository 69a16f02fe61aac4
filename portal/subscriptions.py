"""Subscriptions: creating them, finding them, reading their add-ons, changing their contact.

Rules held here:
- R9: plan trials (Ultimate, 30 days) and community-program subscriptions get legacy licenses only.
- A subscription's name (``A-S00012345``) is its badge; customers use it in the trial form (R20).
- R5: an add-on's seats never exceed the subscription's own seat count. ``check_add_on_seats`` is
  the one check every order calls; the automatic renewal, which has nobody to refuse, renews the
  add-on at most at the renewed seats with ``fit_add_on_seats`` (R28 on the instance then removes
  assignments above it).
- An add-on purchase is in force from ``starts_on`` to ``ends_on`` (exclusive), as licenses are.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Mapped

from portal.billing.policy.reviews import ReviewCycle
from portal.errors import Refused
from portal.models import (
    Account,
    AddOnPurchase,
    Order,
    Role,
    Subscription,
    SubscriptionKind,
    db,
    rows_of,
)
from protocol.license import LicenseType, Plan

PLAN_TRIAL_DAYS = 30
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_COUNTRY = re.compile(r"[A-Z]{2}")
_Found = TypeVar("_Found")


ADD_ON_SEATS_EXCEED = "add_on_seats_exceed"


def check_add_on_seats(add_on_seats: int, subscription_seats: int, *, advice: str = "") -> None:
    """R5: an add-on's seat total never exceeds the subscription's own seat count.

    The one place R5 is checked in the portal: buying Duo Pro, *Add seats*, sales' Duo
    Enterprise, add-on seats and renewal orders all call it. ``advice`` finishes the sentence
    (": you can add at most 3."). The license document checks it again on the wire
    (``protocol.license``), for licenses built by anyone.
    """
    if add_on_seats > subscription_seats:
        raise Refused(
            f"The add-on's seats can't exceed the subscription's {subscription_seats} seats"
            + (advice or "."),
            code=ADD_ON_SEATS_EXCEED,
            rule="R5",
        )


def fit_add_on_seats(add_on_seats: int, subscription_seats: int) -> int:
    """R5 at the automatic renewal (R36), where nobody is there to refuse: the add-on keeps its
    seats up to the renewed subscription's, never more (docs/billing.md, *Renewal*)."""
    return min(add_on_seats, subscription_seats)


def add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def new_subscription_name() -> str:
    while True:
        name = f"A-S{secrets.randbelow(10**8):08d}"
        if find_subscription(name) is None:
            return name


def check_contact(name: str, email: str, country: str) -> tuple[str, str, str]:
    name, email, country = name.strip(), email.strip(), country.strip().upper()
    if not name:
        raise Refused("The contact needs a name.")
    if not _EMAIL.fullmatch(email) or len(email) > 254:
        raise Refused("The contact email is not a valid email address.")
    if not _COUNTRY.fullmatch(country):
        raise Refused("The contact country must be a two-letter country code, such as DE.")
    return name, email, country


def create_subscription(
    customer: Account,
    *,
    plan: str,
    seats: int,
    now: dt.datetime,
    starts_on: dt.date | None = None,
    kind: str = SubscriptionKind.PAID,
    ends_on: dt.date | None = None,
    license_type: str | None = None,
    review_cycle: str = ReviewCycle.QUARTERLY,
    auto_renew: bool = True,
    contact_name: str | None = None,
    contact_email: str | None = None,
    contact_company: str = "",
    contact_country: str = "US",
    name: str | None = None,
) -> Subscription:
    """A new subscription for ``customer``, from ``starts_on`` (default: today, by ``now``); R9:
    plan trials and community programs are legacy."""
    starts_on = starts_on or now.date()
    if customer.role != Role.CUSTOMER:
        raise Refused("Subscriptions belong to customer accounts.")
    try:
        plan_value = Plan(plan).value
    except ValueError:
        raise Refused(f"Unknown plan {plan!r}: choose free, premium or ultimate.") from None
    try:
        kind = SubscriptionKind(kind).value
    except ValueError:
        raise Refused(f"Unknown kind {kind!r}: choose {', '.join(SubscriptionKind)}.") from None
    if review_cycle not in set(ReviewCycle):
        raise Refused("The review cycle is quarterly or annual.")
    if seats < 1:
        raise Refused("A subscription has at least one seat.")
    legacy_only = kind in (SubscriptionKind.PLAN_TRIAL, SubscriptionKind.COMMUNITY)
    if license_type is None:
        license_type = LicenseType.LEGACY.value if legacy_only else LicenseType.ONLINE_CLOUD.value
    try:
        license_type = LicenseType(license_type).value
    except ValueError:
        raise Refused(f"Unknown license type {license_type!r}.") from None
    if legacy_only and license_type != LicenseType.LEGACY.value:
        raise Refused(
            "Plan trials and community-program subscriptions are issued legacy licenses only.",
            rule="R9",
        )
    if kind == SubscriptionKind.PLAN_TRIAL:
        if plan_value != Plan.ULTIMATE.value:
            raise Refused("Self-managed plan trials are Ultimate trials.", rule="R9")
        ends_on = ends_on or starts_on + dt.timedelta(days=PLAN_TRIAL_DAYS)
    ends_on = ends_on or add_years(starts_on, 1)
    if ends_on <= starts_on:
        raise Refused("A subscription's term must end after it starts.")
    if name is not None:
        if not re.fullmatch(r"A-S[0-9]{8}", name):
            raise Refused("A subscription name looks like A-S00012345.")
        if find_subscription(name) is not None:
            raise Refused(f"A subscription named {name} already exists.")
    contact = check_contact(
        contact_name or customer.name, contact_email or customer.email, contact_country
    )
    return db.inserted(
        Subscription(
            name=name or new_subscription_name(),
            customer_id=customer.id,
            plan=plan_value,
            seats=seats,
            starts_on=starts_on,
            ends_on=ends_on,
            kind=kind,
            license_type=license_type,
            review_cycle=review_cycle,
            auto_renew=auto_renew,
            contact_name=contact[0],
            contact_email=contact[1],
            contact_company=contact_company.strip(),
            contact_country=contact[2],
            created_at=now,
        )
    )


def find_subscription(name: str) -> Subscription | None:
    return db.find(Subscription, Subscription.name == name.strip().upper())


def subscriptions_of(customer: Account) -> list[Subscription]:
    return list(
        db.session.execute(
            sa.select(Subscription)
            .where(Subscription.customer_id == customer.id)
            .order_by(Subscription.name)
        ).scalars()
    )


def orders_of(subscription: Subscription) -> list[Order]:
    """The subscription's orders, newest first."""
    return rows_of(Order, subscription, Order.id.desc())


def support_search(
    rows: sa.Select[tuple[_Found]], query: str, *columns: sa.ColumnElement[str] | Mapped[str]
) -> list[_Found]:
    """Support's search: those of ``rows`` where one of ``columns`` is ``query``, trimmed, in
    any case; a blank query finds nothing."""
    text = query.strip().lower()
    if not text:
        return []
    return list(
        db.session.scalars(rows.where(sa.or_(*(sa.func.lower(c) == text for c in columns))))
    )


def search_subscriptions(query: str) -> list[Subscription]:
    """Support's search: by subscription name, contact email or customer email."""
    return support_search(
        sa.select(Subscription)
        .join(Account, Account.id == Subscription.customer_id)
        .order_by(Subscription.name)
        .limit(50),
        query,
        Subscription.name,
        Subscription.contact_email,
        Account.email,
    )


def lock(subscription: Subscription) -> None:
    """Take the subscription's row lock and re-read it (and its add-ons) under the lock.

    Two purchases on one subscription then run one after the other, so neither can pass the
    seat (R5) or tier (R6) checks on what the other is about to change. SQLite needs no row
    lock: its transactions already take the write lock when they begin.
    """
    db.session.refresh(subscription, with_for_update=True)
    db.session.expire(subscription, ["add_on_purchases"])


def is_active(subscription: Subscription, today: dt.date) -> bool:
    return subscription.starts_on <= today < subscription.ends_on


def current_add_ons(subscription: Subscription, today: dt.date) -> list[AddOnPurchase]:
    """Purchases and trials in force today or later (what licenses list), earliest first."""
    return sorted(
        (p for p in subscription.add_on_purchases if p.ends_on > today and p.ends_on > p.starts_on),
        key=lambda p: (p.starts_on, p.id),
    )


def current_agile_planning(subscription: Subscription, today: dt.date) -> list[AddOnPurchase]:
    """Enterprise Agile Planning purchases in force today or later, earliest first: licenses
    and GitLab.com pushes list them beside the Duo ones (R6, ``portal.agile_planning``)."""
    return sorted(
        (
            p
            for p in subscription.agile_planning_purchases
            if p.ends_on > today and p.ends_on > p.starts_on
        ),
        key=lambda p: (p.starts_on, p.id),
    )


def active_add_on(subscription: Subscription, today: dt.date) -> AddOnPurchase | None:
    """The Duo purchase or trial in force today (R6: at most one)."""
    for purchase in current_add_ons(subscription, today):
        if purchase.starts_on <= today:
            return purchase
    return None


def ended_duo_trial(subscription: Subscription, today: dt.date) -> AddOnPurchase | None:
    """The subscription's last GitLab Duo add-on, if it is a trial that has ended (R23: one free
    trial per subscription; sales extends an ended one)."""
    last = max(subscription.add_on_purchases, key=lambda p: (p.ends_on, p.id), default=None)
    return last if last is not None and last.trial and last.ends_on <= today else None


def extendable_trial(subscription: Subscription, today: dt.date) -> AddOnPurchase:
    """R23: the GitLab Duo trial sales may extend with a $0 order: the one in progress, or the
    last one that has ended (as seeds/003 has account owners ask), unless a purchase replaced it."""
    if not is_active(subscription, today):
        raise Refused(
            "This subscription is not active: renew it before extending a GitLab Duo trial.",
            code="subscription_not_active",
        )
    trial = active_add_on(subscription, today) or ended_duo_trial(subscription, today)
    if trial is None or not trial.trial:
        raise Refused(
            "This subscription has no GitLab Duo trial to extend, in progress or ended.",
            code="no_duo_trial",
            rule="R23",
        )
    return trial


def change_contact(
    subscription: Subscription, *, name: str, email: str, company: str, country: str
) -> Subscription:
    """Change the subscription contact (who gets mail and must match trial requests, R20)."""
    subscription.contact_name, subscription.contact_email, subscription.contact_country = (
        check_contact(name, email, country)
    )
    subscription.contact_company = company.strip()
    db.session.flush()
    return subscription


def plan_trial_in_progress(subscription: Subscription, today: dt.date) -> bool:
    """R11: this subscription, or another of its customer's, is a plan trial not yet ended."""
    return (
        db.session.execute(
            sa.select(Subscription.id).where(
                Subscription.customer_id == subscription.customer_id,
                Subscription.kind == SubscriptionKind.PLAN_TRIAL,
                Subscription.starts_on <= today,
                Subscription.ends_on > today,
            )
        ).first()
        is not None
    )
