"""The GitLab Ultimate trial form on GitLab.com (``/-/trials/new``, GitLab's path), reached from
a Free group's *Settings → Billing* → *Start a free Ultimate trial*, in GitLab's two steps
(``instance.gitlab_com.trial_form``; ``Trials::CreateService``).

The group step offers the owner's eligible groups and *Create group* (a new top-level group named
on the form, its Owner the user); a user with no eligible group is asked for a new group's name.
The trial applies at once ("Congratulations, your free trial is activated.") and the owner lands
on the group, as GitLab does.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, url_for
from flask.typing import ResponseReturnValue

from instance.gitlab_com.access import gitlab_com_only
from instance.gitlab_com.trial_form import Started, TrialPage, serve
from instance.gitlab_com.trials import TrialError
from instance.gitlab_com.ultimate_trials import NO_GROUP, ULTIMATE_TRIAL

blueprint = Blueprint("gitlab_com_ultimate_trials", __name__)
blueprint.before_request(gitlab_com_only)

TRIAL_ACTIVATED = "Congratulations, your free trial is activated."
ULTIMATE_PAGE = TrialPage(
    title="Start a Free Ultimate Trial",
    namespace_title="Apply your trial to a new or existing group",
    blueprint=blueprint.name,
    nobody_title="No group can start a GitLab Ultimate trial",
    nobody_text=NO_GROUP,
    trial=ULTIMATE_TRIAL,
    no_group=lambda: TrialError(NO_GROUP),
    # GitLab's words, with eligible groups to choose from and without (TrialsHelper).
    new_group_titles=(
        "Apply your trial to a new or existing group",
        "Apply your trial to a new group",
    ),
    new_group_texts=(
        "You can apply your trial to a new group or an existing group.",
        "Create a new group to start your GitLab Ultimate trial.",
    ),
)


def _trial_activated(started: Started) -> ResponseReturnValue:
    flash(TRIAL_ACTIVATED, "success")
    return redirect(url_for("group_overview.show", full_path=started.group.full_path))


serve(blueprint, "/-/trials", ULTIMATE_PAGE, _trial_activated)
