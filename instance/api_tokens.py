"""Personal access tokens over REST, as GitLab answers them: ``GET/DELETE
/personal_access_tokens[/:id|/self]`` for the token's owner (all tokens for an administrator) and
``POST /users/:id/personal_access_tokens`` for administrators (python-gitlab's
``gl.personal_access_tokens`` and ``user.personal_access_tokens``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from flask import g, request
from flask.typing import ResponseReturnValue

from instance.api import ApiError, api_admin, api_user, blueprint, truthy
from instance.api_pages import paginate
from instance.models import PersonalAccessToken, User, db
from instance.tokens import (
    Scope,
    TokenInvalid,
    is_active,
    issue_token,
    revoke,
    tokens_of,
)
from protocol.clock import format_utc
from webcore.clock import app_clock
from webcore.params import InvalidNumber, parse_int

READ_SCOPES = (Scope.API, Scope.READ_API)
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


def _token_id(value: str) -> int:
    try:
        return parse_int(value, minimum=1)
    except InvalidNumber:
        raise ApiError(404, "404 Not Found") from None


@blueprint.get("/personal_access_tokens")
def list_tokens() -> ResponseReturnValue:
    viewer = api_user(READ_SCOPES)
    now = app_clock().now()
    query = tokens_of()
    user_id = request.args.get("user_id")
    if not viewer.admin:
        if user_id not in (None, str(viewer.id)):
            raise ApiError(401, "401 Unauthorized")
        query = tokens_of(viewer.id)
    elif user_id is not None:
        query = tokens_of(_token_id(user_id))
    if "revoked" in request.args:
        query = query.where(PersonalAccessToken.revoked.is_(truthy(request.args["revoked"])))
    state = request.args.get("state")
    if state in ("active", "inactive"):
        active = sa.and_(
            PersonalAccessToken.revoked.is_(False),
            sa.or_(PersonalAccessToken.expires_at.is_(None), PersonalAccessToken.expires_at > now),
        )
        query = query.where(active if state == "active" else sa.not_(active))
    if search := request.args.get("search"):
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
    return token_json(_visible(_token_id(token_id), viewer), app_clock().now())


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
