"""What support does for the other GitLab Duo cases: `provlab doctor seat`, `activation` and
`menu`, run by the ``doctor`` step with ``about: seat|activation|menu`` (``steps.support`` hands
them here); what every ``doctor`` step shares (the instance's bundle, and the verdict recorded
and checked); and a second instance, elsewhere, activating a subscription first."""

from __future__ import annotations

import uuid
from typing import Any

from instance import create_app as create_instance_app
from instance.diagnostics import diagnostics_bundle
from instance.diagnostics_user import user_diagnostics
from portal.licensing import activate_instance, ensure_activation_code
from protocol.clock import format_utc
from protocol.messages import ActivationRequest
from protocol.signing import SigningKey
from provlab.doctor_activation import activation_case, diagnose_activation
from provlab.doctor_evidence import instance_evidence, portal_evidence
from provlab.doctor_gather import portal_purchases, user_evidence
from provlab.doctor_menu import diagnose_menu
from provlab.doctor_model import Verdict
from provlab.doctor_seat import diagnose_seat
from provlab.scenario.vocabulary import StepContext, action
from provlab.scenario.world import World

ABOUT = ("seat", "activation", "menu")
CHECKS = {"cause", "rule", "also", "says", "healthy"}
OPTIONAL = {
    "seat": {"bundle"},
    "activation": {"code", "code_of", "subscription", "with_instance", "bundle"},
    "menu": {"subscription", "with_instance", "bundle"},
}


def run_case_doctor(context: StepContext, args: Any) -> None:
    """``doctor: {about: seat, user: alice, cause: guest_on_ultimate, rule: R30}`` and the like."""
    about = args.get("about")
    if about not in ABOUT:
        context.malformed(f"about is trial, {', '.join(ABOUT)}; not {about!r}")
    required = {"about", "user"} if about == "seat" else {"about"}
    fields = context.mapping(args, required, OPTIONAL[about] | CHECKS)
    world = context.world
    bundle = instance_bundle(context, fields, about == "seat" or fields.get("with_instance", True))
    instance = instance_evidence(bundle) if bundle is not None else None
    if about == "seat":
        assert bundle is not None and instance is not None
        username = str(fields["user"])
        with world.instance.app_context():
            bundle["user"] = user_diagnostics(username)
        name = instance.subscription_name
        verdict = diagnose_seat(
            user_evidence(bundle, username),
            instance,
            portal_evidence(world.portal, name) if name else None,
            portal_purchases(world.portal, name) if name else (),
        )
    elif about == "menu":
        name = fields.get("subscription") or (instance.subscription_name if instance else None)
        if not name:
            context.malformed("menu needs subscription, or an instance that holds a license")
        verdict = diagnose_menu(
            portal_evidence(world.portal, str(name)),
            instance,
            portal_purchases(world.portal, str(name)),
        )
    else:
        verdict = diagnose_activation(_activation_case(context, fields, instance), instance)
    conclude(context, fields, verdict, f"doctor {about}")


def _activation_case(context: StepContext, fields: dict[str, Any], instance: Any) -> Any:
    asked = [key for key in ("code", "code_of", "subscription") if key in fields]
    if len(asked) != 1:
        context.malformed("activation takes one of code, code_of, subscription")
    code = fields.get("code")
    if "code_of" in fields:
        code = context.portal.activation_code(str(fields["code_of"]))
    return activation_case(
        context.world.portal,
        None if code is None else str(code),
        fields.get("subscription"),
        instance,
        live=fields.get("bundle", "live") == "live",
    )


def instance_bundle(
    context: StepContext, fields: dict[str, Any], wanted: bool
) -> dict[str, Any] | None:
    """The instance's diagnostics bundle when the doctor is to read it (``wanted``): ``bundle:
    live`` (the default) or ``exported``."""
    source = fields.get("bundle", "live")
    if source not in ("live", "exported"):
        context.malformed(f"bundle is live or exported, not {source!r}")
    return diagnostics(context.world, exported=source == "exported") if wanted else None


def diagnostics(world: World, *, exported: bool) -> dict[str, Any]:
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


def conclude(context: StepContext, fields: dict[str, Any], verdict: Verdict, step: str) -> None:
    """Put the verdict on the timeline, keep it for a later ``verdict`` expectation, and check
    it: its cause, rule, health, every other cause in order (`also`), and text it says."""
    world = context.world
    world.timeline.add(
        world.now(), "support", step, f"{verdict.cause} [{verdict.rule}] {verdict.headline}"
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
    says = fields.get("says", [])
    for text in [says] if isinstance(says, str) else says:
        if str(text) not in verdict.render():
            context.fail(f"the doctor does not say {text!r}\n{verdict.render()}")


@action("activated_elsewhere", "- activated_elsewhere: A-S00000001")
def activated_elsewhere(context: StepContext, args: Any) -> None:
    """Another instance (not the scenario's) activates the subscription with its code first, so
    the portal binds the code to it (R8)."""
    world: World = context.world
    portal = context.portal
    key = SigningKey.generate()
    instance_id = str(uuid.uuid4())
    with portal.transaction():
        code = ensure_activation_code(portal.subscription(str(args)))
        activate_instance(
            ActivationRequest(
                activation_code=code,
                instance_id=instance_id,
                gitlab_version="17.5.0",
                hostname="other-gitlab.customer.test",
                instance_public_key=key.verifying_key().to_jwk(),
            ),
            key.verifying_key(),
            portal.now(),
        )
    world.timeline.add(
        world.now(), "instance", "elsewhere", f"instance {instance_id} activates {args}"
    )
