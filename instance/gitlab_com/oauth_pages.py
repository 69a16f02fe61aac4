"""GitLab.com's OAuth 2 endpoints (Doorkeeper's routes): ``GET /oauth/authorize`` (sign in, then
the *Authorize <application>* consent page, or straight back with a code for an application
the user authorized before), ``POST /oauth/authorize`` (Authorize; with
``_method=delete``, Deny, as Rails' ``DELETE /oauth/authorize``) and ``POST /oauth/token``.
The rules and errors are ``instance.gitlab_com.oauth``'s; this module reads the request and
answers: an error on the client or redirect URI is shown on the page (400), any other is sent
back to the redirect URI with ``error``, ``error_description`` and ``state``; the token endpoint
answers JSON (``{"error": ..., "error_description": ...}``, 400 or 401) with ``no-store``."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from instance.gitlab_com.access import gitlab_com_only
from instance.gitlab_com.oauth import (
    OAuthError,
    RedirectableError,
    already_authorized,
    authenticate_client,
    exchange_code,
    issue_code,
    pre_authorize,
    refresh_token,
)
from instance.tokens import Scope
from webcore.clock import app_clock
from webcore.transaction import commit_this_get

blueprint = Blueprint("oauth", __name__, url_prefix="/oauth")
token_blueprint = Blueprint("oauth_token", __name__, url_prefix="/oauth")  # no CSRF: a client's
blueprint.before_request(gitlab_com_only)
token_blueprint.before_request(gitlab_com_only)

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
MAX_PARAM = 2000
PARAMS = (
    "client_id",
    "redirect_uri",
    "response_type",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
)


def _params(source: dict[str, str] | None = None) -> dict[str, str]:
    values = source if source is not None else request.values
    return {name: str(values.get(name, ""))[:MAX_PARAM] for name in PARAMS}


def _back_to_client(
    redirect_uri: str, answer: dict[str, str], state: str | None
) -> ResponseReturnValue:
    if state is not None:
        answer = {**answer, "state": state}
    separator = "&" if "?" in redirect_uri else "?"
    return redirect(f"{redirect_uri}{separator}{urlencode(answer)}")


def _error_page(error: OAuthError) -> ResponseReturnValue:
    return render_template("doorkeeper/error.html", error=error), 400


@blueprint.route("/authorize", methods=["GET", "POST"])
def authorize() -> ResponseReturnValue:
    if not current_user.is_authenticated:
        # Sign in first, then back to the same request (GitLab's authenticate_user!).
        return redirect(url_for("auth.sign_in", next=request.full_path))
    deny = request.method == "POST" and request.form.get("_method", "").lower() == "delete"
    try:
        pre = pre_authorize(_params())
    except OAuthError as error:
        return _error_page(error)
    except RedirectableError as refused:
        return _back_to_client(refused.redirect_uri, refused.error.body(), refused.state)
    if request.method != "POST" and not already_authorized(pre, current_user):
        return render_template("doorkeeper/authorize.html", pre=pre, scope_labels=Scope.LABELS)
    if deny:
        return _back_to_client(pre.redirect_uri, OAuthError("access_denied").body(), pre.state)
    if request.method != "POST":
        commit_this_get()  # authorized before: Doorkeeper issues the code on the GET
    code = issue_code(pre, current_user, app_clock().now())
    return _back_to_client(pre.redirect_uri, {"code": code}, pre.state)


def _client_credentials() -> tuple[str | None, str | None]:
    """``client_id``/``client_secret`` in the body, or HTTP Basic (both are Doorkeeper's)."""
    auth = request.authorization
    if auth is not None and auth.type == "basic" and auth.username:
        return auth.username, auth.password
    return request.form.get("client_id"), request.form.get("client_secret")


@token_blueprint.post("/token")
def token() -> ResponseReturnValue:
    params = {key: str(value)[:MAX_PARAM] for key, value in request.form.items()}
    grant_type = params.get("grant_type", "")
    now = app_clock().now()
    try:
        if not grant_type:
            raise OAuthError("invalid_request", "Missing required parameter: grant_type.")
        if grant_type not in ("authorization_code", "refresh_token"):
            raise OAuthError("unsupported_grant_type")
        if grant_type == "authorization_code":
            issued = exchange_code(authenticate_client(*_client_credentials()), params, now)
        else:  # Doorkeeper reads the refresh token before the client (see refresh_token)
            issued = refresh_token(params, _client_credentials(), now)
    except OAuthError as error:
        headers = dict(NO_STORE)
        if error.status == 401:
            headers["WWW-Authenticate"] = (
                f'Bearer realm="Doorkeeper", error="{error.error}", '
                f'error_description="{error.description}"'
            )
        return error.body(), error.status, headers
    return issued.body(), 200, NO_STORE
