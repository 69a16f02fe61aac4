"""The instance's GitLab-compatible REST API (``/api/v4``): users and Code Suggestions.

Authentication is a personal access token in ``PRIVATE-TOKEN`` or ``Authorization: Bearer``, as in
GitLab (python-gitlab sends the former). Answers and errors follow GitLab's shapes closely enough
for python-gitlab: ``{"message": "404 User Not Found"}``, ``true`` for state actions, 201 on POST.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, g, request
from flask.typing import ResponseReturnValue

from instance import add_ons
from instance.models import User
from instance.tokens import user_for_token
from webcore.clock import app_clock
from webcore.errors import Refusal

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
