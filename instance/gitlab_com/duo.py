"""GitLab Duo per top-level group on GitLab.com.

Rules (seeds/000 "For GitLab.com"):
- A group's Duo seats are assigned with the self-managed rules and errors (``instance.add_ons``:
  R26 never more than purchased, R27 bulk all-or-nothing), scoped to the group's add-on
  purchase; only billable members of that top-level group are eligible (R2, R31).
- A seat in at least one top-level group gives the user GitLab Duo (Code Suggestions) in any
  project or group (R1).
- Owners of the top-level group (and administrators) manage its seats.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from instance.gitlab_com.billable import billable_members_query
from instance.gitlab_com.groups import is_owner
from instance.models import AddOnPurchase, User, UserAddOnAssignment, UserState, db
from instance.namespace_models import Namespace


def group_eligible_users_query(root_id: int, search: str = "") -> sa.Select[tuple[User]]:
    """Members who may hold a seat of the group's purchase, by name; ``search`` narrows them."""
    query = billable_members_query(root_id)
    if search:
        pattern = f"%{search.lower()[:100]}%"
        query = query.where(
            sa.or_(
                sa.func.lower(User.name).like(pattern), sa.func.lower(User.username).like(pattern)
            )
        )
    return query


def can_manage_seats(user: User | None, purchase: AddOnPurchase) -> bool:
    """Administrators manage any purchase; a group's owners manage their group's (GitLab's
    ``admin_add_on_purchase`` permission)."""
    if purchase.namespace_id is None:
        return user is not None and user.is_active and user.admin
    return can_manage_group_seats(user, purchase.namespace_id)


def can_manage_group_seats(user: User | None, root_id: int) -> bool:
    """The top-level group's Owners and administrators manage its add-on seats."""
    if user is None or not user.is_active:
        return False
    if user.admin:
        return True
    group = db.session.get(Namespace, root_id)
    return group is not None and is_owner(group, user)


def user_has_group_duo_access(user: User, now: dt.datetime) -> bool:
    """R1 on GitLab.com: a seat on an active Duo purchase of at least one top-level group."""
    if user.state != UserState.ACTIVE:
        return False
    today = now.date()
    seat = db.session.execute(
        sa.select(UserAddOnAssignment.id)
        .join(AddOnPurchase, AddOnPurchase.id == UserAddOnAssignment.add_on_purchase_id)
        .where(
            UserAddOnAssignment.user_id == user.id,
            AddOnPurchase.namespace_id.is_not(None),
            AddOnPurchase.starts_on <= today,
            AddOnPurchase.ends_on > today,
        )
        .limit(1)
    ).first()
    return seat is not None
