"""What support does: `provlab doctor trial` over the portal's records and the instance's
diagnostics bundle (the verdict is checked here and kept for a later ``verdict`` expectation)."""

from __future__ import annotations

from typing import Any

from instance import create_app as create_instance_app
from instance.diagnostics import diagnostics_bundle
from protocol.clock import format_utc
from provlab.doctor import diagnose_trial
from provlab.doctor_evidence import instance_evidence, portal_evidence
from provlab.scenario.steps.support_cases import run_case_doctor
from provlab.scenario.steps.support_namespace import run_namespace_doctor
from provlab.scenario.vocabulary import StepContext, action
from provlab.scenario.world import World


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
        run_case_doctor(context, args, _diagnostics)
        return
    fields = context.mapping(
        args,
        {"subscription"},
        {"about", "email", "cause", "rule", "with_instance", "bundle", "also", "says", "healthy"},
    )
    world = context.world
    instance = None
    if fields.get("with_instance", True):
        source = fields.get("bundle", "live")
        if source not in ("live", "exported"):
            context.malformed(f"bundle is live or exported, not {source!r}")
        instance = instance_evidence(_diagnostics(world, exported=source == "exported"))
    verdict = diagnose_trial(
        portal_evidence(world.portal, str(fields["subscription"]), fields.get("email")), instance
    )
    world.timeline.add(
        world.now(), "support", "doctor", f"{verdict.cause} [{verdict.rule}] {verdict.headline}"
    )
    world.last_verdict = verdict
    for key in ("cause", "rule", "healthy"):
        if key in fields and getattr(verdict, key) != fields[key]:
            context.fail(
                f"the doctor says {key} {getattr(verdict, key)!r}, expected {fields[key]!r}\n"
                f"{verdict.render()}"
            )
    if "also" in fields:
        also = [finding.cause for finding in verdict.also]
        if also != list(fields["also"] or []):
            context.fail(
                f"the doctor also names {also}, expected {fields['also']}\n{verdict.render()}"
            )
    for text in [fields["says"]] if isinstance(fields.get("says"), str) else fields.get("says", []):
        if str(text) not in verdict.render():
            context.fail(f"the doctor does not say {text!r}\n{verdict.render()}")


def _diagnostics(world: World, *, exported: bool) -> dict[str, Any]:
    """The instance's bundle: from its serving app (live), or exported by another process over
    its database, with that process's own default settings (GitLab version included)."""
    app = world.instance
    if exported:
        app = create_instance_app(
            {
                "INSTANCE_PATH": world.instance.config["INSTANCE_PATH"],
                "DATABASE_URL": world.instance.config["DATABASE_URL"],
                "CLOCK": "simulated",
                "SIMULATED_START": format_utc(world.now()),
            },
            environ={},
        )
    with app.app_context():
        return diagnostics_bundle(app, running=not exported)
