"""Billable members of a GitLab.com top-level group (R31).

Rules: the billable users of a group's subscription are the members of the group, of its
subgroups and of its projects, each user counted once however many memberships they hold;
with the self-managed exclusions (R30): blocked, banned and deactivated users and GitLab's own
bots never count, and on Ultimate neither do users whose highest role in the group's hierarchy
is Guest. The same set is who may hold a GitLab Duo seat of the group (R2).

The group's subscription and plan, which the count depends on, are looked up here, once for
every module that needs them.
"""

from __future__ import annotations

import sqlalchemy as sa

from instance.models import AccessLevel, User, UserState, db
from instance.namespace_models import GitlabSubscription, Member
from instance.users import INTERNAL_BOT_TYPES
from protocol.license import Plan


def group_subscription(root_id: int) -> GitlabSubscription | None:
    """The top-level group's subscription as the portal last provisioned it, if any."""
    return db.find(GitlabSubscription, GitlabSubscription.namespace_id == root_id)


def group_plan(root_id: int) -> Plan:
    """The top-level group's plan as last provisioned; Free without a subscription."""
    subscription = group_subscription(root_id)
    return Plan(subscription.plan_code) if subscription else Plan.FREE


def highest_roles(root_id: int) -> sa.Subquery:
    """Each member of the hierarchy once, with their highest role in it."""
    return (
        sa.select(Member.user_id, sa.func.max(Member.access_level).label("access_level"))
        .where(Member.root_id == root_id)
        .group_by(Member.user_id)
        .subquery()
    )


def billable_members_query(root_id: int, plan: Plan | None = None) -> sa.Select[tuple[User]]:
    """R31: the group's billable members, by name."""
    plan = group_plan(root_id) if plan is None else plan
    roles = highest_roles(root_id)
    query = (
        sa.select(User)
        .join(roles, roles.c.user_id == User.id)
        .where(
            User.state == UserState.ACTIVE,
            sa.or_(User.bot_type.is_(None), User.bot_type.not_in(INTERNAL_BOT_TYPES)),
        )
    )
    if plan is Plan.ULTIMATE:
        query = query.where(roles.c.access_level != AccessLevel.GUEST)
    return query.order_by(User.name, User.id)


def billable_member_count(root_id: int, plan: Plan | None = None) -> int:
    """R31: how many seats the group uses now."""
    members = billable_members_query(root_id, plan).order_by(None).subquery()
    return db.session.execute(sa.select(sa.func.count()).select_from(members)).scalar_one()


def is_billable_member(root_id: int, user: User) -> bool:
    """R31 for one user; R2: only they may hold a seat of the group's add-on."""
    query = billable_members_query(root_id).order_by(None).where(User.id == user.id)
    return db.session.execute(query.limit(1)).first() is not None
