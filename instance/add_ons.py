"""GitLab Duo on the instance: the add-on purchase, seat assignments, automatic removal, access.

Rules:
- R1/R6: the Duo add-on is provisioned from the license (``instance.duo_provisioning``): one
  purchase row per instance. An add-on missing from a fresh license is expired, never deleted;
  its seat assignments are kept 28 days and count again if it comes back in that window, then go.
- R2/R26: seats go to billable users only, and never more than the purchased quantity; the
  purchase row is locked while counting, so concurrent assignments cannot overshoot.
- R27: bulk assignment is all-or-nothing, at most 50 users per call.
- R28: when the quantity drops below the assigned seats, assignments are removed until they
  fit: first users who never used Code Suggestions (most recently assigned first), then users
  who did (least recent use first).
- R29: a clean-up job removes the seats of blocked, banned and deactivated users.
- R10/R17/R18: Duo works only on an online cloud license and a new enough GitLab; below 17.2
  it works with a warning.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from instance.gitlab_com.billable import is_billable_member
from instance.licenses import current_license, is_online_cloud
from instance.models import (
    AddOnPurchase,
    User,
    UserAddOnAssignment,
    UserState,
    db,
)
from instance.users import billable_condition, current_plan, is_billable
from protocol.license import AddOnTier
from protocol.versions import GitLabVersion
from webcore.db import read_columns
from webcore.errors import Refusal

# The add-on a purchase row is of (``AddOnPurchase.add_on``): one row per add-on and instance
# or group, so GitLab Duo's one-tier rule never reaches Enterprise Agile Planning (R6).
DUO = "duo"
ASSIGNMENT_RETENTION = dt.timedelta(days=28)
BULK_LIMIT = 50
DEGRADED_BELOW = GitLabVersion(17, 2)

NO_SEATS_AVAILABLE = "NO_SEATS_AVAILABLE"
INVALID_USER_MEMBERSHIP = "INVALID_USER_MEMBERSHIP"
NOT_ENOUGH_SEATS = "NOT_ENOUGH_SEATS"
INVALID_USER_ID_PRESENT = "INVALID_USER_ID_PRESENT"
INCOMPATIBLE_ADD_ON = "INCOMPATIBLE_ADD_ON"
NO_ASSIGNMENTS_FOUND = "NO_ASSIGNMENTS_FOUND"
TOO_MANY_USERS = "TOO_MANY_USERS"

_MESSAGES = {
    NO_SEATS_AVAILABLE: "No more seats are available.",
    INVALID_USER_MEMBERSHIP: "The user is not eligible for a seat: only billable users are.",
    NOT_ENOUGH_SEATS: "There are not enough seats available for all the selected users.",
    INVALID_USER_ID_PRESENT: "Some selected users do not exist or are not eligible for a seat.",
    INCOMPATIBLE_ADD_ON: "The add-on purchase is not an active add-on purchase.",
    NO_ASSIGNMENTS_FOUND: "None of the selected users has a seat.",
    TOO_MANY_USERS: f"At most {BULK_LIMIT} users can be changed at once.",
}


class AssignmentError(Refusal):
    """A seat change was refused; ``code`` is the real product's error code."""

    def __init__(self, code: str, message: str | None = None) -> None:
        super().__init__(message or _MESSAGES.get(code, code), code=code)
        self.args = (f"{code}: {self.message}",)

    def flash_message(self) -> str:
        return f"{self.message} ({self.code})"

    def json_body(self) -> dict[str, Any]:
        # The admin page's seat toggle reads ``success`` and ``error`` (GitLab's shape).
        return {"success": False, "error": self.code, **super().json_body()}


# -- the purchase -------------------------------------------------------------------------------


def duo_purchase() -> AddOnPurchase | None:
    """The instance's own Duo purchase (GitLab.com's per-group ones have a namespace; Enterprise
    Agile Planning is a purchase of its own)."""
    return db.session.execute(_DUO_PURCHASE).scalar_one_or_none()


_DUO_PURCHASE = sa.select(AddOnPurchase).where(
    AddOnPurchase.namespace_id.is_(None), AddOnPurchase.add_on == DUO
)


def instance_purchases_locked() -> dict[str, AddOnPurchase]:
    """The instance's own purchases by add-on (Duo's, Enterprise Agile Planning's: R6), locked
    and re-read in one statement, as a sync provisions both (the counts after it are current)."""
    return {
        purchase.add_on: purchase
        for purchase in db.session.execute(_LOCKED_INSTANCE_PURCHASES).scalars()
    }


_LOCKED_INSTANCE_PURCHASES = (
    sa.select(AddOnPurchase)
    .where(AddOnPurchase.namespace_id.is_(None))
    .with_for_update()
    .execution_options(populate_existing=True)
)


def lock_purchase(purchase_id: int) -> AddOnPurchase | None:
    """The purchase with its row locked (PostgreSQL ``FOR UPDATE``; SQLite holds the write lock
    from the start of the transaction), re-read so the counts after it are current."""
    return db.session.execute(_LOCKED_PURCHASE, {"purchase_id": purchase_id}).scalar_one_or_none()


def assigned_count(purchase: AddOnPurchase) -> int:
    return read_columns(db.session, _ASSIGNED_COUNT, {"purchase_id": purchase.id}).scalar_one()


# Built once: every sync locks its purchases and counts their seats.
_LOCKED_PURCHASE = (
    sa.select(AddOnPurchase)
    .where(AddOnPurchase.id == sa.bindparam("purchase_id"))
    .with_for_update()
    .execution_options(populate_existing=True)
)
_ASSIGNED_COUNT = sa.select(sa.func.count(UserAddOnAssignment.id)).where(
    UserAddOnAssignment.add_on_purchase_id == sa.bindparam("purchase_id")
)


# -- automatic removal --------------------------------------------------------------------------


def remove_overage(purchase: AddOnPurchase) -> list[User]:
    """R28: remove assignments until they fit the purchased quantity; returns whose went."""
    excess = assigned_count(purchase) - purchase.quantity
    if excess <= 0:
        return []
    mine = sa.and_(
        UserAddOnAssignment.add_on_purchase_id == purchase.id,
        User.id == UserAddOnAssignment.user_id,
    )
    never_used = (
        sa.select(UserAddOnAssignment.id, User)
        .where(mine, User.code_suggestions_last_used_at.is_(None))
        .order_by(UserAddOnAssignment.created_at.desc(), UserAddOnAssignment.id.desc())
        .limit(excess)
    )
    chosen = list(db.session.execute(never_used).tuples())
    if len(chosen) < excess:
        used = (
            sa.select(UserAddOnAssignment.id, User)
            .where(mine, User.code_suggestions_last_used_at.is_not(None))
            .order_by(User.code_suggestions_last_used_at.asc(), UserAddOnAssignment.id.asc())
            .limit(excess - len(chosen))
        )
        chosen += list(db.session.execute(used).tuples())
    _delete_assignments([assignment_id for assignment_id, _ in chosen])
    return [user for _, user in chosen]


def _delete_assignments(ids: list[int]) -> None:
    if not ids:
        return
    db.session.flush()  # nothing pending is lost by the expiry below
    for first in range(0, len(ids), 500):  # bounded IN lists
        db.session.execute(
            sa.delete(UserAddOnAssignment)
            .where(UserAddOnAssignment.id.in_(ids[first : first + 500]))
            .execution_options(synchronize_session=False)
        )
    db.session.expire_all()  # assignments loaded earlier may be gone


@dataclass(frozen=True)
class CleanUp:
    removed_inactive: tuple[str, ...]
    deleted_expired: int


def clean_up_seats(now: dt.datetime) -> CleanUp:
    """R29: free the seats of blocked, banned and deactivated users; delete the assignments of an
    add-on expired more than 28 days ago."""
    # One read finds both kinds (it runs twice a day and mostly finds none); a seat of an
    # inactive user on an expired add-on counts as an inactive user's, as it always has.
    found = read_columns(
        db.session, _TO_CLEAN_UP, {"ended_by": now.date() - ASSIGNMENT_RETENTION}
    ).tuples()
    inactive: list[tuple[int, str]] = []
    expired: list[int] = []
    for assignment_id, username, active in found:
        if active:
            expired.append(assignment_id)
        else:
            inactive.append((assignment_id, username))
    names = tuple(username for _, username in inactive)
    _delete_assignments([assignment_id for assignment_id, _ in inactive])
    _delete_assignments(expired)
    db.session.flush()
    return CleanUp(names, len(expired))


# Every add-on of the instance (Duo and Enterprise Agile Planning) keeps its own 28 days.
_ENDED = sa.select(AddOnPurchase.id).where(
    AddOnPurchase.namespace_id.is_(None),
    AddOnPurchase.ends_on <= sa.bindparam("ended_by", type_=AddOnPurchase.ends_on.type),
)
_TO_CLEAN_UP = (
    sa.select(UserAddOnAssignment.id, User.username, User.state == UserState.ACTIVE)
    .join(User, User.id == UserAddOnAssignment.user_id)
    .where(
        sa.or_(
            User.state != UserState.ACTIVE,
            UserAddOnAssignment.add_on_purchase_id.in_(_ENDED),
        )
    )
    .order_by(UserAddOnAssignment.id)
)


# -- assignment ---------------------------------------------------------------------------------


def eligibility(purchase: AddOnPurchase) -> Callable[[User], bool]:
    """R2: who may hold a seat: billable users of the instance (R30) or, for a GitLab.com
    group's purchase, billable members of that top-level group (R31)."""
    if purchase.namespace_id is None:
        plan = current_plan()
        return lambda user: is_billable(user, plan)
    root_id = purchase.namespace_id
    return lambda user: is_billable_member(root_id, user)


def _active_purchase(purchase_id: int, today: dt.date) -> AddOnPurchase:
    purchase = lock_purchase(purchase_id)
    if purchase is None or not purchase.is_active_on(today):
        raise AssignmentError(INCOMPATIBLE_ADD_ON)
    return purchase


def assignment_for(purchase: AddOnPurchase, user: User) -> UserAddOnAssignment | None:
    return db.find(
        UserAddOnAssignment,
        UserAddOnAssignment.add_on_purchase_id == purchase.id,
        UserAddOnAssignment.user_id == user.id,
    )


def assign_seat(purchase_id: int, user: User, now: dt.datetime) -> UserAddOnAssignment:
    """R2, R26: give ``user`` a seat; an already assigned user succeeds with no change."""
    purchase = _active_purchase(purchase_id, now.date())
    existing = assignment_for(purchase, user)
    if existing is not None:
        return existing
    if not eligibility(purchase)(user):
        raise AssignmentError(INVALID_USER_MEMBERSHIP)
    if assigned_count(purchase) >= purchase.quantity:
        raise AssignmentError(NO_SEATS_AVAILABLE)
    return db.inserted(
        UserAddOnAssignment(add_on_purchase_id=purchase.id, user_id=user.id, created_at=now)
    )


def remove_seat(purchase_id: int, user: User) -> bool:
    """Take ``user``'s seat back; False if they had none."""
    purchase = lock_purchase(purchase_id)
    if purchase is None:
        raise AssignmentError(INCOMPATIBLE_ADD_ON)
    existing = assignment_for(purchase, user)
    if existing is None:
        return False
    db.session.delete(existing)
    db.session.flush()
    return True


def _users_by_id(user_ids: Sequence[int]) -> list[User]:
    if len(user_ids) > BULK_LIMIT:
        raise AssignmentError(TOO_MANY_USERS)
    ids = list(dict.fromkeys(user_ids))
    users = list(db.session.execute(sa.select(User).where(User.id.in_(ids))).scalars())
    if len(users) != len(ids):
        raise AssignmentError(INVALID_USER_ID_PRESENT)
    by_id = {user.id: user for user in users}
    return [by_id[user_id] for user_id in ids]


def bulk_assign(purchase_id: int, user_ids: Sequence[int], now: dt.datetime) -> list[User]:
    """R27: assign seats to up to 50 users, all or nothing; returns the users now assigned."""
    if not user_ids:
        raise AssignmentError(INVALID_USER_ID_PRESENT, "Select at least one user.")
    purchase = _active_purchase(purchase_id, now.date())
    users = _users_by_id(user_ids)
    eligible = eligibility(purchase)
    if any(not eligible(user) for user in users):
        raise AssignmentError(INVALID_USER_ID_PRESENT)
    assigned_ids = set(
        db.session.execute(
            sa.select(UserAddOnAssignment.user_id).where(
                UserAddOnAssignment.add_on_purchase_id == purchase.id,
                UserAddOnAssignment.user_id.in_([user.id for user in users]),
            )
        ).scalars()
    )
    new = [user for user in users if user.id not in assigned_ids]
    if assigned_count(purchase) + len(new) > purchase.quantity:
        raise AssignmentError(NOT_ENOUGH_SEATS)
    for user in new:
        db.session.add(
            UserAddOnAssignment(add_on_purchase_id=purchase.id, user_id=user.id, created_at=now)
        )
    db.session.flush()
    return users


def bulk_remove(purchase_id: int, user_ids: Sequence[int]) -> list[User]:
    """R27: remove the seats of up to 50 users; NO_ASSIGNMENTS_FOUND when none had one."""
    purchase = lock_purchase(purchase_id)
    if purchase is None:
        raise AssignmentError(INCOMPATIBLE_ADD_ON)
    users = _users_by_id(user_ids)
    found = list(
        db.session.execute(
            sa.select(UserAddOnAssignment).where(
                UserAddOnAssignment.add_on_purchase_id == purchase.id,
                UserAddOnAssignment.user_id.in_([user.id for user in users]),
            )
        ).scalars()
    )
    if not found:
        raise AssignmentError(NO_ASSIGNMENTS_FOUND)
    for assignment in found:
        db.session.delete(assignment)
    db.session.flush()
    return users


def eligible_users_query(search: str = "") -> sa.Select[tuple[User]]:
    """Users who may hold a seat (R2: billable users, R30), by name; ``search`` narrows them to
    names and usernames containing it. The one eligible-user filter: the GitLab Duo page and
    the GraphQL ``selfManagedAddOnEligibleUsers`` both start from it."""
    query = sa.select(User).where(billable_condition(current_plan()))
    if search:
        pattern = f"%{search.lower()[:100]}%"
        query = query.where(
            sa.or_(
                sa.func.lower(User.name).like(pattern), sa.func.lower(User.username).like(pattern)
            )
        )
    return query.order_by(User.name, User.id)


# -- enforcement --------------------------------------------------------------------------------


@dataclass(frozen=True)
class DuoAvailability:
    purchase: AddOnPurchase | None
    available: bool
    reason: str | None = None
    warning: str | None = None

    @property
    def menu_visible(self) -> bool:
        """R15: the GitLab Duo menu appears once a purchase or trial is known."""
        return self.purchase is not None


NOT_CLOUD_LICENSED = (
    "GitLab Duo is available only on a cloud-licensed instance. An instance on an offline or "
    "legacy license cannot use GitLab Duo: generate an activation code in the Customers Portal "
    "and activate this instance with it."
)
DEGRADED_WARNING = (
    "GitLab Duo works in a degraded experience on GitLab versions before 17.2. "
    "Upgrade GitLab for the full experience."
)


def duo_availability(now: dt.datetime, version_text: str) -> DuoAvailability:
    """Whether Duo works on this instance now, and why not (R10, R17, R18)."""
    purchase = duo_purchase()
    today = now.date()
    if purchase is None:
        return DuoAvailability(
            None,
            False,
            "This instance knows of no GitLab Duo purchase or trial. If you bought one, "
            "synchronize the subscription.",
        )
    if not is_online_cloud(current_license(), today):
        return DuoAvailability(purchase, False, NOT_CLOUD_LICENSED)
    tier = AddOnTier(purchase.tier)
    if today < purchase.starts_on:
        return DuoAvailability(
            purchase, False, f"{tier.label} starts on {purchase.starts_on.isoformat()}."
        )
    if today >= purchase.ends_on:
        return DuoAvailability(
            purchase, False, f"{tier.label} ended on {purchase.ends_on.isoformat()}."
        )
    try:
        version = GitLabVersion.parse(version_text)
    except ValueError:
        return DuoAvailability(purchase, False, f"Unknown GitLab version {version_text!r}.")
    if version < tier.minimum_gitlab_version:
        minimum = tier.minimum_gitlab_version
        return DuoAvailability(
            purchase,
            False,
            f"{tier.label} needs GitLab {minimum.major}.{minimum.minor} or later; this instance "
            f"runs {version}.",
        )
    warning = DEGRADED_WARNING if version < DEGRADED_BELOW else None
    return DuoAvailability(purchase, True, None, warning)


def user_has_duo_access(user: User, now: dt.datetime, version_text: str) -> bool:
    """Code Suggestions answers 200 only for a user with a seat on an active add-on of a
    cloud-licensed instance (R1, R10, R17)."""
    availability = duo_availability(now, version_text)
    if not availability.available or availability.purchase is None or not user.is_active:
        return False
    return assignment_for(availability.purchase, user) is not None
