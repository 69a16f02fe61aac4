"""*Settings → Billing* of a top-level group on GitLab.com and the GitLab Duo Pro trial form
(``/-/trials/duo_pro``): complete the fields, pick the group if prompted, *Activate my trial*;
the trial applies at once and the owner lands on the group's GitLab Duo page (R25)."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from instance.gitlab_com.access import gitlab_com_only, owned_group
from instance.gitlab_com.provisioning import group_duo_purchase, group_subscription
from instance.gitlab_com.trials import (
    TrialForm,
    eligible_groups,
    ineligibility,
    start_duo_pro_trial,
)
from instance.models import db
from instance.namespace_models import Namespace
from webcore.clock import app_clock
from webcore.errors import Refusal, refusal_redirects
from webcore.params import InvalidNumber, parse_int

blueprint = Blueprint("gitlab_com_trials", __name__)

TRIAL_STARTED = (
    "You have successfully started a Duo Pro trial that will expire on {date}. To give members "
    "access to new GitLab Duo Pro features, assign them to GitLab Duo Pro seats."
)
FIELDS = ("first_name", "last_name", "company_name", "country")


blueprint.before_request(gitlab_com_only)


@blueprint.get("/groups/<path:full_path>/-/billings")
@login_required
def billing(full_path: str) -> ResponseReturnValue:
    group = owned_group(full_path)
    today = app_clock().now().date()
    return render_template(
        "groups/billing.html",
        group=group,
        subscription=group_subscription(group.id),
        purchase=group_duo_purchase(group.id),
        trial_refusal=ineligibility(group, current_user, today),
    )


@blueprint.get("/-/trials/duo_pro/new")
@login_required
def new_trial() -> ResponseReturnValue:
    today = app_clock().now().date()
    return render_template(
        "groups/duo_pro_trial.html",
        groups=eligible_groups(current_user, today),
        chosen=request.args.get("namespace_id", ""),
        user=current_user,
    )


@blueprint.post("/-/trials/duo_pro")
@login_required
def create_trial() -> ResponseReturnValue:
    try:
        namespace_id = parse_int(request.form.get("namespace_id", ""))
    except InvalidNumber:
        abort(400, "namespace_id must be a group id")
    group = db.session.get(Namespace, namespace_id)
    if group is None:
        abort(404)
    form = TrialForm(*(request.form.get(name, "").strip()[:255] for name in FIELDS))
    if not all((form.first_name, form.last_name, form.company_name, form.country)):
        raise Refusal("Complete the fields to start your trial.", code="invalid", status=400)
    # A refusal is shown on the trial form, which every signed-in user may see.
    with refusal_redirects(url_for("gitlab_com_trials.new_trial", namespace_id=group.id)):
        purchase = start_duo_pro_trial(
            current_app._get_current_object(),  # type: ignore[attr-defined]
            group,
            current_user._get_current_object(),
            form,
            app_clock().now(),
        )
    flash(TRIAL_STARTED.format(date=purchase.ends_on.strftime("%B %-d, %Y")), "success")
    return redirect(url_for("groups.settings", full_path=group.full_path))
