"""What support does: `provlab doctor trial` over the portal's records and the instance's
diagnostics bundle (the verdict is checked here and kept for a later ``verdict`` expectation)."""

from __future__ import annotations

from typing import Any

from provlab.doctor import diagnose_trial
from provlab.doctor_evidence import instance_evidence, portal_evidence
from provlab.scenario.steps.support_cases import conclude, instance_bundle, run_case_doctor
from provlab.scenario.steps.support_namespace import run_namespace_doctor
from provlab.scenario.vocabulary import StepContext, action


@action(
    "doctor",
    "- doctor: {subscription: A-S00000001, cause: embargoed_country, rule: R22, "
    "also: [offline_cloud_license]}",
)
def doctor(context: StepContext, args: Any) -> None:
    """Support runs `provlab doctor trial` with the instance's diagnostics bundle and checks the
    verdict: its first cause and rule, the other blockers (`also`, every one, in order), text it
    says (`says`), whether it is healthy. `bundle: exported` reads the bundle as
    `provlab instance diagnostics` exports it from the database; `with_instance: false`, none.
    `about: seat`, `activation` or `menu` runs that doctor instead (``steps.support_cases``);
    `namespace: GROUP` (and `user:`), `doctor trial --namespace` for GitLab.com
    (``steps.support_namespace``)."""
    if isinstance(args, dict) and "namespace" in args:
        run_namespace_doctor(context, args)
        return
    if isinstance(args, dict) and args.get("about", "trial") != "trial":
        run_case_doctor(context, args)
        return
    fields = context.mapping(
        args,
        {"subscription"},
        {"about", "email", "cause", "rule", "with_instance", "bundle", "also", "says", "healthy"},
    )
    bundle = instance_bundle(context, fields, fields.get("with_instance", True))
    verdict = diagnose_trial(
        portal_evidence(context.world.portal, str(fields["subscription"]), fields.get("email")),
        instance_evidence(bundle) if bundle is not None else None,
    )
    conclude(context, fields, verdict, "doctor")
