"""Linking a portal account to a GitLab.com account (*Link a GitLab.com account* / *Change the
linked account* on the *GitLab SaaS* tab), as the real portal does it, "Sign in with GitLab.com":

- ``POST /customers/auth/gitlab``: the portal remembers a fresh ``state`` and PKCE verifier in
  the session and sends the customer to GitLab.com's ``/oauth/authorize``.
- ``GET /customers/auth/gitlab/callback``: GitLab.com's answer. The state must be the one this
  session sent (else nothing is written); the code is exchanged for a token, the user read, and
  the link stored (or replaced: *Change the linked account*). A GitLab.com account linked to
  another portal account is refused, with the real portal's wording.
- ``POST /customers/gitlab_account/unlink``: forget the link and its tokens.
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from flask import Blueprint, current_app, flash, redirect, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from portal.errors import Refused
from portal.gitlab_com.models import GitlabComIdentity
from portal.gitlab_com.oauth_client import (
    CALLBACK_PATH,
    GitLabComUnavailable,
    authorize_url,
    exchange_code,
    gitlab_user,
    is_configured,
    seal,
)
from portal.models import Role, db
from webcore.auth import roles_required, safe_next
from webcore.clock import app_clock
from webcore.errors import refusal_redirects
from webcore.transaction import commits_on_get

blueprint = Blueprint("gitlab_com_account", __name__)

PENDING = "gitlab_com_oauth"  # the session's state, PKCE verifier and where to return
TAKEN = "This GitLab.com account has already been linked to another Customers Portal account"


def linked_identity(account_id: int) -> GitlabComIdentity | None:
    return db.find(GitlabComIdentity, GitlabComIdentity.account_id == account_id)


def _saas_tab() -> str:
    return url_for("customer.index", tab="gitlab_saas")


@blueprint.post("/customers/auth/gitlab")
@roles_required(Role.CUSTOMER)
def link() -> ResponseReturnValue:
    with refusal_redirects(_saas_tab()):
        if not is_configured(current_app):
            raise Refused(
                "Linking a GitLab.com account is not configured on this portal.",
                code="gitlab_com_oauth_not_configured",
            )
    state, verifier = secrets.token_urlsafe(24), secrets.token_urlsafe(48)
    back = safe_next(request.form.get("next")) or _saas_tab()
    session[PENDING] = {"state": state, "verifier": verifier, "next": back}
    return redirect(authorize_url(current_app, state, verifier))


@blueprint.get(CALLBACK_PATH)
@roles_required(Role.CUSTOMER)
@commits_on_get  # GitLab.com redirects here: the protocol's GET, guarded by the state
def callback() -> ResponseReturnValue:
    pending = session.pop(PENDING, None)
    back = pending.get("next") if isinstance(pending, dict) else None
    args = request.args
    with refusal_redirects(back or _saas_tab()):
        if not isinstance(pending, dict) or not secrets.compare_digest(
            str(pending.get("state", "")), args.get("state", "")
        ):
            raise Refused(
                "The GitLab.com sign-in did not come from this session. Try linking again.",
                code="oauth_state_mismatch",
                status=400,
            )
        if args.get("error"):
            raise Refused(
                "Your GitLab.com account was not linked: the authorization was denied.",
                code="oauth_access_denied",
                status=400,
            )
        code = args.get("code", "")
        if not code:
            raise Refused("GitLab.com did not send a code.", code="oauth_no_code", status=400)
        try:
            tokens = exchange_code(current_app, code[:200], str(pending["verifier"]))
            user_id, username = gitlab_user(current_app, tokens.access_token)
        except GitLabComUnavailable as failed:
            raise Refused(
                f"Your GitLab.com account could not be linked: {failed}",
                code="gitlab_com_unavailable",
                status=502,
            ) from None
        _store(user_id, username, tokens.access_token, tokens.refresh_token)
    flash(f"Your GitLab.com account @{username} is linked.", "success")
    return redirect(back or _saas_tab())


def _store(user_id: int, username: str, access: str, refresh: str | None) -> None:
    elsewhere = db.session.execute(
        sa.select(GitlabComIdentity.id).where(
            GitlabComIdentity.gitlab_user_id == user_id,
            GitlabComIdentity.account_id != current_user.id,
        )
    ).first()
    if elsewhere:
        raise Refused(TAKEN, code="gitlab_com_account_taken", status=409)
    identity = linked_identity(current_user.id)
    if identity is None:
        identity = GitlabComIdentity(account_id=current_user.id)
        db.session.add(identity)
    identity.gitlab_user_id, identity.gitlab_username = user_id, username
    identity.access_token_sealed = seal(current_app, access)
    identity.refresh_token_sealed = seal(current_app, refresh) if refresh else None
    identity.linked_at = app_clock().now()
    db.session.flush()


@blueprint.post("/customers/gitlab_account/unlink")
@roles_required(Role.CUSTOMER)
def unlink() -> ResponseReturnValue:
    identity = linked_identity(current_user.id)
    if identity is not None:
        db.session.delete(identity)
        db.session.flush()
        flash("Your GitLab.com account is no longer linked.", "success")
    return redirect(_saas_tab())
