"""GitLab.com's trial forms in GitLab's two steps (``GitlabSubscriptions::TrialsController``),
shared by the GitLab Duo Pro trial (``/-/trials/duo_pro``) and the Ultimate trial
(``/-/trials/new``):

- ``lead``: complete the fields, *Continue*. When exactly one of the user's groups may have the
  trial, it is applied to that group now, as GitLab does.
- ``trial`` (the prompt, when several groups may): select the group, *Activate my trial*. The
  group the owner came from (its Billing page's link names it) is chosen already.

A request naming no step is the ``trial`` step, complete with the fields. Refusals are shown on
the form, which every signed-in user may see; bad fields are a 400 that changes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask, abort, current_app, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from instance.gitlab_com.trials import TrialError, TrialForm
from instance.models import User, db
from instance.namespace_models import Namespace
from webcore.clock import app_clock
from webcore.countries import COUNTRIES
from webcore.errors import Refusal, refusal_redirects
from webcore.params import InvalidNumber, parse_int

FIELDS = ("first_name", "last_name", "company_name", "country")
LEAD, TRIAL = "lead", "trial"  # GitLab's step names


@dataclass(frozen=True)
class TrialPage:
    """One kind of trial: what its two forms (``groups/trial_lead.html``,
    ``groups/trial_namespace.html``) say, where they live, and its operations."""

    title: str
    namespace_title: str
    endpoint: str  # where the forms post
    form_endpoint: str  # where the forms are (the group prompt redirects there)
    nobody_title: str
    nobody_text: str
    eligible_groups: Callable[[User, dt.date], list[Namespace]]
    start: Callable[[Flask, Namespace, User, TrialForm, dt.datetime], Any]
    no_group: Callable[[], TrialError]  # the refusal when none of the user's groups may


def fields_of(source: MultiDict[str, str]) -> dict[str, str]:
    return {name: source.get(name, "").strip()[:255] for name in FIELDS}


def lead_fields(source: MultiDict[str, str]) -> dict[str, str]:
    """The lead fields, all complete with a known country; else a 400 that changes nothing."""
    fields = fields_of(source)
    if not all(fields.values()) or fields["country"] not in COUNTRIES:
        raise Refusal("Complete the fields to start your trial.", code="invalid", status=400)
    return fields


def group_from(value: str) -> Namespace:
    try:
        namespace_id = parse_int(value)
    except InvalidNumber:
        abort(400, "namespace_id must be a group id")
    return db.session.get(Namespace, namespace_id) or abort(404)


def show_form(page: TrialPage) -> ResponseReturnValue:
    """The lead step's form, or with ``step=trial`` the group prompt."""
    groups = page.eligible_groups(current_user, app_clock().now().date())
    chosen = request.args.get("namespace_id", "")
    if request.args.get("step") == TRIAL:
        return render_template(
            "groups/trial_namespace.html",
            trial=page,
            groups=groups,
            chosen=chosen,
            fields=fields_of(request.args),
        )
    return render_template(
        "groups/trial_lead.html",
        trial=page,
        groups=groups,
        chosen=chosen,
        user=current_user,
        countries=sorted(COUNTRIES.items(), key=lambda item: item[1]),
    )


@dataclass(frozen=True)
class Started:
    """A trial applied: to which group, and what ``TrialPage.start`` returned."""

    group: Namespace
    result: Any


def submit_form(page: TrialPage) -> Started | Response:
    """The posted step: the trial applied, or a redirect to the group prompt (a refusal is
    raised, and sends the browser back to the form)."""
    step = request.form.get("step", TRIAL)
    if step not in (LEAD, TRIAL):
        abort(400, "step must be lead or trial")
    fields = lead_fields(request.form)
    chosen = request.form.get("namespace_id", "")
    back = url_for(page.form_endpoint, namespace_id=chosen or None)
    if step == LEAD:
        groups = page.eligible_groups(current_user, app_clock().now().date())
        named = group_from(chosen) if chosen else None
        if named is None or named in groups:
            if len(groups) > 1:  # GitLab prompts for the group
                prompt: dict[str, Any] = {"step": TRIAL, "namespace_id": chosen, **fields}
                return redirect(url_for(page.form_endpoint, **prompt))
            if not groups:
                with refusal_redirects(back):
                    raise page.no_group()
            named = groups[0]
        group = named  # a group that may not have one: its refusal, said on the form
    else:
        group = group_from(chosen)
    with refusal_redirects(back):
        started = page.start(
            current_app._get_current_object(),  # type: ignore[attr-defined]
            group,
            current_user._get_current_object(),
            TrialForm(**fields),
            app_clock().now(),
        )
    return Started(group, started)
