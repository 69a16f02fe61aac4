"""*Settings → Billing* of a top-level group on GitLab.com and the GitLab Duo Pro trial form
(``/-/trials/duo_pro``, seeds/000 "On GitLab.com"), in GitLab's two steps
(``instance.gitlab_com.trial_form``). The trial applies at once and the owner lands on the
group's *Settings → GitLab Duo* (R25)."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from instance.gitlab_com.access import gitlab_com_only, owned_group
from instance.gitlab_com.billable import group_subscription
from instance.gitlab_com.overview import group_sidebar
from instance.gitlab_com.provisioning import group_duo_purchase
from instance.gitlab_com.trial_form import Started, TrialPage, serve
from instance.gitlab_com.trials import DUO_PRO_TRIAL, NOT_ELIGIBLE, TrialError, ineligibility
from instance.gitlab_com.ultimate_trials import ineligibility as ultimate_ineligibility
from webcore.clock import app_clock

blueprint = Blueprint("gitlab_com_trials", __name__)
blueprint.before_request(gitlab_com_only)

TRIAL_STARTED = (
    "You have successfully started a Duo Pro trial that will expire on {date}. To give members "
    "access to new GitLab Duo Pro features, assign them to GitLab Duo Pro seats."
)
DUO_PRO_PAGE = TrialPage(
    title="Start your free GitLab Duo Pro trial",
    namespace_title="Apply your GitLab Duo Pro trial to an existing group",
    blueprint=blueprint.name,
    nobody_title="No group can start a GitLab Duo Pro trial",
    nobody_text="You must be an owner of a top-level group that has an active paid subscription "
    "or Ultimate trial, and no GitLab Duo add-on or trial yet.",
    trial=DUO_PRO_TRIAL,
    no_group=lambda: TrialError(NOT_ELIGIBLE, rule="R25"),
)


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
        # GitLab shows *Start a free Ultimate trial* to a Free group that never had one.
        ultimate_trial_open=ultimate_ineligibility(group, current_user, today) is None,
        # A Free group's *Upgrade* links name the group, as GitLab.com's do.
        upgrade_url=str(current_app.config["PORTAL_URL"]).rstrip("/") + "/subscriptions/new",
        **group_sidebar(group),
    )


def _trial_started(started: Started) -> ResponseReturnValue:
    flash(TRIAL_STARTED.format(date=started.result.ends_on.strftime("%B %-d, %Y")), "success")
    return redirect(url_for("groups.settings", full_path=started.group.full_path))


serve(blueprint, "/-/trials/duo_pro", DUO_PRO_PAGE, _trial_started)
