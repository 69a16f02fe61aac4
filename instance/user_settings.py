"""A user's *Access tokens* page (GitLab: User settings → Access tokens), for every signed-in
user: create a token (name, scopes, expiry; the secret shown once) and revoke one."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from instance.models import PersonalAccessToken, db
from instance.tokens import MAX_LIFETIME_DAYS, Scope, TokenInvalid, is_active, issue_token, revoke
from webcore.clock import app_clock
from webcore.headers import shows_secret

blueprint = Blueprint("user_settings", __name__, url_prefix="/-/user_settings")
PAGE = "user_settings/personal_access_tokens.html"


def _page(status: int = 200, **extra: object) -> ResponseReturnValue:
    now = app_clock().now()
    mine = db.session.execute(
        sa.select(PersonalAccessToken)
        .where(PersonalAccessToken.user_id == current_user.id)
        .order_by(PersonalAccessToken.id.desc())
    ).scalars()
    today = now.date()
    return (
        render_template(
            PAGE,
            active=[token for token in mine if is_active(token, now)],
            scopes=Scope.LABELS,
            default_expiry=(today + dt.timedelta(days=30)).isoformat(),
            min_expiry=(today + dt.timedelta(days=1)).isoformat(),
            max_expiry=(today + dt.timedelta(days=MAX_LIFETIME_DAYS)).isoformat(),
            **extra,
        ),
        status,
    )


@blueprint.get("/personal_access_tokens")
@login_required
def tokens() -> ResponseReturnValue:
    return _page()


@blueprint.post("/personal_access_tokens")
@shows_secret  # the new token, shown once
@login_required
def create_token() -> ResponseReturnValue:
    name = request.form.get("name", "")
    expires_text = request.form.get("expires_at", "").strip()
    try:
        expires_on = dt.date.fromisoformat(expires_text) if expires_text else None
    except ValueError:
        return _page(422, error="Expiration date is invalid.", form_name=name)
    try:
        _, secret = issue_token(
            current_user,
            name,
            request.form.getlist("scopes"),
            app_clock().now(),
            expires_on=expires_on,
        )
    except TokenInvalid as invalid:
        message = "Select at least one scope." if invalid.field == "scopes" else invalid.message
        if invalid.field == "expires_at":
            message = f"Expiration date {invalid.message}."
        return _page(422, error=message, form_name=name)
    # The secret is rendered in this answer only: never stored, never put in a redirect.
    return _page(201, new_token=secret)


@blueprint.post("/personal_access_tokens/<id:token_id>/revoke")
@login_required
def revoke_token(token_id: int) -> ResponseReturnValue:
    token = db.session.get(PersonalAccessToken, token_id)
    if token is None or token.user_id != current_user.id:
        abort(404)
    revoke(token)
    flash(f"Revoked personal access token {token.name}!", "success")
    return redirect(url_for("user_settings.tokens"))
