"""The Customers Portal pages GitLab.com links to for a group (GitLab's routes into the portal):
``/gitlab/namespaces/:id/extra_seats`` is where *Add seats* on a group's *Usage Quotas → GitLab
Duo* tab leads: the *Add seats* purchase of the group's subscription (R5: never more add-on
seats than the subscription's seats), for the customer who owns that subscription."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, redirect, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from portal.gitlab_com.models import NamespaceLink
from portal.models import Role, db
from webcore.auth import roles_required
from webcore.params import InvalidNumber, parse_int

blueprint = Blueprint("gitlab_com_pages", __name__, url_prefix="/gitlab/namespaces")


@blueprint.get("/<namespace_id>/extra_seats")
@roles_required(Role.CUSTOMER)
def extra_seats(namespace_id: str) -> ResponseReturnValue:
    # Not an <int:> route: whoever may not see the page learns so before any lookup.
    try:
        group_id = parse_int(namespace_id, minimum=1)
    except InvalidNumber:
        abort(404)
    link = db.session.execute(
        sa.select(NamespaceLink).where(NamespaceLink.namespace_id == group_id)
    ).scalar_one_or_none()
    if link is None or link.subscription.customer_id != current_user.id:
        abort(404)
    return redirect(url_for("customer.add_seats", name=link.subscription.name))
