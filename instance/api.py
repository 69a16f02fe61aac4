"""The instance's GitLab-compatible REST API (``/api/v4``): users and Code Suggestions.

Authentication is a personal access token in ``PRIVATE-TOKEN`` or ``Authorization: Bearer``, as in
GitLab (python-gitlab sends the former). Answers and errors follow GitLab's shapes closely enough
for python-gitlab: ``{"message": "404 User Not Found"}``, ``true`` for state actions, 201 on POST.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, current_app, g, request
from flask.typing import ResponseReturnValue

from instance import add_ons, users
from instance.models import AccessLevel, User, UserState, db
from instance.tokens import user_for_token
from protocol.clock import format_utc
from webcore.auth import PASSWORD_TOO_SHORT
from webcore.clock import app_clock
from webcore.errors import Refusal
from webcore.params import INT64_MAX, INT64_MIN, InvalidNumber, int_arg

blueprint = Blueprint("api_v4", __name__, url_prefix="/api/v4")

MAX_PER_PAGE = 100


class ApiError(Refusal):
    """A refused API request, answered in GitLab's shape: ``{"message": ...}`` with ``status``
    (the message is a text like ``"404 User Not Found"`` or, for invalid fields, an object), or
    ``{"error": ...}`` for a parameter that fails validation (Grape's shape:
    ``{"error": "per_page is invalid"}``)."""

    def __init__(
        self, status: int, message: Any, *, code: str | None = None, key: str = "message"
    ) -> None:
        super().__init__(message, status=status, code=code or f"http_{status}")
        self.key = key

    def json_body(self) -> dict[str, Any]:
        return {self.key: self.message}


def token_from_request() -> str | None:
    token = request.headers.get("PRIVATE-TOKEN")
    if token:
        return token.strip()
    authorization = request.headers.get("Authorization", "")
    scheme, _, value = authorization.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def api_user() -> User:
    """The token's user, or 401 (no, bad, expired or revoked token; inactive user)."""
    token = token_from_request()
    user = user_for_token(token, app_clock().now()) if token else None
    if user is None:
        raise ApiError(401, "401 Unauthorized")
    g.api_user = user
    return user


def api_admin() -> User:
    user = api_user()
    if not user.admin:
        raise ApiError(403, "403 Forbidden")
    return user


def _time(value: dt.datetime | None) -> str | None:
    return format_utc(value) if value else None


def user_json(user: User, *, full: bool) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": user.id,
        "username": user.username,
        "name": user.name,
        "state": user.state,
        "locked": False,
        "avatar_url": None,
        "web_url": f"{request.host_url.rstrip('/')}/{user.username}",
        "bot": user.bot_type is not None,
    }
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


def _page_args() -> tuple[int, int]:
    try:
        page = max(int_arg(request.args, "page", 1, minimum=INT64_MIN), 1)
        per_page = int_arg(request.args, "per_page", 20, minimum=INT64_MIN)
    except InvalidNumber as invalid:
        raise ApiError(400, str(invalid), key="error") from None
    # A page past what an offset can address is empty, as in GitLab.
    return min(page, INT64_MAX // MAX_PER_PAGE), min(max(per_page, 1), MAX_PER_PAGE)


@blueprint.get("/users")
def list_users() -> ResponseReturnValue:
    viewer = api_user()
    page, per_page = _page_args()
    query = sa.select(User).order_by(User.id.desc())
    if username := request.args.get("username"):
        query = query.where(sa.func.lower(User.username) == username.lower())
    if search := request.args.get("search"):
        pattern = f"%{search.lower()}%"
        query = query.where(
            sa.or_(
                sa.func.lower(User.username).like(pattern),
                sa.func.lower(User.name).like(pattern),
                sa.func.lower(User.email).like(pattern),
            )
        )
    for state in UserState.ALL:
        if request.args.get(state) == "true":
            query = query.where(User.state == state)
    total = db.session.execute(
        sa.select(sa.func.count()).select_from(query.subquery())
    ).scalar_one()
    found = db.session.execute(query.limit(per_page).offset((page - 1) * per_page)).scalars()
    body = [user_json(user, full=viewer.admin) for user in found]
    pages = max((total + per_page - 1) // per_page, 1)
    headers = {
        "X-Page": str(page),
        "X-Per-Page": str(per_page),
        "X-Total": str(total),
        "X-Total-Pages": str(pages),
        "X-Next-Page": str(page + 1) if page < pages else "",
        "X-Prev-Page": str(page - 1) if page > 1 else "",
    }
    if page < pages:
        url = request.base_url + f"?page={page + 1}&per_page={per_page}"
        headers["Link"] = f'<{url}>; rel="next"'
    return body, 200, headers


@blueprint.get("/users/<id:user_id>")
def get_user(user_id: int) -> ResponseReturnValue:
    viewer = api_user()
    return user_json(_user(user_id), full=viewer.admin or viewer.id == user_id)


@blueprint.get("/user")
def current_user_json() -> ResponseReturnValue:
    return user_json(api_user(), full=True)


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
    bot_type = "service_account" if data.get("service_account") in (True, "true") else None
    try:
        user = users.create_user(
            username=str(data["username"]),
            email=str(data["email"]),
            name=str(data["name"]),
            now=app_clock().now(),
            password=password,
            admin=data.get("admin") in (True, "true"),
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


def _state_change(
    user_id: int, allowed_from: tuple[str, ...], to: str, refusal: str
) -> ResponseReturnValue:
    api_admin()
    user = _user(user_id)
    if user.state == to:
        return "true", 201, {"Content-Type": "application/json"}
    if user.state not in allowed_from:
        raise ApiError(403, f"403 Forbidden - {refusal}")
    users.change_state(user, to)
    return "true", 201, {"Content-Type": "application/json"}


@blueprint.post("/users/<id:user_id>/block")
def block(user_id: int) -> ResponseReturnValue:
    return _state_change(
        user_id,
        (UserState.ACTIVE, UserState.DEACTIVATED),
        UserState.BLOCKED,
        "A banned user cannot be blocked",
    )


@blueprint.post("/users/<id:user_id>/unblock")
def unblock(user_id: int) -> ResponseReturnValue:
    return _state_change(
        user_id, (UserState.BLOCKED,), UserState.ACTIVE, "This user is not blocked"
    )


@blueprint.post("/users/<id:user_id>/ban")
def ban(user_id: int) -> ResponseReturnValue:
    return _state_change(
        user_id,
        (UserState.ACTIVE, UserState.BLOCKED, UserState.DEACTIVATED),
        UserState.BANNED,
        "You cannot ban this user",
    )


@blueprint.post("/users/<id:user_id>/unban")
def unban(user_id: int) -> ResponseReturnValue:
    return _state_change(
        user_id, (UserState.BANNED,), UserState.ACTIVE, "You cannot unban a user who is not banned"
    )


@blueprint.post("/users/<id:user_id>/deactivate")
def deactivate(user_id: int) -> ResponseReturnValue:
    return _state_change(
        user_id,
        (UserState.ACTIVE,),
        UserState.DEACTIVATED,
        "A blocked or banned user cannot be deactivated by the API",
    )


@blueprint.post("/users/<id:user_id>/activate")
def activate(user_id: int) -> ResponseReturnValue:
    return _state_change(
        user_id,
        (UserState.DEACTIVATED,),
        UserState.ACTIVE,
        "A blocked user must be unblocked to be activated",
    )


@blueprint.post("/code_suggestions/completions")
def code_suggestions() -> ResponseReturnValue:
    """200 for a user with a seat on an active add-on of a cloud-licensed instance, else 401
    (R1, R10, R17); a served request records the user's last use (R28 orders by it)."""
    user = api_user()
    now = app_clock().now()
    if not add_ons.user_has_duo_access(user, now, current_app.config["GITLAB_VERSION"]):
        raise ApiError(401, "401 Unauthorized")
    user.code_suggestions_last_used_at = now
    data = request.get_json(silent=True) or {}
    prefix = ""
    current_file = data.get("current_file") if isinstance(data, dict) else None
    if isinstance(current_file, dict) and isinstance(current_file.get("content_above_cursor"), str):
        prefix = current_file["content_above_cursor"][-200:]
    return {
        "id": f"id-{user.id}-{int(now.timestamp())}",
        "model": {"engine": "provlab", "name": "code-suggestions-replica", "lang": "python"},
        "object": "text_completion",
        "created": int(now.timestamp()),
        "choices": [
            {
                "text": "    pass\n" if prefix.endswith(":\n") else "\n",
                "index": 0,
                "finish_reason": "length",
            }
        ],
    }
