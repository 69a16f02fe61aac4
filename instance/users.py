"""Users of the instance and who is billable.

Rules (R30): a user is billable when not blocked, banned or deactivated, whether or not they ever
signed in or have any group or project access; service accounts are billable; GitLab's own bots
(support bot, alert bot, ghost, ...) never are; on Ultimate, users whose highest role is Guest are
not. R2: only billable users may hold an add-on seat.
"""

from __future__ import annotations

import datetime as dt
import re

import sqlalchemy as sa

from instance.models import AccessLevel, License, User, UserState, db
from protocol.license import Plan
from webcore.auth import check_password, end_sessions, hash_password
from webcore.db import read_columns
from webcore.errors import Refusal

SERVICE_ACCOUNT = "service_account"
# GitLab's own bots: never billable (R30), never eligible for a seat (R2).
INTERNAL_BOT_TYPES = (
    "support_bot",
    "alert_bot",
    "ghost",
    "visual_review_bot",
    "migration_bot",
    "security_bot",
    "automation_bot",
    "security_policy_bot",
    "admin_bot",
    "suggested_reviewers_bot",
    "llm_bot",
    "duo_code_review_bot",
)
BOT_TYPES = (SERVICE_ACCOUNT, *INTERNAL_BOT_TYPES)
_USERNAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}")


TAKEN = "taken"


class UserError(Refusal, ValueError):
    """Bad input for a user; the message is safe to show. ``code`` is ``invalid`` or, for a
    username or email another user has, ``TAKEN``."""

    code = "invalid"


def current_plan() -> Plan | None:
    plan = read_columns(db.session, _CURRENT_PLAN).scalar_one_or_none()
    return Plan(plan) if plan else None


_CURRENT_PLAN = sa.select(License.plan).where(License.current)


def billable_condition(plan: Plan | None) -> sa.ColumnElement[bool]:
    """A SQL condition selecting billable users under ``plan`` (R30)."""
    condition = sa.and_(
        User.state == UserState.ACTIVE,
        sa.or_(User.bot_type.is_(None), User.bot_type.not_in(INTERNAL_BOT_TYPES)),
    )
    if plan is Plan.ULTIMATE:
        condition = sa.and_(condition, User.highest_access_level != AccessLevel.GUEST)
    return condition


def is_billable(user: User, plan: Plan | None) -> bool:
    """R30 for one user (same logic as ``billable_condition``)."""
    if user.state != UserState.ACTIVE or user.bot_type in INTERNAL_BOT_TYPES:
        return False
    return not (plan is Plan.ULTIMATE and user.highest_access_level == AccessLevel.GUEST)


def billable_user_count(plan: Plan | None = None) -> int:
    plan = current_plan() if plan is None else plan
    return read_columns(db.session, billable_count_query(plan)).scalar_one()


def billable_count_query(plan: Plan | None) -> sa.Select[tuple[int]]:
    """The statement counting billable users under ``plan`` (R30), for a caller that reads more
    in the same statement."""
    return _BILLABLE_COUNT[plan is Plan.ULTIMATE]


# Built once (counted at every sync and clean-up); only Ultimate's condition differs (R30).
_BILLABLE_COUNT = {
    ultimate: sa.select(sa.func.count(User.id)).where(
        billable_condition(Plan.ULTIMATE if ultimate else None)
    )
    for ultimate in (False, True)
}


def create_user(
    *,
    username: str,
    email: str,
    name: str,
    now: dt.datetime,
    password: str | None = None,
    password_hash: str | None = None,
    admin: bool = False,
    state: str = UserState.ACTIVE,
    bot_type: str | None = None,
    highest_access_level: int = AccessLevel.NONE,
) -> User:
    """The one way a user is created (admin form, users API, demo and scenario setup): refuses a
    malformed field, a ``password`` breaking the password rule (``check_password``) and, with
    the code ``taken``, a username or email another user has. A user without a password (a bot)
    cannot sign in; ``password_hash`` is for a password hashed ahead of time."""
    if password is not None:
        check_password(password)
        password_hash = hash_password(password)
    username, email, name = username.strip(), email.strip().lower(), name.strip()
    if not _USERNAME.fullmatch(username):
        raise UserError("Username may contain only letters, digits, '_', '-' and '.'")
    if "@" not in email or len(email) > 254 or any(c.isspace() for c in email):
        raise UserError("Email is invalid")
    if not name:
        raise UserError("Name can't be blank")
    check_user_fields(state=state, bot_type=bot_type, highest_access_level=highest_access_level)
    taken = db.session.execute(
        sa.select(User.username, User.email).where(
            sa.or_(sa.func.lower(User.username) == username.lower(), User.email == email)
        )
    ).first()
    if taken is not None:
        raise UserError(
            "Username has already been taken"
            if taken.username.lower() == username.lower()
            else "Email has already been taken",
            code=TAKEN,
        )
    return db.inserted(
        User(
            username=username,
            email=email,
            name=name,
            password_hash=password_hash,
            admin=admin,
            state=UserState(state).value,
            bot_type=bot_type,
            highest_access_level=highest_access_level,
            created_at=now,
        )
    )


def check_user_fields(*, state: str, bot_type: str | None, highest_access_level: int) -> None:
    if state not in set(UserState):
        raise UserError(f"State must be one of {', '.join(UserState)}")
    if bot_type is not None and bot_type not in BOT_TYPES:
        raise UserError("Unknown bot type")
    if highest_access_level not in AccessLevel.NAMES:
        raise UserError("Unknown role")


def change_state(user: User, state: str) -> None:
    """Block, ban, deactivate or activate; seats of users leaving ``active`` are freed by the
    clean-up job (R29)."""
    check_user_fields(
        state=state, bot_type=user.bot_type, highest_access_level=user.highest_access_level
    )
    if state != user.state and state != UserState.ACTIVE:
        end_sessions(user)  # a blocked user's open sessions end now, and stay ended if unblocked
    user.state = UserState(state).value
    db.session.flush()


def find_by_username(username: str) -> User | None:
    return db.find(User, sa.func.lower(User.username) == username.strip().lower())
