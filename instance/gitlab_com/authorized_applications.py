"""A user's *Applications* page on GitLab.com (User settings → Applications): the applications
they authorized to use their account — the Customers Portal, once its GitLab.com account is
linked — and *Revoke* for each, as GitLab has them:

- ``GET /-/user_settings/applications``: *Authorized applications* with their count, each with
  the time and scopes of its newest token;
- ``POST /oauth/authorized_applications/:id`` with ``_method=delete`` (Rails' ``DELETE``):
  revokes the application's tokens and codes for the user, then back to the page with *The
  application was revoked access.* The application's next call is refused (401) and its refresh
  token too (``invalid_grant``): the portal asks its customer to link the account again.

Differs from GitLab on purpose: an application the user has not authorized is a 404 with nothing
changed, where GitLab redirects with the same notice (this project answers bad input with a 4xx).
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from instance.gitlab_com.access import gitlab_com_only
from instance.gitlab_com.oauth import authorizations, revoke_authorization
from webcore.clock import app_clock

blueprint = Blueprint("authorized_applications", __name__)
blueprint.before_request(gitlab_com_only)

REVOKED = "The application was revoked access."  # Doorkeeper's flash, as GitLab words it


@blueprint.get("/-/user_settings/applications")
@login_required
def index() -> ResponseReturnValue:
    return render_template(
        "user_settings/applications.html", authorizations=authorizations(current_user)
    )


@blueprint.post("/oauth/authorized_applications/<id:application_id>")
@login_required
def revoke(application_id: int) -> ResponseReturnValue:
    # A form can only POST: Rails reads ``_method=delete`` as the DELETE its route is.
    if request.form.get("_method", "").lower() != "delete":
        abort(404)
    if not revoke_authorization(current_user, application_id, app_clock().now()):
        abort(404)
    flash(REVOKED, "success")
    return redirect(url_for("authorized_applications.index"))
