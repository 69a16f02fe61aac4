"""GitLab.com's trial forms in GitLab's two steps (``GitlabSubscriptions::TrialsController``),
shared by the GitLab Duo Pro trial (``/-/trials/duo_pro``) and the Ultimate trial
(``/-/trials/new``):

- ``lead``: complete the fields, *Continue*. When the group was named (the Billing page's link
  names it) or exactly one of the user's groups may have the trial, it is applied to that group
  now, as GitLab does (except that a trial which may go to a new group asks when none was named).
- ``trial`` (the prompt, when several groups may): select the group, *Activate my trial*. The
  group the owner came from (its Billing page's link names it) is chosen already. Where the
  trial may go to a new group (the Ultimate trial: GitLab's ``Trials::CreateService`` create
  group flow), the prompt also offers *Create group* (``namespace_id`` 0) and a *New group
  name*, and a user with no group that may have the trial is prompted for one: the group is
  created with them as its Owner, then the trial applied to it.

A request naming no step is the ``trial`` step, complete with the fields. Refusals are shown on
the form, which every signed-in user may see; bad fields are a 400 that changes nothing: the lead
form again, as filled in, with GitLab's message for the first field at fault.

The fields are GitLab's (``TrialCreateLeadForm``; its lead params): first and last name, company
name, *Number of employees*, *Country or region*, *State or province* (asked, and then required,
only for the countries in ``COUNTRIES_WITH_STATES``; dropped for any other country, as GitLab's
form clears it) and *Telephone number*, all required.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any, NoReturn

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from instance.gitlab_com.groups import create_owned_group
from instance.gitlab_com.trials import Trial, TrialError, TrialForm
from instance.models import db
from instance.namespace_models import Namespace
from protocol.provisioning import (
    COUNTRIES_WITH_STATES,
    PHONE_NUMBER,
    PHONE_NUMBER_LENGTH,
    CompanySize,
)
from webcore.clock import app_clock
from webcore.countries import COUNTRIES, STATES
from webcore.errors import Refusal, refusal_redirects, refusal_renders
from webcore.params import InvalidNumber, parse_int

FIELDS = tuple(field.name for field in dataclasses.fields(TrialForm))  # the lead step's fields
# GitLab's messages for a field left blank or not one of its choices (its form's validators).
REQUIRED = {
    "first_name": "First name is required.",
    "last_name": "Last name is required.",
    "company_name": "Company name is required.",
    "company_size": "Number of employees is required.",
    "country": "Country or region is required.",
    "state": "State or province is required.",
    "phone_number": "Telephone number is required.",
}
PHONE_CHARACTERS = "Allowed characters: +, 0-9, -, and spaces."  # GitLab's TRIAL_PHONE_DESCRIPTION
PHONE_TOO_LONG = f"Telephone number is too long (maximum is {PHONE_NUMBER_LENGTH} characters)."
LEAD, TRIAL = "lead", "trial"  # GitLab's step names
CREATE_GROUP = "0"  # the group choice that creates a new group (GitLab's CREATE_GROUP_OPTION_VALUE)


@dataclass(frozen=True)
class TrialPage:
    """One kind of trial: what its two forms (``groups/trial_lead.html``,
    ``groups/trial_namespace.html``) say, where they live, and its operations."""

    title: str
    namespace_title: str
    blueprint: str  # the name of the blueprint ``serve`` adds the forms to
    nobody_title: str
    nobody_text: str
    trial: Trial[Any]
    no_group: Callable[[], TrialError]  # the refusal when none of the user's groups may
    # The trial may go to a group created on its prompt: the prompt's heading and text then,
    # with groups to choose from and without.
    new_group_titles: tuple[str, str] | None = None
    new_group_texts: tuple[str, str] | None = None

    @property
    def creates_groups(self) -> bool:
        return self.new_group_titles is not None

    @property
    def endpoint(self) -> str:
        """Where the forms post."""
        return f"{self.blueprint}.create_trial"

    def form_url(self, **args: Any) -> str:
        """Where the forms are, with ``args`` (the group prompt redirects there)."""
        return url_for(f"{self.blueprint}.new_trial", **args)


def serve(
    blueprint: Blueprint,
    path: str,
    page: TrialPage,
    landing: Callable[[Started], ResponseReturnValue],
) -> None:
    """Add the trial's forms to ``blueprint``, signed in only: at ``{path}/new``, posting to
    ``path`` (GitLab's routes); a trial applied answers what ``landing`` says."""

    @blueprint.get(f"{path}/new")
    @login_required
    def new_trial() -> ResponseReturnValue:
        return show_form(page)

    @blueprint.post(path)
    @login_required
    def create_trial() -> ResponseReturnValue:
        submitted = submit_form(page)
        return landing(submitted) if isinstance(submitted, Started) else submitted


def fields_of(source: MultiDict[str, str]) -> dict[str, str]:
    return {name: source.get(name, "").strip()[:255] for name in FIELDS}


def lead_fields(source: MultiDict[str, str]) -> dict[str, str]:
    """The lead fields, each as GitLab's form requires it (the state dropped for a country
    without states); else a 400 with GitLab's message for the first field at fault."""
    fields = fields_of(source)
    has_states = fields["country"] in COUNTRIES_WITH_STATES
    if not has_states:
        fields["state"] = ""
    choices: dict[str, Collection[str]] = {
        "company_size": {size.value for size in CompanySize},
        "country": COUNTRIES,
        "state": STATES.get(fields["country"], ()),
    }
    asked = (name for name in FIELDS if name != "state" or has_states)
    for name in asked:
        value = fields[name]
        if not value or (name in choices and value not in choices[name]):
            _bad_field(REQUIRED[name])
    if len(fields["phone_number"]) > PHONE_NUMBER_LENGTH:
        _bad_field(PHONE_TOO_LONG)
    if not PHONE_NUMBER.fullmatch(fields["phone_number"]):
        _bad_field(PHONE_CHARACTERS)
    return fields


def _bad_field(message: str) -> NoReturn:
    raise Refusal(message, code="invalid", status=400)


def group_from(value: str) -> Namespace:
    try:
        namespace_id = parse_int(value)
    except InvalidNumber:
        abort(400, "namespace_id must be a group id")
    return db.session.get(Namespace, namespace_id) or abort(404)


def show_form(page: TrialPage) -> ResponseReturnValue:
    """The lead step's form, or with ``step=trial`` the group prompt."""
    groups = page.trial.eligible_groups(current_user, app_clock().now().date())
    chosen = request.args.get("namespace_id", "")
    if request.args.get("step") == TRIAL:
        return render_template(
            "groups/trial_namespace.html",
            trial=page,
            groups=groups,
            chosen=chosen,
            fields=fields_of(request.args),
            new_group_name=request.args.get("new_group_name", "")[:255],
            create_group=CREATE_GROUP,
        )
    first_name, _, last_name = str(current_user.name).partition(" ")
    named = {**dict.fromkeys(FIELDS, ""), "first_name": first_name, "last_name": last_name}
    return _lead_form(page, groups, chosen, named)


def _lead_form(
    page: TrialPage, groups: list[Namespace], chosen: str, values: dict[str, str]
) -> str:
    """The lead step's form, its fields filled in with ``values``."""
    return render_template(
        "groups/trial_lead.html",
        trial=page,
        groups=groups,
        chosen=chosen,
        values=values,
        company_sizes=list(CompanySize),
        countries=sorted(COUNTRIES.items(), key=lambda item: item[1]),
        states=STATES,
    )


def _lead_form_again(page: TrialPage, refusal: Refusal) -> ResponseReturnValue:
    """The lead form as posted, for its refused fields (the message is flashed)."""
    groups = page.trial.eligible_groups(current_user, app_clock().now().date())
    chosen = request.form.get("namespace_id", "")
    return _lead_form(page, groups, chosen, fields_of(request.form)), refusal.status


@dataclass(frozen=True)
class Started:
    """A trial applied: to which group, and what ``Trial.start`` returned."""

    group: Namespace
    result: Any


def submit_form(page: TrialPage) -> Started | Response:
    """The posted step: the trial applied, or a redirect to the group prompt (a refusal is
    raised, and sends the browser back to the form)."""
    step = request.form.get("step", TRIAL)
    if step not in (LEAD, TRIAL):
        abort(400, "step must be lead or trial")
    with refusal_renders(lambda refusal: _lead_form_again(page, refusal)):
        fields = lead_fields(request.form)
    chosen = request.form.get("namespace_id", "")
    back = page.form_url(namespace_id=chosen or None)
    if step == LEAD:
        groups = page.trial.eligible_groups(current_user, app_clock().now().date())
        named = group_from(chosen) if chosen else None
        if named is None or named in groups:
            # GitLab prompts for the group, or, where a new group may have the trial, whenever
            # none was named (the choice includes *Create group*).
            if len(groups) > 1 or (page.creates_groups and named is None):
                prompt: dict[str, Any] = {"step": TRIAL, "namespace_id": chosen, **fields}
                return redirect(page.form_url(**prompt))
            if not groups:
                with refusal_redirects(back):
                    raise page.no_group()
            named = groups[0]
        group = named  # a group that may not have one: its refusal, said on the form
    elif chosen == CREATE_GROUP and page.creates_groups:
        group = _new_group(page, fields)
        # The group stays if the trial is then refused (committed before the portal is asked,
        # as GitLab creates it before applying the trial): the form comes back for it.
        back = page.form_url(namespace_id=group.id)
    else:
        group = group_from(chosen)
    with refusal_redirects(back):
        started = page.trial.start(
            current_app._get_current_object(),  # type: ignore[attr-defined]
            group,
            current_user._get_current_object(),
            TrialForm(**fields),
            app_clock().now(),
        )
    return Started(group, started)


def _new_group(page: TrialPage, fields: dict[str, str]) -> Namespace:
    """The prompt's *Create group*: a new top-level group named as asked, its Owner the user
    (a blank or unusable name is said on the prompt, nothing created)."""
    name = request.form.get("new_group_name", "").strip()[:255]
    asked: dict[str, Any] = {"step": TRIAL, "namespace_id": CREATE_GROUP, "new_group_name": name}
    with refusal_redirects(page.form_url(**asked, **fields)):
        return create_owned_group(current_user._get_current_object(), name, app_clock().now())
