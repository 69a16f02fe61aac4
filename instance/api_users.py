"""The users API (``/api/v4/users``, ``/api/v4/user``) as GitLab answers it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import request
from flask.typing import ResponseReturnValue

from instance import users
from instance.api import ApiError, api_admin, api_user, blueprint, required_scopes, truthy
from instance.api_pages import paginate
from instance.api_params import bool_param, choice_param, time_param
from instance.models import AccessLevel, User, UserState, db
from protocol.clock import format_utc
from webcore.auth import PASSWORD_TOO_SHORT
from webcore.clock import app_clock
from webcore.errors import Refusal


def _time(value: dt.datetime | None) -> str | None:
    return format_utc(value) if value else None


def user_basic(user: User) -> dict[str, Any]:
    """GitLab's ``UserBasic`` entity: what every API that names a user (users, members,
    billable members) shows of them."""
    return {
        "id": user.id,
        "username": user.username,
        "name": user.name,
        "state": user.state,
        "locked": False,
        "avatar_url": None,
        "web_url": f"{request.host_url.rstrip('/')}/{user.username}",
    }


def user_search(text: str) -> sa.ColumnElement[bool]:
    """A user whose username, name or email holds ``text``, in any case: the ``search`` of the
    users and billable members APIs."""
    pattern = f"%{text.lower()}%"
    return sa.or_(
        sa.func.lower(User.username).like(pattern),
        sa.func.lower(User.name).like(pattern),
        sa.func.lower(User.email).like(pattern),
    )


def search_rank(text: str) -> sa.ColumnElement[int]:
    """GitLab's order for a search (``User.search``): the user whose username, then name, is
    the text exactly, then the others."""
    text = text.lower()
    return sa.case(
        (sa.func.lower(User.username) == text, 1), (sa.func.lower(User.name) == text, 2), else_=3
    )


def user_json(user: User, *, full: bool) -> dict[str, Any]:
    data = user_basic(user) | {"bot": user.bot_type is not None}
    if full:
        data.update(
            email=user.email,
            is_admin=user.admin,
            created_at=_time(user.created_at),
            last_sign_in_at=_time(user.last_sign_in_at),
            using_license_seat=users.is_billable(user, users.current_plan()),
            highest_role=user.highest_access_level,
        )
    return data


def _user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise ApiError(404, "404 User Not Found")
    return user


# GET /users' order_by values (Grape's list) and the column each orders by. This instance keeps
# no update time on a user, so updated_at orders as created_at does.
USER_ORDERS = {
    "id": User.id,
    "name": User.name,
    "username": User.username,
    "created_at": User.created_at,
    "updated_at": User.created_at,
}
# Users GitLab leaves out of a non-administrator's list (``User::FORBIDDEN_SEARCH_STATES``).
HIDDEN_FROM_NON_ADMINS = (UserState.BLOCKED, UserState.BANNED)
HUMAN = User.bot_type.is_(None)
# GitLab's non-internal user types: humans, service accounts and project bots.
NON_INTERNAL = sa.or_(HUMAN, User.bot_type.not_in(users.INTERNAL_BOT_TYPES))
# ``UsersFinder``'s Boolean filters, each the condition it adds when true (``external``: this
# instance has no external users).
USER_FILTERS: dict[str, sa.ColumnElement[bool]] = {
    "active": sa.and_(User.state == UserState.ACTIVE, NON_INTERNAL),
    "exclude_active": User.state != UserState.ACTIVE,
    "blocked": User.state == UserState.BLOCKED,
    "humans": HUMAN,
    "exclude_humans": sa.not_(HUMAN),
    "external": sa.false(),
    "exclude_external": sa.true(),
    "exclude_internal": NON_INTERNAL,
    "without_project_bots": sa.true(),  # no project bots here
}


@blueprint.get("/users")
def list_users() -> ResponseReturnValue:
    """``GET /users`` with GitLab's filters (``UsersFinder``): ``admins`` and the creation
    times only for an administrator (the others' values checked all the same); a search
    without an order puts exact matches first."""
    viewer = api_user(required_scopes(read_user=True))
    args = request.args
    chosen = {name: bool_param(args, name) for name in (*USER_FILTERS, "admins")}
    bool_param(args, "without_projects")
    order_by = choice_param(args, "order_by", USER_ORDERS, "id")
    direction = choice_param(args, "sort", ("asc", "desc"), "desc")
    created_after, created_before = (
        time_param(args, "created_after"),
        time_param(args, "created_before"),
    )
    query = sa.select(User)
    if not viewer.admin:
        query = query.where(User.state.not_in(HIDDEN_FROM_NON_ADMINS))
    if username := args.get("username"):
        query = query.where(sa.func.lower(User.username) == username.lower())
    if search := args.get("search"):
        query = query.where(user_search(search))
    query = query.where(*(condition for name, condition in USER_FILTERS.items() if chosen[name]))
    if viewer.admin:
        if chosen["admins"]:
            query = query.where(User.admin.is_(True))
        if created_after is not None:
            query = query.where(User.created_at >= created_after)
        if created_before is not None:
            query = query.where(User.created_at <= created_before)
    if args.get("order_by") or args.get("sort"):
        columns = [USER_ORDERS[order_by], User.id]  # the id breaks ties, in the same direction
        query = query.order_by(*(c.asc() if direction == "asc" else c.desc() for c in columns))
    elif search:
        query = query.order_by(search_rank(search), User.name, User.id)
    else:
        query = query.order_by(User.id.desc())
    found, headers = paginate(query)
    return [user_json(user, full=viewer.admin) for user in found], 200, headers


@blueprint.get("/users/<id:user_id>")
def get_user(user_id: int) -> ResponseReturnValue:
    viewer = api_user(required_scopes(read_user=True))
    return user_json(_user(user_id), full=viewer.admin or viewer.id == user_id)


@blueprint.get("/user")
def current_user_json() -> ResponseReturnValue:
    return user_json(api_user(required_scopes(read_user=True)), full=True)


def _payload() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if isinstance(data, dict):
        return data
    return request.form.to_dict()


@blueprint.post("/users")
def create_user() -> ResponseReturnValue:
    api_admin()
    data = _payload()
    missing = [
        name for name in ("email", "username", "name") if not str(data.get(name, "")).strip()
    ]
    if missing:
        raise ApiError(400, f"400 Bad request - {', '.join(missing)} is missing")
    password = data.get("password")
    bot_type = "service_account" if truthy(data.get("service_account")) else None
    try:
        user = users.create_user(
            username=str(data["username"]),
            email=str(data["email"]),
            name=str(data["name"]),
            now=app_clock().now(),
            password=password,
            admin=truthy(data.get("admin")),
            bot_type=bot_type,
            highest_access_level=AccessLevel.NONE,
        )
    except Refusal as exc:
        # GitLab: 400 with the field's errors for a short password, 409 for a taken username or
        # email, 400 for other invalid fields.
        if exc.code == PASSWORD_TOO_SHORT:
            raise ApiError(400, {"password": ["is too short (minimum is 8 characters)"]}) from None
        raise ApiError(409 if exc.code == users.TAKEN else 400, exc.message) from None
    return user_json(user, full=True), 201


@dataclass(frozen=True)
class StateChange:
    """One of GitLab's user state actions: the states it applies from, the state it sets, and
    GitLab's refusal from any other (setting the state a user is in already succeeds)."""

    allowed_from: tuple[str, ...]
    to: str
    refusal: str


STATE_CHANGES = {
    "block": StateChange(
        (UserState.ACTIVE, UserState.DEACTIVATED),
        UserState.BLOCKED,
        "A banned user cannot be blocked",
    ),
    "unblock": StateChange((UserState.BLOCKED,), UserState.ACTIVE, "This user is not blocked"),
    "ban": StateChange(
        (UserState.ACTIVE, UserState.BLOCKED, UserState.DEACTIVATED),
        UserState.BANNED,
        "You cannot ban this user",
    ),
    "unban": StateChange(
        (UserState.BANNED,), UserState.ACTIVE, "You cannot unban a user who is not banned"
    ),
    "deactivate": StateChange(
        (UserState.ACTIVE,),
        UserState.DEACTIVATED,
        "A blocked or banned user cannot be deactivated by the API",
    ),
    "activate": StateChange(
        (UserState.DEACTIVATED,),
        UserState.ACTIVE,
        "A blocked user must be unblocked to be activated",
    ),
}


@blueprint.post(f"/users/<id:user_id>/<any({', '.join(STATE_CHANGES)}):action>")
def change_state(user_id: int, action: str) -> ResponseReturnValue:
    """``POST /users/:id/block`` (unblock, ban, unban, deactivate, activate)."""
    change = STATE_CHANGES[action]
    api_admin()
    user = _user(user_id)
    if user.state == change.to:
        return "true", 201, {"Content-Type": "application/json"}
    if user.state not in change.allowed_from:
        raise ApiError(403, f"403 Forbidden - {change.refusal}")
    users.change_state(user, change.to)
    return "true", 201, {"Content-Type": "application/json"}
