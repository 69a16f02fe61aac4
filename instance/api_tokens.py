"""Personal access tokens over REST, as GitLab answers them: ``GET/DELETE
/personal_access_tokens[/:id|/self]`` and ``POST /personal_access_tokens/:id|self/rotate`` for
the token's owner (all tokens for an administrator) and ``POST /users/:id/personal_access_tokens``
for administrators (python-gitlab's ``gl.personal_access_tokens``, ``token.rotate()`` and
``user.personal_access_tokens``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import g, request
from flask.typing import ResponseReturnValue

from instance.api import (
    ApiError,
    api_admin,
    api_user,
    blueprint,
    oauth_error,
    token_from_request,
)
from instance.api_pages import paginate
from instance.api_params import bool_param, choice_param, date_param, int_param, time_param
from instance.models import PersonalAccessToken, User, db
from instance.tokens import (
    TOKEN_REVOKED,
    Scope,
    TokenInvalid,
    find_token,
    is_active,
    is_expired,
    issue_token,
    revoke,
    revoke_token_family,
    rotate,
    tokens_of,
)
from protocol.clock import format_utc
from webcore.clock import app_clock
from webcore.errors import Refusal
from webcore.params import InvalidNumber, parse_int

READ_SCOPES = (Scope.API, Scope.READ_API)
# The list's time filters (Grape's ``DateTime``), each the condition it adds.
TIME_FILTERS: dict[str, Callable[[dt.datetime], sa.ColumnElement[bool]]] = {
    "created_after": lambda moment: PersonalAccessToken.created_at >= moment,
    "created_before": lambda moment: PersonalAccessToken.created_at <= moment,
    "last_used_after": lambda moment: sa.false(),  # no use is recorded: never used
    "last_used_before": lambda moment: sa.false(),
}
SELF_SCOPES = (Scope.API, Scope.READ_API, Scope.READ_USER)


def token_json(token: PersonalAccessToken, now: dt.datetime) -> dict[str, Any]:
    expires = token.expires_at
    return {
        "id": token.id,
        "name": token.name,
        "revoked": token.revoked,
        "created_at": format_utc(token.created_at),
        "description": None,
        "scopes": list(token.scopes),
        "user_id": token.user_id,
        "last_used_at": None,
        "active": is_active(token, now),
        # GitLab's expiry is a date: the token stops working when that day begins (UTC).
        "expires_at": expires.date().isoformat() if expires else None,
    }


def _visible(token_id: int, viewer: User) -> PersonalAccessToken:
    token = db.session.get(PersonalAccessToken, token_id)
    if token is None or (token.user_id != viewer.id and not viewer.admin):
        raise ApiError(404, "404 Not Found")
    return token


def _readable(token_id: str, viewer: User) -> PersonalAccessToken:
    """A token ``viewer`` may read or rotate: their own, or any for an administrator. GitLab
    tells only an administrator that a token does not exist (404); anyone else gets 401."""
    try:
        token = db.session.get(PersonalAccessToken, parse_int(token_id, minimum=1))
    except InvalidNumber:
        token = None
    if token is not None and (token.user_id == viewer.id or viewer.admin):
        return token
    raise ApiError(404, "404 Not found") if viewer.admin else ApiError(401, "401 Unauthorized")


def _token_id(value: str) -> int:
    try:
        return parse_int(value, minimum=1)
    except InvalidNumber:
        raise ApiError(404, "404 Not Found") from None


@blueprint.get("/personal_access_tokens")
def list_tokens() -> ResponseReturnValue:
    """GitLab's ``PersonalAccessTokensFinder`` over the viewer's tokens (an administrator's:
    everyone's, or ``user_id``'s). This instance records no last use, so a ``last_used_*``
    filter matches no token, as GitLab's matches no token never used."""
    viewer = api_user(READ_SCOPES)
    args = request.args
    user_id = int_param(args, "user_id")
    revoked = bool_param(args, "revoked")
    state = choice_param(args, "state", ("active", "inactive"), "")
    times = {name: time_param(args, name) for name in TIME_FILTERS}
    if user_id is not None and user_id != viewer.id and not viewer.admin:
        raise ApiError(401, "401 Unauthorized")
    if viewer.admin and user_id is not None and db.session.get(User, user_id) is None:
        raise ApiError(404, "404 Not found")
    now = app_clock().now()
    query = tokens_of(user_id if viewer.admin else viewer.id)
    if revoked is not None:
        query = query.where(PersonalAccessToken.revoked.is_(revoked))
    if state:
        active = sa.and_(
            PersonalAccessToken.revoked.is_(False),
            sa.or_(PersonalAccessToken.expires_at.is_(None), PersonalAccessToken.expires_at > now),
        )
        query = query.where(active if state == "active" else sa.not_(active))
    query = query.where(
        *(TIME_FILTERS[name](moment) for name, moment in times.items() if moment is not None)
    )
    if search := args.get("search"):
        query = query.where(sa.func.lower(PersonalAccessToken.name).contains(search.lower()))
    found, headers = paginate(query)
    return [token_json(token, now) for token in found], 200, headers


def _own_personal_token() -> PersonalAccessToken:
    """The request's personal access token; an OAuth access token is not one (404)."""
    token = g.api_token
    if not isinstance(token, PersonalAccessToken):
        raise ApiError(404, "404 Not Found")
    return token


@blueprint.get("/personal_access_tokens/self")
def get_own_token() -> ResponseReturnValue:
    api_user(SELF_SCOPES)
    return token_json(_own_personal_token(), app_clock().now())


@blueprint.get("/personal_access_tokens/<token_id>")
def get_token(token_id: str) -> ResponseReturnValue:
    viewer = api_user(READ_SCOPES)
    return token_json(_readable(token_id, viewer), app_clock().now())


@blueprint.delete("/personal_access_tokens/self")
def revoke_own_token() -> ResponseReturnValue:
    api_user((Scope.API,))
    revoke(_own_personal_token())
    return "", 204


@blueprint.delete("/personal_access_tokens/<token_id>")
def revoke_token(token_id: str) -> ResponseReturnValue:
    viewer = api_user((Scope.API,))
    token = _visible(_token_id(token_id), viewer)
    if token.revoked:
        raise ApiError(400, "400 Bad request - Token already revoked")
    revoke(token)
    return "", 204


def _payload() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if isinstance(data, dict):
        return data
    form: dict[str, Any] = request.form.to_dict()
    form["scopes"] = request.form.getlist("scopes[]") or request.form.getlist("scopes")
    return form


def _expiry(value: object) -> dt.date | None:
    if value in (None, ""):
        return None
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ApiError(400, "expires_at is invalid", key="error") from None


@blueprint.post("/users/<id:user_id>/personal_access_tokens")
def create_token_for_user(user_id: int) -> ResponseReturnValue:
    api_admin((Scope.API,))
    user = db.session.get(User, user_id)
    if user is None:
        raise ApiError(404, "404 User Not Found")
    data = _payload()
    name = data.get("name")
    scopes = data.get("scopes")
    if not isinstance(name, str) or not name.strip():
        raise ApiError(400, "name is missing", key="error")
    if isinstance(scopes, str):
        scopes = [scopes]
    if not isinstance(scopes, list) or not scopes:
        raise ApiError(400, "scopes is missing", key="error")
    now = app_clock().now()
    try:
        row, secret = issue_token(
            user, name, [str(s) for s in scopes], now, expires_on=_expiry(data.get("expires_at"))
        )
    except TokenInvalid as invalid:
        if invalid.field == "expires_at":
            raise ApiError(400, {"expires_at": [invalid.message]}) from None
        raise ApiError(400, invalid.message, key="error") from None
    return token_json(row, now) | {"token": secret}, 201


def _reuse_detected() -> ResponseReturnValue | None:
    """GitLab's automatic reuse detection, on its rotate endpoints only
    (``AuthFinders#revoke_token_family``): a personal access token presented to rotate after it
    was itself rotated (revoked, not expired) may be a stolen copy, so every token rotated from
    it is revoked too. The 401 is answered, not raised, so that revocation is kept."""
    secret = token_from_request()
    presented = find_token(secret) if secret else None
    now = app_clock().now()
    if presented is None or not presented.revoked or is_expired(presented, now):
        return None
    revoke_token_family(presented)
    refusal = oauth_error(401, "invalid_token", TOKEN_REVOKED)
    return refusal.json_body(), refusal.status, refusal.headers


def _rotated(token: PersonalAccessToken) -> ResponseReturnValue:
    """``rotate_token``: the new token with its secret (200), or 400 with the service's reason."""
    now = app_clock().now()
    expires_on = date_param(_payload() | request.args.to_dict(), "expires_at")
    try:
        row, secret = rotate(token, now, expires_on=expires_on)
    except TokenInvalid as invalid:
        raise ApiError(400, f"400 Bad request - Expires at {invalid.message}") from None
    except Refusal as refused:
        raise ApiError(400, f"400 Bad request - {refused.message}") from None
    return token_json(row, now) | {"token": secret}, 200


@blueprint.post("/personal_access_tokens/self/rotate")
def rotate_own_token() -> ResponseReturnValue:
    """Rotate the token the request is made with (GitLab 16.10 and later)."""
    if (reused := _reuse_detected()) is not None:
        return reused
    api_user((Scope.API,))
    return _rotated(_own_personal_token())


@blueprint.post("/personal_access_tokens/<token_id>/rotate")
def rotate_token(token_id: str) -> ResponseReturnValue:
    """Rotate one of the viewer's tokens (any user's for an administrator)."""
    if (reused := _reuse_detected()) is not None:
        return reused
    viewer = api_user((Scope.API,))
    return _rotated(_readable(token_id, viewer))
