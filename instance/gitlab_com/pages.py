"""A top-level group's GitLab Duo pages on GitLab.com: *Settings → GitLab Duo* (a toggle per
member) and *Settings → Usage Quotas → GitLab Duo* (checkboxes, select all, *Assign seat* /
*Remove seat* with confirmation). Routes only: load the group, check the signed-in user owns it,
call ``instance.add_ons`` on the group's purchase (its rules and errors: R2, R26, R27), answer.
Other users get 404, as GitLab answers for a group they may not administer."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required

from instance import add_ons
from instance.agile_planning import agile_planning_purchase
from instance.gitlab_com.access import gitlab_com_only, owned_group
from instance.gitlab_com.billable import group_subscription
from instance.gitlab_com.duo import group_eligible_users_query
from instance.gitlab_com.overview import group_sidebar
from instance.gitlab_com.provisioning import group_duo_purchase
from instance.models import AddOnPurchase, User, UserAddOnAssignment, db
from instance.namespace_models import Namespace
from protocol.license import AddOnTier
from webcore.clock import app_clock
from webcore.errors import refusal_redirects
from webcore.params import InvalidNumber, parse_int

blueprint = Blueprint("groups", __name__, url_prefix="/groups")

USAGE_QUOTAS = "usage_quotas"
SETTINGS = "settings"
DUO_TAB = "code-suggestions-usage-tab"  # GitLab's id of the Usage Quotas tab


blueprint.before_request(gitlab_com_only)


def _rows(group: Namespace, purchase: AddOnPurchase | None) -> list[tuple[User, bool]]:
    query = group_eligible_users_query(group.id, request.args.get("search", "").strip())
    if purchase is None:
        return [(user, False) for user in db.session.execute(query).scalars()]
    query = query.outerjoin(
        UserAddOnAssignment,
        sa.and_(
            UserAddOnAssignment.user_id == User.id,
            UserAddOnAssignment.add_on_purchase_id == purchase.id,
        ),
    ).add_columns(UserAddOnAssignment.id)
    return [(user, found is not None) for user, found in db.session.execute(query.limit(500))]


def _page(full_path: str, view: str) -> ResponseReturnValue:
    group = owned_group(full_path)
    purchase = group_duo_purchase(group.id)
    agile_planning = agile_planning_purchase(group.id)
    today = app_clock().now().date()
    portal_url = str(current_app.config["PORTAL_URL"]).rstrip("/")
    return render_template(
        "groups/gitlab_duo.html",
        group=group,
        view=view,
        subscription=group_subscription(group.id),
        purchase=purchase,
        tier_label=AddOnTier(purchase.tier).label if purchase else None,
        active=purchase.is_active_on(today) if purchase else False,
        used=add_ons.assigned_count(purchase) if purchase else 0,
        rows=_rows(group, purchase),
        add_seats_url=f"{portal_url}/gitlab/namespaces/{group.id}/extra_seats",
        # R6: the group's Enterprise Agile Planning seats, a purchase beside Duo's.
        agile_planning=agile_planning,
        agile_planning_used=add_ons.assigned_count(agile_planning) if agile_planning else 0,
        today=today,
        **group_sidebar(group),
    )


@blueprint.get("/<path:full_path>/-/usage_quotas")
@login_required
def usage_quotas(full_path: str) -> ResponseReturnValue:
    return _page(full_path, USAGE_QUOTAS)


@blueprint.get("/<path:full_path>/-/settings/gitlab_duo")
@login_required
def settings(full_path: str) -> ResponseReturnValue:
    return _page(full_path, SETTINGS)


@blueprint.post("/<path:full_path>/-/usage_quotas/gitlab_duo/seats")
@login_required
def change_seats(full_path: str) -> ResponseReturnValue:
    """The toggle (one user) and the bulk *Assign seat* / *Remove seat* (R2, R26, R27)."""
    group = owned_group(full_path)
    purchase = group_duo_purchase(group.id)
    action = request.form.get("action")
    view = request.form.get("view", USAGE_QUOTAS)
    if purchase is None or action not in ("assign", "remove"):
        abort(400, "unknown action or no GitLab Duo purchase")
    try:
        ids = [parse_int(value) for value in request.form.getlist("user_ids")]
    except InvalidNumber:
        abort(400, "user_ids must be user ids")
    if view == SETTINGS:
        back = url_for("groups.settings", full_path=full_path)
    else:  # back to the tab the owner was on
        back = url_for("groups.usage_quotas", full_path=full_path, _anchor=DUO_TAB)
    now = app_clock().now()
    with refusal_redirects(back):
        if len(ids) == 1:
            user = db.session.get(User, ids[0]) or abort(400, "unknown user")
            if action == "assign":
                add_ons.assign_seat(purchase.id, user, now)
            else:
                add_ons.remove_seat(purchase.id, user)
        elif action == "assign":
            add_ons.bulk_assign(purchase.id, ids, now)
        else:
            add_ons.bulk_remove(purchase.id, ids)
    if request.accept_mimetypes.best == "application/json":
        return {"success": True}
    noun = "user" if len(ids) == 1 else "users"
    done = "assigned a seat" if action == "assign" else "removed from their seat"
    flash(f"{len(ids)} {noun} {done}.", "success")
    return redirect(back)
