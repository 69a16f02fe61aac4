"""Who may see a group or project and manage its members, and the membership changes GitLab's
members API makes (lib/api/members.rb, Members::DestroyService, BillableMembers::DestroyService).

Rules:
- A user's role in a group is their highest membership of it or of an ancestor group; in a
  project, the higher of their project membership and their role in the project's group.
  Administrators act as Owners everywhere.
- Groups and projects are private: a group is visible to administrators and to members of it,
  of an ancestor, or of a group or project below it; a project to those with a role in it.
- Owners manage a group's members; Maintainers and Owners manage a project's. The Owner role
  (50) is given in groups only. Any member may remove their own membership (leave).
- A group keeps an Owner, its own or one of a group above it: its last Owner's membership can
  be neither removed nor lowered.
- ``expires_at`` is a date not in the past; a membership ends when that day begins, and the
  daily job removes it as GitLab's RemoveExpiredMembersWorker does (a last Owner stays).
- Removing a group membership also removes the user's memberships of the groups and projects
  below it, unless ``skip_subresources``. Removing a billable member (R31) removes every
  membership of theirs in the top-level group's hierarchy, and only an Owner may.
- Every removal goes through ``groups.remove_member``, which frees the user's seats of the
  group's add-ons once they are no longer a billable member of it (R2, R31).
- A role change never frees a seat, even one that makes the member non-billable (R31: a Guest
  on Ultimate). So GitLab.com does: ``ee/app/services/ee/members/update_service.rb``
  (``after_execute``) only updates member roles and audits the change; the seat clean-up,
  ``GitlabSubscriptions::AddOnPurchases::CleanupUserAddOnAssignmentWorker``, is enqueued by
  ``ee/app/services/ee/members/destroy_service.rb`` alone, and even it keeps the seat of a user
  the group's ``eligible_for_gitlab_duo_pro_seat?`` (``ee/app/models/ee/group.rb``) accepts,
  which counts Guests (``billed_group_user?(user, exclude_guests: false)``). The demoted member
  keeps the seat, and Code Suggestions with it, until an Owner removes it; R2 still refuses a
  Guest on Ultimate a new seat (``instance.add_ons.eligibility``).
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from instance.gitlab_com.groups import ROLES, add_member, record_usage, remove_member
from instance.models import AccessLevel, User, db
from instance.namespace_models import Member, Namespace, Project
from webcore.errors import Refusal

# What a refusal is, for callers to answer in their own words (never by message text).
FORBIDDEN = "forbidden"
INVALID = "invalid"
NOT_TOP_LEVEL = "not_top_level"
NO_MEMBERSHIP = "no_membership"
# GitLab's validation texts (Member's inclusion and FutureDateValidator).
NOT_IN_LIST = "is not included in the list"
IN_THE_PAST = "cannot be a date in the past"

Source = Namespace | Project


class MembershipRefused(Refusal):
    """A membership change GitLab refuses; ``field`` names the invalid field, if any."""

    def __init__(self, code: str, message: str, *, field: str | None = None) -> None:
        super().__init__(message, code=code, status=403 if code == FORBIDDEN else 400)
        self.field = field


# -- hierarchy ------------------------------------------------------------------------------------


def ancestor_paths(full_path: str) -> list[str]:
    """``a/b/c`` → ``["a", "a/b", "a/b/c"]``: the group itself and every group above it."""
    parts = full_path.split("/")
    return ["/".join(parts[: index + 1]) for index in range(len(parts))]


def _group_path(source: Source) -> str:
    return source.namespace.full_path if isinstance(source, Project) else source.full_path


def _below(column: sa.orm.InstrumentedAttribute[str], full_path: str) -> sa.ColumnElement[bool]:
    return column.startswith(f"{full_path}/", autoescape=True)


def _below_group(group: Namespace, user: User) -> sa.Select[tuple[Member]]:
    """The user's memberships of the subgroups and projects below ``group``, not of the group
    itself: a member of a subgroup may read the groups above it, and leaving a group ends these
    too (unless ``skip_subresources``)."""
    return (
        sa.select(Member)
        .outerjoin(Namespace, Namespace.id == Member.namespace_id)
        .outerjoin(Project, Project.id == Member.project_id)
        .where(
            Member.user_id == user.id,
            Member.root_id == group.root_id,
            sa.or_(
                _below(Namespace.full_path, group.full_path),
                _below(Project.full_path, group.full_path),
            ),
        )
    )


def access_level(source: Source, user: User, *, as_member: bool = False) -> int:
    """The user's role in a group or project, inherited from the groups above it; an
    administrator's is Owner unless ``as_member`` (their memberships only)."""
    if user.admin and not as_member:
        return AccessLevel.OWNER
    where = sa.and_(
        Member.user_id == user.id,
        Member.namespace_id.in_(
            sa.select(Namespace.id).where(
                Namespace.full_path.in_(ancestor_paths(_group_path(source)))
            )
        ),
    )
    if isinstance(source, Project):
        where = sa.or_(where, sa.and_(Member.user_id == user.id, Member.project_id == source.id))
    level = db.session.execute(sa.select(sa.func.max(Member.access_level)).where(where))
    return level.scalar_one() or AccessLevel.NONE


def can_read(source: Source, user: User) -> bool:
    if access_level(source, user) > AccessLevel.NONE:
        return True
    if isinstance(source, Project):
        return False
    below = db.session.execute(_below_group(source, user).limit(1)).first()
    return below is not None


def visible_groups(user: User) -> sa.Select[tuple[int]]:
    """Ids of the groups ``user`` may see (GET /groups): every group of an administrator; for
    others the groups of their top-level groups that ``can_read`` admits."""
    if user.admin:
        return sa.select(Namespace.id)
    roots = sa.select(Member.root_id).where(Member.user_id == user.id)
    candidates = db.session.execute(
        sa.select(Namespace).where(Namespace.root_id.in_(roots))
    ).scalars()
    return sa.select(Namespace.id).where(
        Namespace.id.in_([group.id for group in candidates if can_read(group, user)])
    )


def can_admin_members(source: Source, user: User) -> bool:
    """GitLab's ``admin_group_member`` (Owner) and ``admin_project_member`` (Maintainer)."""
    needed = AccessLevel.MAINTAINER if isinstance(source, Project) else AccessLevel.OWNER
    return access_level(source, user) >= needed


def is_last_owner(member: Member) -> bool:
    """Whether ``member`` is the group's only Owner, counting Owners inherited from the groups
    above it (GitLab's ``last_owner?``). The group's row is locked first, as GitLab takes a
    lock, so two Owners removing each other at once cannot both succeed."""
    if member.namespace_id is None or member.access_level != AccessLevel.OWNER:
        return False
    group = db.session.execute(
        sa.select(Namespace).where(Namespace.id == member.namespace_id).with_for_update()
    ).scalar_one()
    others = db.session.execute(
        sa.select(Member.id)
        .join(Namespace, Namespace.id == Member.namespace_id)
        .where(
            Namespace.full_path.in_(ancestor_paths(group.full_path)),
            Member.access_level == AccessLevel.OWNER,
            Member.user_id != member.user_id,
        )
        .limit(1)
    ).first()
    return others is None


# -- changes --------------------------------------------------------------------------------------


def check_role(source: Source, level: int) -> int:
    allowed = set(ROLES.values()) - ({AccessLevel.OWNER} if isinstance(source, Project) else set())
    if level not in allowed:
        raise MembershipRefused(INVALID, NOT_IN_LIST, field="access_level")
    return level


def check_expiry(expires_at: dt.date | None, today: dt.date) -> dt.date | None:
    if expires_at is not None and expires_at < today:
        raise MembershipRefused(INVALID, IN_THE_PAST, field="expires_at")
    return expires_at


def add_membership(
    source: Source,
    user: User,
    level: int,
    expires_at: dt.date | None,
    *,
    by: User,
    now: dt.datetime,
) -> Member:
    """``POST /members``: a new membership, by someone who manages the source's members (R31:
    the user's seat is counted at once). The caller refuses an existing member first."""
    if not can_admin_members(source, by):
        raise MembershipRefused(FORBIDDEN, "403 Forbidden")
    check_role(source, level)
    check_expiry(expires_at, now.date())
    return add_member(source, user, level, now, expires_at=expires_at)


def update_membership(
    source: Source,
    member: Member,
    level: int,
    expires_at: dt.date | None,
    *,
    change_expiry: bool,
    by: User,
    now: dt.datetime,
) -> Member:
    """``PUT /members/:user_id``: a new role (and expiry, when given); the last Owner of a
    group keeps the role. A Guest on Ultimate is no longer billable (R31): usage is recorded;
    their add-on seats stay, as on GitLab.com (see the module docstring)."""
    if not can_admin_members(source, by):
        raise MembershipRefused(FORBIDDEN, "403 Forbidden")
    check_role(source, level)
    if change_expiry:
        check_expiry(expires_at, now.date())
    if level != member.access_level and is_last_owner(member):
        raise MembershipRefused(FORBIDDEN, "403 Forbidden")
    member.access_level = level
    if change_expiry:
        member.expires_at = expires_at
    db.session.flush()
    record_usage(member.root_id)
    return member


def _source_of(member: Member) -> Source:
    if member.project_id is not None:
        project = db.session.get(Project, member.project_id)
        assert project is not None
        return project
    group = db.session.get(Namespace, member.namespace_id)
    assert group is not None
    return group


def _memberships_below(group: Namespace, user: User) -> list[Member]:
    return list(db.session.execute(_below_group(group, user).order_by(Member.id)).scalars())


def destroy_membership(member: Member, *, by: User | None, skip_subresources: bool = False) -> None:
    """``DELETE /members/:user_id``: by a manager of the source, or the member leaving; never
    a group's last Owner. ``by=None`` is the system (an expired membership). R2, R31 through
    ``remove_member``."""
    source = _source_of(member)
    user = member.user
    if by is not None and by.id != user.id and not can_admin_members(source, by):
        raise MembershipRefused(FORBIDDEN, "403 Forbidden")
    if is_last_owner(member):
        raise MembershipRefused(FORBIDDEN, "403 Forbidden")
    below = (
        _memberships_below(source, user)
        if isinstance(source, Namespace) and not skip_subresources
        else []
    )
    remove_member(source, user)
    for other in below:
        if not is_last_owner(other):  # as GitLab: a subgroup's last Owner keeps the group
            remove_member(_source_of(other), user)


def remove_billable_member(group: Namespace, user_id: int, *, by: User) -> None:
    """``DELETE /billable_members/:user_id`` (R31): the user leaves the top-level group's whole
    hierarchy, in GitLab's order of checks and with its messages."""
    if not group.is_root:
        raise MembershipRefused(NOT_TOP_LEVEL, "Invalid group provided, must be top-level")
    if not can_admin_members(group, by):
        raise MembershipRefused(FORBIDDEN, "User unauthorized to remove member")
    found = list(
        db.session.execute(
            sa.select(Member)
            .where(Member.root_id == group.id, Member.user_id == user_id)
            .order_by(Member.id)
        ).scalars()
    )
    if not found:
        raise MembershipRefused(NO_MEMBERSHIP, "No member found for the given user_id")
    if any(is_last_owner(member) for member in found):
        # Members::DestroyService raises a bare AccessDeniedError, whose message is its class
        # name: GitLab answers exactly this.
        raise MembershipRefused(FORBIDDEN, "Gitlab::Access::AccessDeniedError")
    for member in found:
        remove_member(_source_of(member), member.user)


# GitLab's RemoveExpiredMembersWorker runs daily at 00:10 UTC.
EXPIRED_MEMBERS_AT = dt.timedelta(minutes=10)


def next_expired_members_run(now: dt.datetime) -> dt.datetime:
    today = now.replace(hour=0, minute=0, second=0, microsecond=0) + EXPIRED_MEMBERS_AT
    return today if today > now else today + dt.timedelta(days=1)


def remove_expired_members(now: dt.datetime) -> int:
    """The daily job: memberships whose ``expires_at`` day has begun end (R2, R31 through
    ``remove_member``); a group's last Owner is kept. Returns how many ended."""
    expired = list(
        db.session.execute(
            sa.select(Member)
            .where(Member.expires_at.is_not(None), Member.expires_at <= now.date())
            .order_by(Member.id)
        ).scalars()
    )
    ended = 0
    for member in expired:
        if not is_last_owner(member):
            remove_member(_source_of(member), member.user)
            ended += 1
    return ended
