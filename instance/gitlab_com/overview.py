"""Finding a group on GitLab.com: the sidebar's *Search or go to* and a group's overview page.

Every GitLab.com path of the documents starts "On the left sidebar, select **Search or go to**
and find your group", then goes through the group's own sidebar (*Settings → GitLab Duo*,
*Usage Quotas*, *Billing*, shown to the group's owners only). Rules:
- Search lists the groups of the hierarchies the signed-in user is a member of (GitLab's
  groups are private here: nobody else sees them).
- A group's overview answers 404 to anyone outside its top-level group's hierarchy, as GitLab
  answers for a private group.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, Flask, abort, render_template
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from instance.gitlab_com import is_gitlab_com
from instance.gitlab_com.billable import group_subscription
from instance.gitlab_com.groups import find_group, is_owner
from instance.models import User, db
from instance.namespace_models import Member, Namespace, Project

blueprint = Blueprint("group_overview", __name__, url_prefix="/groups")

SEARCH_LIMIT = 100


@blueprint.before_request
def _gitlab_com_only() -> None:
    if not is_gitlab_com():
        abort(404)


def _root_ids(user: User) -> sa.Select[tuple[int]]:
    return sa.select(Member.root_id).where(Member.user_id == user.id)


def search_groups() -> list[Namespace]:
    """The groups *Search or go to* offers the signed-in user, top-level groups first."""
    if not is_gitlab_com() or not current_user.is_authenticated:
        return []
    query = sa.select(Namespace).order_by(Namespace.parent_id.is_not(None), Namespace.full_path)
    if not current_user.admin:
        query = query.where(Namespace.root_id.in_(_root_ids(current_user)))
    return list(db.session.execute(query.limit(SEARCH_LIMIT)).scalars())


def can_see(group: Namespace, user: User) -> bool:
    if user.admin:
        return True
    return (
        db.session.execute(_root_ids(user).where(Member.root_id == group.root_id).limit(1)).first()
        is not None
    )


def group_sidebar(group: Namespace) -> dict[str, object]:
    """What a group page's sidebar needs: the top-level group, and whether its Settings show."""
    root = group if group.is_root else db.session.get(Namespace, group.root_id)
    assert root is not None
    return {"root": root, "owner": is_owner(root, current_user)}


@blueprint.get("/<path:full_path>")
@login_required
def show(full_path: str) -> ResponseReturnValue:
    group = find_group(full_path)
    if group is None or not can_see(group, current_user):
        abort(404)
    subgroups = db.session.execute(
        sa.select(Namespace).where(Namespace.parent_id == group.id).order_by(Namespace.name)
    ).scalars()
    projects = db.session.execute(
        sa.select(Project).where(Project.namespace_id == group.id).order_by(Project.name)
    ).scalars()
    sidebar = group_sidebar(group)
    root = sidebar["root"]
    assert isinstance(root, Namespace)
    return render_template(
        "groups/show.html",
        group=group,
        subgroups=list(subgroups),
        projects=list(projects),
        subscription=group_subscription(root.id),
        **sidebar,
    )


def init_app(app: Flask) -> None:
    """Every page's sidebar may offer *Search or go to* (GitLab.com only)."""
    app.jinja_env.globals["search_groups"] = search_groups
    app.jinja_env.globals["on_gitlab_com"] = is_gitlab_com
