"""GitLab's Namespaces API on GitLab.com: ``GET /namespaces`` and ``GET /namespaces/:id``
(lib/api/namespaces.rb, EE's entity), authenticated like the rest of the API (a personal access
token, or an OAuth access token as ``Authorization: Bearer``).

- A user's namespaces are the groups they are a direct member of (``User#namespaces``);
  ``owned_only`` keeps those where that membership is Owner (``owned_groups``), ``top_level_only``
  the top-level ones, ``search`` matches the name or path (with ``full_path_search``, the full
  path). An administrator lists every group. Personal namespaces are not modelled here.
- The billing fields (``billable_members_count``, ``plan``, ``end_date``, ``trial_ends_on``,
  ``trial``, seats) are shown only to who may administer the namespace (an Owner of its
  top-level group, or an administrator), as EE's ``Namespace`` entity does.
- ``:id`` is an id or a URL-encoded full path; a namespace the user may not read is
  ``404 Namespace Not Found``.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import request
from flask.typing import ResponseReturnValue

from instance.api import ApiError, api_user, blueprint
from instance.api_pages import paginate
from instance.api_params import bool_param
from instance.gitlab_com.api_groups import by_ref, namespace_basic
from instance.gitlab_com.billable import billable_member_count, group_subscription
from instance.gitlab_com.groups import is_owner
from instance.gitlab_com.memberships import can_read
from instance.models import AccessLevel, User, db
from instance.namespace_models import Member, Namespace, Project


def _billing(group: Namespace) -> dict[str, Any]:
    root = group.root_id or group.id
    subscription = group_subscription(root)
    return {
        "billable_members_count": billable_member_count(root),
        "max_seats_used": subscription.max_seats_used if subscription else 0,
        "seats_in_use": subscription.seats_in_use if subscription else 0,
        "plan": subscription.plan_code if subscription else "free",
        "end_date": subscription.end_date.isoformat() if subscription else None,
        "trial_ends_on": (
            subscription.trial_ends_on.isoformat()
            if subscription and subscription.trial_ends_on
            else None
        ),
        "trial": bool(subscription and subscription.trial),
    }


def _may_administer(group: Namespace, viewer: User) -> bool:
    root = group if group.is_root else db.session.get(Namespace, group.root_id)
    return root is not None and is_owner(root, viewer)


def namespace_json(group: Namespace, viewer: User) -> dict[str, Any]:
    answer = namespace_basic(group)
    if _may_administer(group, viewer):
        answer["members_count_with_descendants"] = db.session.execute(
            sa.select(sa.func.count(sa.distinct(Member.user_id))).where(
                Member.namespace_id.in_(
                    sa.select(Namespace.id).where(
                        sa.or_(
                            Namespace.id == group.id,
                            Namespace.full_path.startswith(f"{group.full_path}/", autoescape=True),
                        )
                    )
                )
            )
        ).scalar_one()
        answer["root_repository_size"] = 0
        answer["projects_count"] = db.session.execute(
            sa.select(sa.func.count(Project.id)).where(Project.namespace_id == group.id)
        ).scalar_one()
        answer |= _billing(group)
    return answer


@blueprint.get("/namespaces")
def list_namespaces() -> ResponseReturnValue:
    viewer = api_user()
    args = request.args
    owned_only = bool_param(args, "owned_only")
    top_level_only = bool_param(args, "top_level_only")
    full_path_search = bool_param(args, "full_path_search")
    query = sa.select(Namespace)
    if not viewer.admin:
        memberships = sa.select(Member.namespace_id).where(
            Member.user_id == viewer.id, Member.namespace_id.is_not(None)
        )
        if owned_only:
            memberships = memberships.where(Member.access_level == AccessLevel.OWNER)
        query = query.where(Namespace.id.in_(memberships))
    elif owned_only:
        owned = sa.select(Member.namespace_id).where(
            Member.user_id == viewer.id, Member.access_level == AccessLevel.OWNER
        )
        query = query.where(Namespace.id.in_(owned))
    if top_level_only:
        query = query.where(Namespace.parent_id.is_(None))
    if search := args.get("search", "").strip():
        pattern = f"%{search.lower()[:255]}%"
        if full_path_search:
            query = query.where(sa.func.lower(Namespace.full_path).like(pattern))
        else:
            query = query.where(
                sa.or_(sa.func.lower(Namespace.name).like(pattern), Namespace.path.ilike(pattern))
            )
    found, headers = paginate(query.order_by(Namespace.id))
    return [namespace_json(group, viewer) for group in found], 200, headers


@blueprint.get("/namespaces/<path:namespace_ref>")
def get_namespace(namespace_ref: str) -> ResponseReturnValue:
    viewer = api_user()
    group = by_ref(Namespace, namespace_ref)
    if group is None or not can_read(group, viewer):
        raise ApiError(404, "404 Namespace Not Found")
    return namespace_json(group, viewer)
