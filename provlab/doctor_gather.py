"""What the seat, activation and menu doctors read besides ``doctor_evidence``: the portal's
GitLab Duo purchases (paid and trial), the subscription an activation code belongs to, and one
user's part of the instance's diagnostics bundle. Only reads; never changes either party."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import Flask

from protocol.clock import format_utc, parse_utc
from provlab.doctor_evidence import BundleError


@dataclass(frozen=True)
class PurchaseEvidence:
    """A GitLab Duo purchase or trial as the portal records it (ends_on exclusive)."""

    tier: str
    quantity: int
    starts_on: dt.date
    ends_on: dt.date
    trial: bool
    created_at: dt.datetime

    def fact(self) -> str:
        kind = "trial" if self.trial else "purchase"
        return (
            f"{self.tier} {kind}: {self.quantity} seats, {self.starts_on} to {self.ends_on}, "
            f"recorded {format_utc(self.created_at)}"
        )


@dataclass(frozen=True)
class CodeEvidence:
    """An activation code as the portal knows it. The code itself is a secret (it binds an
    instance to a subscription): only its last four characters are ever shown."""

    shown: str  # "…Ab12"
    subscription_name: str | None  # the subscription holding it; None: no subscription does


@dataclass(frozen=True)
class UserEvidence:
    """One user of the instance, from the bundle's ``user`` part (``instance.diagnostics_user``)."""

    username: str
    found: bool
    state: str | None = None
    bot_type: str | None = None
    internal_bot: bool = False
    highest_role: str | None = None
    plan: str | None = None
    billable: bool = False
    seat_assigned_at: dt.datetime | None = None
    code_suggestions_last_used_at: dt.datetime | None = None

    def fact(self) -> str:
        if not self.found:
            return f"no user is named {self.username}"
        bot = f", bot {self.bot_type}" if self.bot_type else ""
        seat = (
            f"seat assigned {format_utc(self.seat_assigned_at)}"
            if self.seat_assigned_at
            else "no seat"
        )
        return (
            f"user {self.username}: {self.state}, highest role {self.highest_role}{bot}, "
            f"{'billable' if self.billable else 'not billable'} on {self.plan or 'no'} plan, {seat}"
        )


def shown_code(code: str) -> str:
    stripped = code.strip()
    return f"…{stripped[-4:]}" if len(stripped) > 4 else "…"


def portal_purchases(app: Flask, subscription_name: str) -> tuple[PurchaseEvidence, ...]:
    """Every GitLab Duo purchase and trial the portal has for the subscription, oldest first."""
    from portal.subscriptions import find_subscription

    with app.app_context():
        subscription = find_subscription(subscription_name)
        if subscription is None:
            return ()
        return tuple(
            PurchaseEvidence(p.tier, p.quantity, p.starts_on, p.ends_on, p.trial, p.created_at)
            for p in sorted(subscription.add_on_purchases, key=lambda p: (p.created_at, p.id))
        )


def code_evidence(app: Flask, code: str) -> CodeEvidence:
    """Which subscription holds ``code`` (the code is compared as the portal compares it)."""
    from portal.models import Subscription, db

    with app.app_context():
        name = db.session.execute(
            sa.select(Subscription.name).where(Subscription.activation_code == code.strip())
        ).scalar_one_or_none()
    return CodeEvidence(shown_code(code), name)


def user_evidence(bundle: dict[str, Any], username: str) -> UserEvidence:
    """The user's part of a bundle; a bundle without one (exported without ``--user``) cannot
    answer for the user and is refused."""
    part = bundle.get("user") if isinstance(bundle, dict) else None
    if not isinstance(part, dict):
        raise BundleError(
            "the diagnostics bundle has no user part: export it with "
            f"`provlab instance diagnostics --user {username}`"
        )
    described = str(part.get("username", ""))
    if described.lower() != username.strip().lower():
        raise BundleError(f"the diagnostics bundle describes user {described}, not {username}")
    try:
        if not part["found"]:
            return UserEvidence(str(part["username"]), False)
        assigned, used = part["seat_assigned_at"], part["code_suggestions_last_used_at"]
        return UserEvidence(
            username=str(part["username"]),
            found=True,
            state=str(part["state"]),
            bot_type=part["bot_type"],
            internal_bot=bool(part["internal_bot"]),
            highest_role=str(part["highest_role"]),
            plan=part["plan"],
            billable=bool(part["billable"]),
            seat_assigned_at=parse_utc(assigned) if assigned else None,
            code_suggestions_last_used_at=parse_utc(used) if used else None,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise BundleError(f"the bundle's user part is incomplete or damaged ({exc})") from None


def subscription_code(app: Flask, subscription_name: str) -> CodeEvidence | None:
    """The subscription's activation code as the portal holds it (None: not generated yet)."""
    from portal.subscriptions import find_subscription

    with app.app_context():
        subscription = find_subscription(subscription_name)
        if subscription is None or subscription.activation_code is None:
            return None
        return CodeEvidence(shown_code(subscription.activation_code), subscription.name)


def bound_subscription(app: Flask, instance_id: str) -> str | None:
    """The subscription the portal has bound to ``instance_id``, if any: whether any request of
    that instance ever got through."""
    from portal.models import Activation, Subscription, db

    with app.app_context():
        return db.session.execute(
            sa.select(Subscription.name)
            .join(Activation, Activation.subscription_id == Subscription.id)
            .where(Activation.instance_id == instance_id)
        ).scalar_one_or_none()
