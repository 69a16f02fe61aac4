"""GitLab's group and project members API, and GitLab.com's billable members API (R31), over
``instance.gitlab_com.memberships``: routes only (read the request, find the group or project,
call the operation, answer in GitLab's shape and words).

- ``GET/POST /groups/:id/members``, ``GET/PUT/DELETE /groups/:id/members/:user_id``,
  ``GET /groups/:id/members/all[/:user_id]`` (inherited, each user once with their highest
  role), and the same under ``/projects/:id``.
- ``GET /groups/:id/billable_members`` (top-level groups, their Owners), ``GET
  /groups/:id/billable_members/:user_id/memberships``, ``DELETE
  /groups/:id/billable_members/:user_id``. The set is ``billable.billable_members_query``, the
  one the Usage Quotas page and the portal's usage report read; this module only orders it.

Answers as GitLab's: a direct membership that does not exist is ``404 Not found``; an existing
member added again ``409 {"message": "Member already exists"}``; a caller without the right
``403 Forbidden``; an invalid field 400 ``{"message": {"access_level": ["is not included in the
list"]}}``; the billable members API refuses with 400 ``400 Bad request[ - reason]``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import request
from flask.typing import ResponseReturnValue

from instance.api import ApiError, api_user, blueprint
from instance.api_pages import paginate
from instance.api_params import bool_param, choice_param, date_param, int_list_param, int_param
from instance.api_users import user_basic, user_search
from instance.gitlab_com import memberships as ops
from instance.gitlab_com.api_groups import find_group, find_project, full_name, host
from instance.gitlab_com.billable import billable_members_query, highest_roles, is_billable_member
from instance.gitlab_com.groups import membership
from instance.models import AccessLevel, User, db
from instance.namespace_models import Member, Namespace, Project
from protocol.clock import format_utc
from webcore.clock import app_clock

NOT_FOUND = "404 Not found"
BAD_REQUEST = "400 Bad request"
# GitLab's member_sort_options; without ``sort`` the list is by user id.
BILLABLE_SORTS: dict[str, Callable[[Any], list[Any]]] = {
    "id_asc": lambda roles: [User.id.asc()],
    "access_level_asc": lambda roles: [roles.c.access_level.asc(), User.id],
    "access_level_desc": lambda roles: [roles.c.access_level.desc(), User.id],
    "last_joined": lambda roles: [User.created_at.desc(), User.id],
    "oldest_joined": lambda roles: [User.created_at.asc(), User.id],
    "name_asc": lambda roles: [User.name.asc(), User.id],
    "name_desc": lambda roles: [User.name.desc(), User.id],
    "oldest_sign_in": lambda roles: [User.last_sign_in_at.asc().nulls_first(), User.id],
    "recent_sign_in": lambda roles: [User.last_sign_in_at.desc().nulls_last(), User.id],
    "last_activity_on_asc": lambda roles: [User.last_sign_in_at.asc().nulls_first(), User.id],
    "last_activity_on_desc": lambda roles: [User.last_sign_in_at.desc().nulls_last(), User.id],
}


def _refused(refusal: ops.MembershipRefused, *, billable: bool = False) -> ApiError:
    if billable:
        return ApiError(400, f"{BAD_REQUEST} - {refusal.message}")
    if refusal.code == ops.FORBIDDEN:
        return ApiError(403, "403 Forbidden")
    return ApiError(400, {refusal.field or "base": [refusal.message]})


def _source(kind: str, ref: str, viewer: User) -> Namespace | Project:
    return find_group(ref, viewer) if kind == "groups" else find_project(ref, viewer)


def _members_route(rule: str, methods: list[str]) -> Callable[[Callable[..., Any]], Any]:
    """Register a view for groups and for projects (``kind`` tells which)."""

    def register(view: Callable[..., Any]) -> Callable[..., Any]:
        for kind in ("groups", "projects"):
            blueprint.add_url_rule(
                f"/{kind}/<path:source_ref>{rule}",
                endpoint=f"{kind}_{view.__name__}",
                view_func=view,
                methods=methods,
                defaults={"kind": kind},
            )
        return view

    return register


def _payload() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if isinstance(data, dict):
        return data
    return request.form.to_dict()


# -- answers --------------------------------------------------------------------------------------


def member_json(member: Member, *, seat_info: bool = False) -> dict[str, Any]:
    data = user_basic(member.user) | {
        "access_level": member.access_level,
        "created_at": format_utc(member.created_at),
        "expires_at": member.expires_at.isoformat() if member.expires_at else None,
        "membership_state": "active",
    }
    if member.namespace_id is not None:
        data["group_saml_identity"] = None
    if seat_info:  # GitLab.com's ``show_seat_info``: R31 for this member
        data["is_using_seat"] = is_billable_member(member.root_id, member.user)
    return data


def _members_of(source: Namespace | Project, *, inherited: bool) -> sa.Select[tuple[Member]]:
    group = source.namespace if isinstance(source, Project) else source
    own = Member.project_id == source.id if isinstance(source, Project) else None
    if not inherited:
        return sa.select(Member).where(own if own is not None else Member.namespace_id == source.id)
    above = Member.namespace_id.in_(
        sa.select(Namespace.id).where(Namespace.full_path.in_(ops.ancestor_paths(group.full_path)))
    )
    where = sa.or_(above, own) if own is not None else above
    # Each user once, with their highest role (GitLab's "effective permission").
    rank = (
        sa.func.row_number()
        .over(partition_by=Member.user_id, order_by=(Member.access_level.desc(), Member.id))
        .label("rank")
    )
    ranked = sa.select(Member.id, rank).where(where).subquery()
    return sa.select(Member).where(Member.id.in_(sa.select(ranked.c.id).where(ranked.c.rank == 1)))


def _filtered(query: sa.Select[tuple[Member]]) -> sa.Select[tuple[Member]]:
    query = query.join(User, User.id == Member.user_id)
    if search := request.args.get("query", "").strip():
        pattern = f"%{search.lower()[:255]}%"
        query = query.where(
            sa.or_(
                sa.func.lower(User.name).like(pattern),
                sa.func.lower(User.username).like(pattern),
                sa.func.lower(User.email) == search.lower(),
            )
        )
    if ids := int_list_param("user_ids"):
        query = query.where(Member.user_id.in_(ids))
    return query.order_by(Member.id)


# -- members --------------------------------------------------------------------------------------


def _member_list(kind: str, source_ref: str, *, inherited: bool) -> ResponseReturnValue:
    """A page of the source's members, filtered as asked; ``inherited``: with those of the
    groups above it, each user once with their highest role."""
    seat_info = bool(bool_param(request.args, "show_seat_info"))
    source = _source(kind, source_ref, api_user())
    found, headers = paginate(_filtered(_members_of(source, inherited=inherited)))
    return [member_json(member, seat_info=seat_info) for member in found], 200, headers


@_members_route("/members", ["GET"])
def list_members(kind: str, source_ref: str) -> ResponseReturnValue:
    return _member_list(kind, source_ref, inherited=False)


@_members_route("/members/all", ["GET"])
def list_all_members(kind: str, source_ref: str) -> ResponseReturnValue:
    return _member_list(kind, source_ref, inherited=True)


def _member(source: Namespace | Project, user_id: int, *, inherited: bool = False) -> Member:
    query = _members_of(source, inherited=inherited).where(Member.user_id == user_id)
    member = db.session.execute(query).scalar_one_or_none()
    if member is None:
        raise ApiError(404, NOT_FOUND)
    return member


@_members_route("/members/<id:user_id>", ["GET"])
def get_member(kind: str, source_ref: str, user_id: int) -> ResponseReturnValue:
    source = _source(kind, source_ref, api_user())
    return member_json(_member(source, user_id))


@_members_route("/members/all/<id:user_id>", ["GET"])
def get_any_member(kind: str, source_ref: str, user_id: int) -> ResponseReturnValue:
    source = _source(kind, source_ref, api_user())
    return member_json(_member(source, user_id, inherited=True))


def _new_member_fields(data: dict[str, Any]) -> tuple[int, int | None, str | None]:
    """access_level, user_id, username, with Grape's messages for what is missing."""
    errors = []
    if data.get("access_level") in (None, ""):
        errors.append("access_level is missing")
    has_id, has_name = data.get("user_id") not in (None, ""), data.get("username") not in (None, "")
    if not has_id and not has_name:
        errors.append("user_id, username are missing, exactly one parameter must be provided")
    elif has_id and has_name:
        errors.append("user_id, username are mutually exclusive")
    if errors:
        raise ApiError(400, ", ".join(errors), key="error")
    level = int_param(data, "access_level", required=True)
    assert level is not None
    user_id = int_param(data, "user_id") if has_id else None
    return level, user_id, str(data["username"])[:255] if has_name else None


@_members_route("/members", ["POST"])
def add_member(kind: str, source_ref: str) -> ResponseReturnValue:
    viewer = api_user()
    data = _payload()
    level, user_id, username = _new_member_fields(data)
    expires_at = date_param(data, "expires_at")
    source = _source(kind, source_ref, viewer)
    if not ops.can_admin_members(source, viewer):
        raise ApiError(403, "403 Forbidden")
    if username is not None:
        user = db.find(User, sa.func.lower(User.username) == username.lower())
    else:
        user = db.session.get(User, user_id) if user_id and 0 < user_id < 2**63 else None
    if user is None:
        raise ApiError(404, "404 User Not Found")
    if membership(source, user) is not None:
        raise ApiError(409, "Member already exists")
    try:
        member = ops.add_membership(
            source, user, level, expires_at, by=viewer, now=app_clock().now()
        )
    except ops.MembershipRefused as refusal:
        raise _refused(refusal) from None
    return member_json(member), 201


@_members_route("/members/<id:user_id>", ["PUT"])
def update_member(kind: str, source_ref: str, user_id: int) -> ResponseReturnValue:
    viewer = api_user()
    data = _payload()
    level = int_param(data, "access_level", required=True)
    assert level is not None
    expires_at = date_param(data, "expires_at")
    source = _source(kind, source_ref, viewer)
    if not ops.can_admin_members(source, viewer):
        raise ApiError(403, "403 Forbidden")
    member = _member(source, user_id)
    try:
        ops.update_membership(
            source,
            member,
            level,
            expires_at,
            change_expiry="expires_at" in data,
            by=viewer,
            now=app_clock().now(),
        )
    except ops.MembershipRefused as refusal:
        raise _refused(refusal) from None
    return member_json(member)


@_members_route("/members/<id:user_id>", ["DELETE"])
def delete_member(kind: str, source_ref: str, user_id: int) -> ResponseReturnValue:
    viewer = api_user()
    skip = bool(
        bool_param(request.args, "skip_subresources") or bool_param(_payload(), "skip_subresources")
    )
    member = _member(_source(kind, source_ref, viewer), user_id)
    try:
        ops.destroy_membership(member, by=viewer, skip_subresources=skip)
    except ops.MembershipRefused as refusal:
        raise _refused(refusal) from None
    return "", 204


# -- billable members (R31) -----------------------------------------------------------------------


def _billable_group(group_ref: str, viewer: User) -> Namespace:
    group = find_group(group_ref, viewer)
    if not group.is_root or not ops.can_admin_members(group, viewer):
        raise ApiError(400, BAD_REQUEST)
    return group


def billable_member_json(
    user: User, group_member_ids: set[int], owners: list[int]
) -> dict[str, Any]:
    signed_in = user.last_sign_in_at
    return user_basic(user) | {
        # GitLab records activity on sign-in among other things; sign-in is what this replica
        # records, so it is the last activity reported.
        "last_activity_on": signed_in.date().isoformat() if signed_in else None,
        "membership_type": "group_member" if user.id in group_member_ids else "project_member",
        "removable": True,
        "created_at": format_utc(user.created_at),
        "is_last_owner": owners == [user.id],
        "last_login_at": format_utc(signed_in) if signed_in else None,
    }


@blueprint.get("/groups/<path:group_ref>/billable_members")
def list_billable_members(group_ref: str) -> ResponseReturnValue:
    """R31: the top-level group's billable members (``billable.billable_members_query``)."""
    viewer = api_user()
    sort = choice_param(request.args, "sort", set(BILLABLE_SORTS) - {"id_asc"}, "id_asc")
    group = _billable_group(group_ref, viewer)
    roles = highest_roles(group.id)
    query = billable_members_query(group.id).join(roles, roles.c.user_id == User.id)
    if search := request.args.get("search", "").strip():
        query = query.where(user_search(search.lower()[:255]))
    found, headers = paginate(query.order_by(None).order_by(*BILLABLE_SORTS[sort](roles)))
    group_member_ids = set(
        db.session.execute(
            sa.select(Member.user_id).where(
                Member.root_id == group.id,
                Member.namespace_id.is_not(None),
                Member.user_id.in_([user.id for user in found]),
            )
        ).scalars()
    )
    owners = list(
        db.session.execute(
            sa.select(Member.user_id).where(
                Member.namespace_id == group.id, Member.access_level == AccessLevel.OWNER
            )
        ).scalars()
    )
    body = [billable_member_json(user, group_member_ids, owners) for user in found]
    return body, 200, headers


@blueprint.get("/groups/<path:group_ref>/billable_members/<id:user_id>/memberships")
def list_billable_memberships(group_ref: str, user_id: int) -> ResponseReturnValue:
    """A billable member's direct memberships in the top-level group's hierarchy (R31)."""
    viewer = api_user()
    group = _billable_group(group_ref, viewer)
    user = db.session.get(User, user_id)
    if user is None:
        raise ApiError(404, NOT_FOUND)
    if not is_billable_member(group.id, user):
        raise ApiError(404, "404 User Not Found")
    query = (
        sa.select(Member)
        .where(Member.root_id == group.id, Member.user_id == user.id)
        .order_by(Member.id)
    )
    found, headers = paginate(query)
    return [_billable_membership_json(member) for member in found], 200, headers


def _billable_membership_json(member: Member) -> dict[str, Any]:
    if member.project_id is not None:
        project = db.session.get(Project, member.project_id)
        assert project is not None
        name = f"{full_name(project.namespace.full_path)} / {project.name}"
        url = f"{host()}/{project.full_path}/-/project_members"
    else:
        group = db.session.get(Namespace, member.namespace_id)
        assert group is not None
        name, url = full_name(group.full_path), f"{host()}/groups/{group.full_path}/-/group_members"
    return {
        "id": member.id,
        "source_id": member.project_id or member.namespace_id,
        "source_full_name": name,
        "source_members_url": url,
        "created_at": format_utc(member.created_at),
        "expires_at": member.expires_at.isoformat() if member.expires_at else None,
        "access_level": {
            "string_value": AccessLevel.NAMES[member.access_level],
            "integer_value": member.access_level,
        },
    }


@blueprint.delete("/groups/<path:group_ref>/billable_members/<id:user_id>")
def delete_billable_member(group_ref: str, user_id: int) -> ResponseReturnValue:
    """The user leaves the top-level group, its subgroups and projects (R31; R2 through
    ``groups.remove_member``)."""
    viewer = api_user()
    group = find_group(group_ref, viewer)
    try:
        ops.remove_billable_member(group, user_id, by=viewer)
    except ops.MembershipRefused as refusal:
        raise _refused(refusal, billable=True) from None
    return "", 204
