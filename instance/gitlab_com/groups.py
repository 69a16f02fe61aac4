"""Groups, subgroups, projects and their members on GitLab.com.

Rules: a subscription belongs to a top-level group; every group and project records its
top-level group (``root_id``), so billing (R31) and GitLab Duo seats are counted per top-level
group. A user holds at most one membership per group or project, with one of GitLab's roles
(Guest, Reporter, Developer, Maintainer, Owner). Every removal of a membership, whoever asks
(the members API, a billable member's removal, an expired membership, a scenario), goes through
``remove_member``: a user who is no longer a billable member of the top-level group afterwards
(R31: no membership left in its hierarchy, or on Ultimate only Guest ones) loses their seats of
the group's add-ons (GitLab Duo, Enterprise Agile Planning) at once, since only billable members
may hold one (R2), as GitLab's CleanupUserAddOnAssignmentWorker does after Members::DestroyService.
"""

from __future__ import annotations

import datetime as dt
import re

import sqlalchemy as sa

from instance.gitlab_com.billable import group_subscription, is_billable_member
from instance.gitlab_com.provisioning import record_seat_usage
from instance.models import AccessLevel, AddOnPurchase, User, UserAddOnAssignment, db
from instance.namespace_models import Member, Namespace, Project
from webcore.errors import Refusal

ROLES = {
    "guest": AccessLevel.GUEST,
    "reporter": AccessLevel.REPORTER,
    "developer": AccessLevel.DEVELOPER,
    "maintainer": AccessLevel.MAINTAINER,
    "owner": AccessLevel.OWNER,
}
_PATH = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}")


class GroupError(Refusal, ValueError):
    """Bad input for a group, project or membership; the message is safe to show."""

    code = "invalid"


def role_level(role: str) -> int:
    level = ROLES.get(role.strip().lower())
    if level is None:
        raise GroupError(f"Unknown role {role[:40]!r}: one of {', '.join(ROLES)}.")
    return level


def _check_path(path: str) -> str:
    if not _PATH.fullmatch(path) or path.endswith((".git", ".atom")):
        raise GroupError("Path can contain only letters, digits, '_', '-' and '.'.")
    return path


def _check_free(full_path: str) -> None:
    taken = (
        db.session.execute(sa.select(Namespace.id).where(Namespace.full_path == full_path)).first()
        or db.session.execute(sa.select(Project.id).where(Project.full_path == full_path)).first()
    )
    if taken:
        raise GroupError("Path has already been taken", code="taken")


def create_group(
    name: str, path: str, now: dt.datetime, *, parent: Namespace | None = None
) -> Namespace:
    """A top-level group, or a subgroup of ``parent``."""
    if not name.strip():
        raise GroupError("Name can't be blank")
    path = _check_path(path)
    full_path = f"{parent.full_path}/{path}" if parent else path
    _check_free(full_path)
    group = db.inserted(
        Namespace(
            name=name.strip()[:255],
            path=path,
            full_path=full_path,
            parent_id=parent.id if parent else None,
            root_id=parent.root_id if parent else None,
            created_at=now,
        )
    )
    if parent is None:
        group.root_id = group.id  # a top-level group is its own root
        db.session.flush()
    return group


def path_from_name(name: str) -> str:
    """A free top-level path for a group named ``name``, as GitLab's group form makes one
    (lower case, characters a path can't hold as ``-``) and ``Namespace.clean_path`` keeps it
    free: a taken path gets a number (``acme``, ``acme1``, ``acme2``...)."""
    base = re.sub(r"[^a-z0-9_.-]", "-", name.strip().lower()).strip("-.")[:200] or "blank"
    if not base[0].isalnum() and base[0] != "_":
        base = f"_{base}"
    path, number = base, 0
    while _taken(path):
        number += 1
        path = f"{base}{number}"
    return path


def _taken(full_path: str) -> bool:
    try:
        _check_free(full_path)
    except GroupError:
        return True
    return False


def create_owned_group(owner: User, name: str, now: dt.datetime) -> Namespace:
    """A new top-level group named ``name`` (its path made from the name) with ``owner`` as its
    Owner: what a trial form's *Create group* makes (GitLab's ``Groups::CreateService``)."""
    if not name.strip():
        raise GroupError("Name can't be blank")
    group = create_group(name, path_from_name(name), now)
    add_member(group, owner, AccessLevel.OWNER, now)
    return group


def create_project(group: Namespace, name: str, path: str, now: dt.datetime) -> Project:
    if not name.strip():
        raise GroupError("Name can't be blank")
    full_path = f"{group.full_path}/{_check_path(path)}"
    _check_free(full_path)
    assert group.root_id is not None
    return db.inserted(
        Project(
            name=name.strip()[:255],
            path=path,
            full_path=full_path,
            namespace_id=group.id,
            root_id=group.root_id,
            created_at=now,
        )
    )


def find_group(full_path: str) -> Namespace | None:
    return db.find(Namespace, Namespace.full_path == full_path)


def find_project(full_path: str) -> Project | None:
    return db.find(Project, Project.full_path == full_path)


def _source_filter(source: Namespace | Project) -> sa.ColumnElement[bool]:
    if isinstance(source, Project):
        return Member.project_id == source.id
    return Member.namespace_id == source.id


def membership(source: Namespace | Project, user: User) -> Member | None:
    return db.find(Member, _source_filter(source), Member.user_id == user.id)


def add_member(
    source: Namespace | Project,
    user: User,
    access_level: int,
    now: dt.datetime,
    *,
    expires_at: dt.date | None = None,
) -> Member:
    """Add ``user`` to a group or project with a role (and an expiry date); an existing
    member's role changes. Seat usage is recorded at once (R31)."""
    if access_level not in ROLES.values():
        raise GroupError("Access level is not included in the list")
    member = membership(source, user)
    if member is None:
        root_id = source.root_id
        assert root_id is not None
        member = db.inserted(
            Member(
                user_id=user.id,
                namespace_id=source.id if isinstance(source, Namespace) else None,
                project_id=source.id if isinstance(source, Project) else None,
                root_id=root_id,
                access_level=access_level,
                created_at=now,
                expires_at=expires_at,
            )
        )
    else:
        member.access_level = access_level
        db.session.flush()
    record_usage(member.root_id)
    return member


def record_usage(root_id: int) -> None:
    """Seats in use now and the term's maximum, as the portal's next push reads them (R31)."""
    subscription = group_subscription(root_id)
    if subscription is not None:
        record_seat_usage(subscription)
        db.session.flush()


def remove_member(source: Namespace | Project, user: User) -> bool:
    """Remove ``user`` from a group or project; False if they were not a member. R2/R31: a
    user no longer billable in the top-level group afterwards loses their seats of its add-ons
    (see the module docstring); seat usage is recorded at once."""
    member = membership(source, user)
    if member is None:
        return False
    root_id = member.root_id
    db.session.delete(member)
    db.session.flush()
    if not is_billable_member(root_id, user):
        free_group_seats(root_id, user)
    record_usage(root_id)
    return True


def free_group_seats(root_id: int, user: User) -> None:
    """R2: take back ``user``'s seats of every add-on purchase of the top-level group."""
    db.session.execute(
        sa.delete(UserAddOnAssignment)
        .where(
            UserAddOnAssignment.user_id == user.id,
            UserAddOnAssignment.add_on_purchase_id.in_(
                sa.select(AddOnPurchase.id).where(AddOnPurchase.namespace_id == root_id)
            ),
        )
        .execution_options(synchronize_session=False)
    )
    db.session.expire_all()


def is_owner(group: Namespace, user: User) -> bool:
    """Owner of the top-level group ``group`` (or an administrator)."""
    if user.admin:
        return True
    member = membership(group, user)
    return member is not None and member.access_level == AccessLevel.OWNER
