"""*Settings → Billing* of a top-level group on GitLab.com and the GitLab Duo Pro trial form
(``/-/trials/duo_pro``), in GitLab's two steps (seeds/000 "On GitLab.com"):

- ``lead``: complete the fields, *Continue*. When exactly one of the user's groups may have the
  trial, it is applied to that group now, as GitLab does.
- ``trial`` (the prompt, when several groups may): select the group, *Activate my trial*. The
  group the owner came from (its Billing page's link names it) is chosen already.

The trial applies at once and the owner lands on the group's *Settings → GitLab Duo* (R25).
A request naming no step is the ``trial`` step, complete with the fields."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from werkzeug.datastructures import MultiDict

from instance.gitlab_com.access import gitlab_com_only, owned_group
from instance.gitlab_com.overview import group_sidebar
from instance.gitlab_com.provisioning import group_duo_purchase, group_subscription
from instance.gitlab_com.trials import (
    NOT_ELIGIBLE,
    TrialError,
    TrialForm,
    eligible_groups,
    ineligibility,
    start_duo_pro_trial,
)
from instance.gitlab_com.ultimate_trials import ineligibility as ultimate_ineligibility
from instance.models import db
from instance.namespace_models import Namespace
from webcore.clock import app_clock
from webcore.countries import COUNTRIES
from webcore.errors import Refusal, refusal_redirects
from webcore.params import InvalidNumber, parse_int

blueprint = Blueprint("gitlab_com_trials", __name__)

TRIAL_STARTED = (
    "You have successfully started a Duo Pro trial that will expire on {date}. To give members "
    "access to new GitLab Duo Pro features, assign them to GitLab Duo Pro seats."
)
FIELDS = ("first_name", "last_name", "company_name", "country")
LEAD, TRIAL = "lead", "trial"  # GitLab's step names


@dataclass(frozen=True)
class TrialPage:
    """What the two trial forms (``groups/trial_lead.html``, ``groups/trial_namespace.html``)
    say for one kind of trial, and where they post."""

    title: str
    namespace_title: str
    endpoint: str
    nobody_title: str
    nobody_text: str


DUO_PRO_PAGE = TrialPage(
    "Start your free GitLab Duo Pro trial",
    "Apply your GitLab Duo Pro trial to an existing group",
    "gitlab_com_trials.create_trial",
    "No group can start a GitLab Duo Pro trial",
    "You must be an owner of a top-level group that has an active paid subscription or Ultimate "
    "trial, and no GitLab Duo add-on or trial yet.",
)

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
        # GitLab shows *Start a free Ultimate trial* to a Free group that never had one.
        ultimate_trial_open=ultimate_ineligibility(group, current_user, today) is None,
        # A Free group's *Upgrade* links name the group, as GitLab.com's do.
        upgrade_url=str(current_app.config["PORTAL_URL"]).rstrip("/") + "/subscriptions/new",
        **group_sidebar(group),
    )


def fields_of(source: MultiDict[str, str]) -> dict[str, str]:
    return {name: source.get(name, "").strip()[:255] for name in FIELDS}


def lead_fields(source: MultiDict[str, str]) -> dict[str, str]:
    """The lead fields, all complete with a known country; else a 400 that changes nothing."""
    fields = fields_of(source)
    if not all(fields.values()) or fields["country"] not in COUNTRIES:
        raise Refusal("Complete the fields to start your trial.", code="invalid", status=400)
    return fields


@blueprint.get("/-/trials/duo_pro/new")
@login_required
def new_trial() -> ResponseReturnValue:
    today = app_clock().now().date()
    groups = eligible_groups(current_user, today)
    chosen = request.args.get("namespace_id", "")
    if request.args.get("step") == TRIAL:
        return render_template(
            "groups/trial_namespace.html",
            trial=DUO_PRO_PAGE,
            groups=groups,
            chosen=chosen,
            fields=fields_of(request.args),
        )
    return render_template(
        "groups/trial_lead.html",
        trial=DUO_PRO_PAGE,
        groups=groups,
        chosen=chosen,
        user=current_user,
        countries=sorted(COUNTRIES.items(), key=lambda item: item[1]),
    )


def group_from(value: str) -> Namespace:
    try:
        namespace_id = parse_int(value)
    except InvalidNumber:
        abort(400, "namespace_id must be a group id")
    return db.session.get(Namespace, namespace_id) or abort(404)


@blueprint.post("/-/trials/duo_pro")
@login_required
def create_trial() -> ResponseReturnValue:
    step = request.form.get("step", TRIAL)
    if step not in (LEAD, TRIAL):
        abort(400, "step must be lead or trial")
    fields = lead_fields(request.form)
    chosen = request.form.get("namespace_id", "")
    back = url_for("gitlab_com_trials.new_trial", namespace_id=chosen or None)
    if step == LEAD:
        groups = eligible_groups(current_user, app_clock().now().date())
        named = group_from(chosen) if chosen else None
        if named is None or named in groups:
            if len(groups) > 1:  # GitLab prompts for the group
                prompt: dict[str, Any] = {"step": TRIAL, "namespace_id": chosen, **fields}
                return redirect(url_for("gitlab_com_trials.new_trial", **prompt))
            if not groups:
                with refusal_redirects(back):
                    raise TrialError(NOT_ELIGIBLE, rule="R25")
            named = groups[0]
        group = named  # a group that may not have one: its refusal, said on the form
    else:
        group = group_from(chosen)
    # A refusal is shown on the trial form, which every signed-in user may see.
    with refusal_redirects(back):
        purchase = start_duo_pro_trial(
            current_app._get_current_object(),  # type: ignore[attr-defined]
            group,
            current_user._get_current_object(),
            TrialForm(**fields),
            app_clock().now(),
        )
    flash(TRIAL_STARTED.format(date=purchase.ends_on.strftime("%B %-d, %Y")), "success")
    return redirect(url_for("groups.settings", full_path=group.full_path))
