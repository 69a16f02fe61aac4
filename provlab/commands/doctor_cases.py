"""``provlab doctor seat``, ``activation`` and ``menu``: the other cases support gets about
GitLab Duo, diagnosed as ``doctor trial`` is (see provlab/doctor_seat.py, doctor_activation.py,
doctor_menu.py). Exit status: 0 healthy, 1 a cause found, 2 usage error or unreadable evidence."""

from __future__ import annotations

import click

from provlab.commands.doctor import Evidence, doctor, evidence_options, unreadable


@doctor.command("seat")
@click.option("--user", "username", required=True, help="The instance user's username.")
@evidence_options
def doctor_seat(username: str, evidence: Evidence) -> None:
    """Why can't this user use GitLab Duo? Reads the instance's diagnostics with the user's part
    (--instance, or a --bundle exported with `provlab instance diagnostics --user NAME`) and the
    portal's records of the subscription the instance runs. Prints the verdict (the first cause,
    its rule, the facts it rests on, the next action), every other blocker as ALSO, and the
    evidence. Exit status: 0 the user can use GitLab Duo, 1 a cause found, 2 usage error."""
    from provlab.doctor_evidence import BundleError, portal_evidence
    from provlab.doctor_gather import portal_purchases, user_evidence
    from provlab.doctor_seat import diagnose_seat

    raw = evidence.bundle(username)
    if raw is None:
        raise click.UsageError(
            "the seat doctor reads the instance: give --instance URL --token PAT, or --bundle "
            f"FILE exported with `provlab instance diagnostics --user {username}`"
        )
    instance = evidence.instance(raw)
    assert instance is not None  # a bundle was read
    try:
        user = user_evidence(raw, username)
    except BundleError as exc:
        raise unreadable(exc) from None
    portal_app = evidence.portal_app()
    name = instance.subscription_name
    portal = portal_evidence(portal_app, name) if name else None
    purchases = portal_purchases(portal_app, name) if name else ()
    evidence.answer(diagnose_seat(user, instance, portal, purchases))


@doctor.command("activation")
@click.option("--code", help="The activation code the administrator entered.")
@click.option(
    "--subscription", "subscription_name", help="The subscription to activate with (A-S…)."
)
@evidence_options
def doctor_activation(code: str | None, subscription_name: str | None, evidence: Evidence) -> None:
    """Why does activating the instance fail? Give the code the administrator entered (--code;
    it is never printed, only its last four characters) or the subscription (--subscription).
    With the instance's diagnostics, its connection and clock are checked too. Exit status: 0
    nothing refuses the activation (or it is done), 1 a cause found, 2 usage error."""
    from provlab.doctor_activation import activation_case, diagnose_activation

    if (code is None) == (subscription_name is None):
        raise click.UsageError("give --code or --subscription (one of them)")
    instance = evidence.instance(evidence.bundle())
    case = activation_case(
        evidence.portal_app(), code, subscription_name, instance, live=evidence.live
    )
    evidence.answer(diagnose_activation(case, instance))


@doctor.command("menu")
@click.option(
    "--subscription",
    "subscription_name",
    help="The subscription bought for (A-S…); by default the one the instance runs.",
)
@evidence_options
def doctor_menu(subscription_name: str | None, evidence: Evidence) -> None:
    """Why is the GitLab Duo menu missing after a purchase? Walks the purchase's way to the
    instance (the portal's purchase, the instance's license and version, its sync since the
    purchase) and prints the verdict, every other blocker as ALSO, and the evidence. Exit
    status: 0 the menu is shown, 1 a cause found, 2 usage error."""
    from provlab.doctor_evidence import portal_evidence
    from provlab.doctor_gather import portal_purchases
    from provlab.doctor_menu import diagnose_menu

    instance = evidence.instance(evidence.bundle())
    name = subscription_name or (instance.subscription_name if instance else None)
    if not name:
        raise click.UsageError(
            "give --subscription, or the diagnostics of an instance that holds a license"
        )
    portal_app = evidence.portal_app()
    evidence.answer(
        diagnose_menu(
            portal_evidence(portal_app, name), instance, portal_purchases(portal_app, name)
        )
    )
