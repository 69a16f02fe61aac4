"""The GitLab Ultimate trial form on GitLab.com (``/-/trials/new``, GitLab's path), reached from
a Free group's *Settings → Billing* → *Start a free Ultimate trial*, in GitLab's two steps
(``GitlabSubscriptions::TrialsController``, ``Trials::CreateService``):

- ``lead``: complete the fields, *Continue*. When exactly one of the user's groups may have the
  trial, it is applied to that group now.
- ``trial`` (when several may): *Apply your trial to an existing group*, select it, *Activate my
  trial*. The group the owner came from (its Billing link names it) is chosen already.

GitLab also offers to create a new group for the trial on this step; this replica applies the
trial to existing groups only. The trial applies at once ("Congratulations, your free trial is
activated.") and the owner lands on the group, as GitLab does.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from instance.gitlab_com.access import gitlab_com_only
from instance.gitlab_com.trial_pages import TrialPage, fields_of, group_from, lead_fields
from instance.gitlab_com.trials import TrialError, TrialForm
from instance.gitlab_com.ultimate_trials import NO_GROUP, eligible_groups, start_ultimate_trial
from webcore.clock import app_clock
from webcore.countries import COUNTRIES
from webcore.errors import refusal_redirects

blueprint = Blueprint("gitlab_com_ultimate_trials", __name__)

TRIAL_ACTIVATED = "Congratulations, your free trial is activated."
LEAD, TRIAL = "lead", "trial"  # GitLab's step names
ULTIMATE_PAGE = TrialPage(
    "Start a Free Ultimate Trial",
    "Apply your trial to an existing group",
    "gitlab_com_ultimate_trials.create_trial",
    "No group can start a GitLab Ultimate trial",
    NO_GROUP,
)

blueprint.before_request(gitlab_com_only)


@blueprint.get("/-/trials/new")
@login_required
def new_trial() -> ResponseReturnValue:
    groups = eligible_groups(current_user, app_clock().now().date())
    chosen = request.args.get("namespace_id", "")
    if request.args.get("step") == TRIAL:
        return render_template(
            "groups/trial_namespace.html",
            trial=ULTIMATE_PAGE,
            groups=groups,
            chosen=chosen,
            fields=fields_of(request.args),
        )
    return render_template(
        "groups/trial_lead.html",
        trial=ULTIMATE_PAGE,
        groups=groups,
        chosen=chosen,
        user=current_user,
        countries=sorted(COUNTRIES.items(), key=lambda item: item[1]),
    )


@blueprint.post("/-/trials")
@login_required
def create_trial() -> ResponseReturnValue:
    step = request.form.get("step", TRIAL)
    if step not in (LEAD, TRIAL):
        abort(400, "step must be lead or trial")
    fields = lead_fields(request.form)
    chosen = request.form.get("namespace_id", "")
    back = url_for("gitlab_com_ultimate_trials.new_trial", namespace_id=chosen or None)
    if step == LEAD:
        groups = eligible_groups(current_user, app_clock().now().date())
        named = group_from(chosen) if chosen else None
        if named is None or named in groups:
            if len(groups) > 1:  # GitLab asks which group
                prompt: dict[str, Any] = {"step": TRIAL, "namespace_id": chosen, **fields}
                return redirect(url_for("gitlab_com_ultimate_trials.new_trial", **prompt))
            if not groups:
                with refusal_redirects(back):
                    raise TrialError(NO_GROUP)
            named = groups[0]
        group = named  # a group that may not have one: its refusal, said on the form
    else:
        group = group_from(chosen)
    with refusal_redirects(back):
        start_ultimate_trial(
            current_app._get_current_object(),  # type: ignore[attr-defined]
            group,
            current_user._get_current_object(),
            TrialForm(**fields),
            app_clock().now(),
        )
    flash(TRIAL_ACTIVATED, "success")
    return redirect(url_for("group_overview.show", full_path=group.full_path))
