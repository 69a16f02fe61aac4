"""What support does for GitLab.com: `provlab doctor trial --namespace GROUP` over GitLab.com's
records and the portal's, run by the ``doctor`` step with ``namespace:`` (``steps.support`` hands
it here); and what breaks the portal's pushes to GitLab.com, for the doctor to find."""

from __future__ import annotations

from typing import Any

from provlab.doctor_namespace import diagnose_namespace_trial
from provlab.doctor_namespace_evidence import gitlab_com_evidence, portal_link_evidence
from provlab.scenario.steps.support_cases import CHECKS, conclude
from provlab.scenario.vocabulary import StepContext, action


def run_namespace_doctor(context: StepContext, args: Any) -> None:
    """``doctor: {namespace: acme, user: olga, cause: requester_not_owner, rule: R25}``."""
    fields = context.mapping(args, {"namespace"}, {"user"} | CHECKS)
    world = context.world
    group = gitlab_com_evidence(
        world.gitlab_com, str(fields["namespace"]), fields.get("user") and str(fields["user"])
    )
    link = portal_link_evidence(world.portal, group.root_id, group.root_path or group.path)
    conclude(context, fields, diagnose_namespace_trial(group, link), "doctor trial --namespace")


@action(
    "gitlab_com_fault",
    "- gitlab_com_fault: unreachable    # or timeout, server_error; clear to end it",
)
def gitlab_com_fault(context: StepContext, args: Any) -> None:
    """The portal's pushes to GitLab.com fail on the way (``clear`` ends it); the push job
    retries them with backoff."""
    world = context.world
    _ = world.gitlab_com  # the push session exists once GitLab.com does
    kind = str(args)
    if kind == "clear":
        world.gitlab_com_faults.clear()
    elif kind in ("unreachable", "timeout", "server_error"):
        world.gitlab_com_faults.set(kind)
    else:
        context.malformed(
            f"gitlab_com_fault is unreachable, timeout, server_error or clear, not {kind!r}"
        )
    world.timeline.add(world.now(), "scenario", "fault", f"portal → GitLab.com: {kind}")
