"""GitLab's Groups API over the instance's groups (GitLab.com's top-level groups, subgroups and
projects): ``GET /groups``, ``GET /groups/:id``, ``GET /groups/:id/subgroups`` and
``GET /projects/:id``, with GitLab's filters, pagination headers and answers. ``:id`` is an id
or a URL-encoded full path (``acme%2Fplatform``), as python-gitlab sends it.

Groups and projects are private (``instance.gitlab_com.memberships``): one a user may not see
is answered as one that does not exist, ``404 Group Not Found`` / ``404 Project Not Found``.
Parameters are read as Grape reads them: ``{"error": "owned is invalid"}`` for a value of the
wrong type, ``{"error": "sort does not have a valid value"}`` for one outside its list.
"""

from __future__ import annotations

from typing import Any, TypeVar

import sqlalchemy as sa
from flask import request
from flask.typing import ResponseReturnValue

from instance.api import ApiError, api_user, blueprint
from instance.api_pages import paginate
from instance.api_params import bool_param, choice_param, int_list_param, int_param
from instance.gitlab_com.groups import ROLES
from instance.gitlab_com.memberships import (
    access_level,
    ancestor_paths,
    can_read,
    visible_groups,
)
from instance.models import User, db
from instance.namespace_models import Member, Namespace, Project
from protocol.clock import format_utc
from webcore.params import InvalidNumber, parse_int

T = TypeVar("T", Namespace, Project)
GROUP_ORDERS = {"name": Namespace.name, "path": Namespace.path, "id": Namespace.id}


# -- lookups --------------------------------------------------------------------------------------


def by_ref(model: type[T], ref: str) -> T | None:
    """By id when ``ref`` is all digits (as GitLab reads it), else by full path."""
    if ref.isascii() and ref.isdigit():
        try:
            return db.session.get(model, parse_int(ref, minimum=1))
        except InvalidNumber:
            return None
    path_column = sa.inspect(model).columns["full_path"]
    return db.find(model, path_column == ref[:1000])


def find_group(ref: str, viewer: User) -> Namespace:
    """``find_group!``: the group by id or full path, if ``viewer`` may see it."""
    group = by_ref(Namespace, ref)
    if group is None or not can_read(group, viewer):
        raise ApiError(404, "404 Group Not Found")
    return group


def find_project(ref: str, viewer: User) -> Project:
    project = by_ref(Project, ref)
    if project is None or not can_read(project, viewer):
        raise ApiError(404, "404 Project Not Found")
    return project


# -- answers --------------------------------------------------------------------------------------


def host() -> str:
    return request.host_url.rstrip("/")


def full_name(full_path: str) -> str:
    """GitLab's ``full_name``: the names from the top-level group down, joined by " / "."""
    paths = ancestor_paths(full_path)
    rows = db.session.execute(
        sa.select(Namespace.full_path, Namespace.name).where(Namespace.full_path.in_(paths))
    )
    names = {path: name for path, name in rows.tuples()}
    return " / ".join(names.get(path, path.rsplit("/", 1)[-1]) for path in paths)


def group_json(group: Namespace) -> dict[str, Any]:
    return {
        "id": group.id,
        "web_url": f"{host()}/groups/{group.full_path}",
        "name": group.name,
        "path": group.path,
        "description": "",
        "visibility": "private",
        "avatar_url": None,
        "full_name": full_name(group.full_path),
        "full_path": group.full_path,
        "created_at": format_utc(group.created_at),
        "parent_id": group.parent_id,
    }


def project_json(project: Project) -> dict[str, Any]:
    group = project.namespace
    return {
        "id": project.id,
        "description": None,
        "name": project.name,
        "name_with_namespace": f"{full_name(group.full_path)} / {project.name}",
        "path": project.path,
        "path_with_namespace": project.full_path,
        "created_at": format_utc(project.created_at),
        "web_url": f"{host()}/{project.full_path}",
        "avatar_url": None,
        "visibility": "private",
        "namespace": namespace_basic(group),
    }


def namespace_basic(group: Namespace) -> dict[str, Any]:
    """GitLab's ``NamespaceBasic`` entity: a project's ``namespace``, and what the namespaces
    API shows everyone (``api_namespaces`` adds the billing fields for an owner)."""
    return {
        "id": group.id,
        "name": group.name,
        "path": group.path,
        "kind": "group",
        "full_path": group.full_path,
        "parent_id": group.parent_id,
        "avatar_url": None,
        "web_url": f"{host()}/groups/{group.full_path}",
    }


# -- routes ---------------------------------------------------------------------------------------


def _listed_groups(query: sa.Select[tuple[Namespace]], viewer: User) -> ResponseReturnValue:
    """GET /groups' filters, order and pagination on ``query``."""
    args = request.args
    order = choice_param(args, "order_by", GROUP_ORDERS, "name")
    direction = choice_param(args, "sort", {"asc", "desc"}, "asc")
    if search := args.get("search", "").strip():
        pattern = f"%{search.lower()[:255]}%"
        query = query.where(
            sa.or_(sa.func.lower(Namespace.name).like(pattern), Namespace.path.ilike(pattern))
        )
    if skipped := int_list_param("skip_groups"):
        query = query.where(Namespace.id.not_in(skipped))
    bool_param(args, "all_available")  # every group here is private: nothing more to show
    if bool_param(args, "owned"):
        owned = sa.select(Member.namespace_id).where(
            Member.user_id == viewer.id, Member.access_level == ROLES["owner"]
        )
        query = query.where(Namespace.id.in_(owned))
    minimum = int_param(args, "min_access_level")
    if minimum is not None:
        if minimum not in ROLES.values():
            raise ApiError(400, "min_access_level does not have a valid value", key="error")
        # The viewer's own role, inherited from the groups above (an administrator's too).
        roots = sa.select(Member.root_id).where(Member.user_id == viewer.id)
        candidates = db.session.execute(sa.select(Namespace).where(Namespace.root_id.in_(roots)))
        query = query.where(
            Namespace.id.in_(
                [
                    group.id
                    for group in candidates.scalars()
                    if access_level(group, viewer, as_member=True) >= minimum
                ]
            )
        )
    column = GROUP_ORDERS[order]
    query = query.order_by(column.desc() if direction == "desc" else column.asc(), Namespace.id)
    found, headers = paginate(query)
    return [group_json(group) for group in found], 200, headers


@blueprint.get("/groups")
def list_groups() -> ResponseReturnValue:
    viewer = api_user()
    query = sa.select(Namespace).where(Namespace.id.in_(visible_groups(viewer)))
    if bool_param(request.args, "top_level_only"):
        query = query.where(Namespace.parent_id.is_(None))
    return _listed_groups(query, viewer)


@blueprint.get("/groups/<path:group_ref>")
def get_group(group_ref: str) -> ResponseReturnValue:
    viewer = api_user()
    group = find_group(group_ref, viewer)
    projects = db.session.execute(
        sa.select(Project).where(Project.namespace_id == group.id).order_by(Project.id)
    ).scalars()
    return group_json(group) | {
        "projects": [project_json(project) for project in projects],
        "shared_projects": [],
        "shared_with_groups": [],
    }


@blueprint.get("/groups/<path:group_ref>/subgroups")
def list_subgroups(group_ref: str) -> ResponseReturnValue:
    viewer = api_user()
    group = find_group(group_ref, viewer)
    query = sa.select(Namespace).where(
        Namespace.parent_id == group.id, Namespace.id.in_(visible_groups(viewer))
    )
    return _listed_groups(query, viewer)


PROJECT_ORDERS = {
    "id": Project.id,
    "name": Project.name,
    "path": Project.path,
    "created_at": Project.created_at,
}


@blueprint.get("/groups/<path:group_ref>/projects")
def list_group_projects(group_ref: str) -> ResponseReturnValue:
    """A group's projects (with ``include_subgroups``, those of the groups below it too), by
    creation, newest first, as GitLab lists them."""
    viewer = api_user()
    order = choice_param(request.args, "order_by", PROJECT_ORDERS, "created_at")
    direction = choice_param(request.args, "sort", {"asc", "desc"}, "desc")
    group = find_group(group_ref, viewer)
    where = Project.namespace_id == group.id
    if bool_param(request.args, "include_subgroups"):
        where = sa.or_(where, Project.full_path.startswith(f"{group.full_path}/", autoescape=True))
    query = sa.select(Project).where(where, Project.root_id == group.root_id)
    if search := request.args.get("search", "").strip():
        query = query.where(Project.name.ilike(f"%{search[:255]}%"))
    column = PROJECT_ORDERS[order]
    query = query.order_by(column.desc() if direction == "desc" else column.asc(), Project.id)
    found, headers = paginate(query)
    return [project_json(project) for project in found if can_read(project, viewer)], 200, headers


@blueprint.get("/projects/<path:project_ref>")
def get_project(project_ref: str) -> ResponseReturnValue:
    viewer = api_user()
    return project_json(find_project(project_ref, viewer))
