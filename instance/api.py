"""The instance's GitLab-compatible REST API (``/api/v4``): authentication, the answers every
endpoint shares, Code Suggestions, version and metadata. Users, tokens and the license are in
``api_users``, ``api_tokens`` and ``api_license``, which add their routes to ``blueprint``.

Authentication is a personal access token in ``PRIVATE-TOKEN``, the ``private_token`` query
parameter or any way an OAuth token is given, as in GitLab, or on GitLab.com an OAuth access token
(``instance.gitlab_com.oauth``) as Doorkeeper reads one for GitLab: the ``access_token``
parameter, ``Authorization: Bearer`` or the ``bearer_token`` parameter. It is checked in
GitLab's order, with GitLab's answers: no or unknown token 401 ``{"message": "401 Unauthorized"}``; a revoked or expired
token 401 ``{"error": "invalid_token", ...}``; a token without the scope the call needs 403
``{"error": "insufficient_scope", ...}``; a blocked, banned or deactivated user 403
``{"message": "403 Forbidden - Your account has been blocked."}``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import Blueprint, current_app, g, request
from flask.typing import ResponseReturnValue

from instance import add_ons
from instance.gitlab_com import is_gitlab_com
from instance.gitlab_com.duo import user_has_group_duo_access
from instance.gitlab_com.oauth import find_access_token
from instance.gitlab_com.oauth_models import OauthAccessToken
from instance.models import PersonalAccessToken, User, UserState
from instance.tokens import (
    TOKEN_EXPIRED,
    TOKEN_PREFIX,
    TOKEN_REVOKED,
    Scope,
    TokenRefused,
    authenticate,
)
from webcore.clock import app_clock
from webcore.errors import Refusal

blueprint = Blueprint("api_v4", __name__, url_prefix="/api/v4")

MAX_PER_PAGE = 100
# Rack::OAuth2's description of insufficient_scope, which GitLab answers with.
INSUFFICIENT_SCOPE = "The request requires higher privileges than provided by the access token."
# Gitlab::Auth::UserAccessDeniedReason's messages for a user who may not use the API.
ACCESS_DENIED: dict[str, str] = {
    UserState.BLOCKED: "Your account has been blocked.",
    UserState.BANNED: "Your account has been blocked.",
    UserState.DEACTIVATED: (
        "Your account has been deactivated by your administrator. Please log back in from a "
        "web browser to reactivate your account at {url}"
    ),
}
# Rails reads these as true (ActiveModel::Type::Boolean), so python-gitlab's True ("True") does.
TRUE_VALUES = {"1", "true", "t", "on", "yes", "y"}


class ApiError(Refusal):
    """A refused API request, answered in GitLab's shape: ``{"message": ...}`` with ``status``
    (the message is a text like ``"404 User Not Found"`` or, for invalid fields, an object), or
    ``{"error": ...}`` for a parameter that fails validation (Grape's shape:
    ``{"error": "per_page is invalid"}``); ``body`` replaces the whole answer (OAuth errors)."""

    def __init__(
        self,
        status: int,
        message: Any,
        *,
        code: str | None = None,
        key: str = "message",
        body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message, status=status, code=code or f"http_{status}")
        self.key = key
        self.body = body
        self.headers = headers or {}

    def json_body(self) -> dict[str, Any]:
        return self.body if self.body is not None else {self.key: self.message}


@blueprint.errorhandler(ApiError)
def _answer(error: ApiError) -> ResponseReturnValue:
    return error.json_body(), error.status, error.headers


def truthy(value: object) -> bool:
    return str(value).strip().lower() in TRUE_VALUES


def _private_token() -> str | None:
    """A personal access token the ways only a personal access token is given."""
    token = (request.headers.get("PRIVATE-TOKEN") or request.args.get("private_token", "")).strip()
    return token or None


def _oauth_token() -> str | None:
    """A token the ways Doorkeeper reads one, in GitLab's order (its ``access_token_methods``):
    the ``access_token`` parameter, ``Authorization: Bearer``, the ``bearer_token`` parameter.
    A personal access token may come these ways too."""
    scheme, _, bearer = request.headers.get("Authorization", "").partition(" ")
    for value in (
        request.values.get("access_token"),
        bearer if scheme.lower() == "bearer" else None,
        request.values.get("bearer_token"),
    ):
        if value and value.strip():
            return value.strip()
    return None


def token_from_request() -> str | None:
    return _private_token() or _oauth_token()


def oauth_error(status: int, error: str, description: str, **extra: str) -> ApiError:
    challenge = f'Bearer realm="", error="{error}", error_description="{description}"'
    return ApiError(
        status,
        description,
        code=error,
        body={"error": error, "error_description": description, **extra},
        headers={"WWW-Authenticate": challenge} if status == 401 else {},
    )


def required_scopes(*, read_user: bool = False) -> tuple[str, ...]:
    """What a call needs, as GitLab's API guard decides it: reads take ``read_api`` (or
    ``read_user`` on the user endpoints), anything else ``api``."""
    if request.method in ("GET", "HEAD"):
        return (
            (Scope.API, Scope.READ_API, Scope.READ_USER)
            if read_user
            else (Scope.API, Scope.READ_API)
        )
    return (Scope.API,)


def _oauth_access_token(secret: str) -> OauthAccessToken:
    """An OAuth application's access token (GitLab.com), refused with GitLab's texts."""
    # Given as a personal access token (PRIVATE-TOKEN), it is looked up as one only: unknown.
    oauth = _private_token() is None
    token = find_access_token(secret) if oauth and is_gitlab_com() else None
    if token is None:
        raise TokenRefused("401 Unauthorized", code="unknown")
    expires_at = token.expires_at()
    if expires_at is not None and expires_at <= app_clock().now():  # expiry first, as GitLab
        raise TokenRefused(TOKEN_EXPIRED, code="expired")
    if token.revoked_at is not None:
        raise TokenRefused(TOKEN_REVOKED, code="revoked")
    return token


def authenticated_token(
    scopes: Iterable[str] | None = None,
) -> PersonalAccessToken | OauthAccessToken:
    """The request's token, checked in GitLab's order (see the module docstring)."""
    secret = token_from_request()
    if not secret:
        raise ApiError(401, "401 Unauthorized")
    token: PersonalAccessToken | OauthAccessToken
    try:
        if secret.startswith(TOKEN_PREFIX):
            token = authenticate(secret, app_clock().now())
        else:
            token = _oauth_access_token(secret)
    except TokenRefused as refused:
        if refused.code == "unknown":
            raise ApiError(401, "401 Unauthorized") from None
        raise oauth_error(401, "invalid_token", refused.message) from None
    granted = token.scopes if isinstance(token, PersonalAccessToken) else token.scope_list
    needed = tuple(scopes) if scopes is not None else required_scopes()
    if not set(needed) & set(granted):
        raise oauth_error(403, "insufficient_scope", INSUFFICIENT_SCOPE, scope=" ".join(needed))
    denied = ACCESS_DENIED.get(token.user.state)
    if denied:
        url = request.host_url.rstrip("/")
        raise ApiError(403, f"403 Forbidden - {denied.format(url=url)}")
    g.api_token = token
    g.api_user = token.user
    return token


def api_user(scopes: Iterable[str] | None = None) -> User:
    return authenticated_token(scopes).user


def api_admin(scopes: Iterable[str] | None = None) -> User:
    user = api_user(scopes)
    if not user.admin:
        raise ApiError(403, "403 Forbidden")
    return user


@blueprint.get("/version")
def version() -> ResponseReturnValue:
    """``GET /version`` (python-gitlab's ``gl.version()``)."""
    api_user((Scope.API, Scope.READ_API, Scope.READ_USER))
    return {"version": current_app.config["GITLAB_VERSION"], "revision": "provlab"}


@blueprint.get("/metadata")
def metadata() -> ResponseReturnValue:
    """``GET /metadata``: the version, whether this is Enterprise Edition, and KAS (absent here)."""
    api_user((Scope.API, Scope.READ_API, Scope.READ_USER))
    version_text = current_app.config["GITLAB_VERSION"]
    return {
        "version": version_text,
        "revision": "provlab",
        "kas": {
            "enabled": False,
            "externalUrl": None,
            "externalK8sProxyUrl": None,
            "version": None,
        },
        "enterprise": version_text.endswith("-ee"),
    }


@blueprint.post("/code_suggestions/completions")
def code_suggestions() -> ResponseReturnValue:
    """200 for a user with a seat on an active add-on of a cloud-licensed instance, else 401
    (R1, R10, R17); a served request records the user's last use (R28 orders by it)."""
    # GitLab lets `api` or `ai_features` tokens call Code Suggestions.
    user = api_user((Scope.API, Scope.AI_FEATURES))
    now = app_clock().now()
    if is_gitlab_com():
        allowed = user_has_group_duo_access(user, now)  # a seat in any top-level group
    else:
        allowed = add_ons.user_has_duo_access(user, now, current_app.config["GITLAB_VERSION"])
    if not allowed:
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
