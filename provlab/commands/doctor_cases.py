"""``provlab doctor seat``, ``activation`` and ``menu``: the other cases support gets about
GitLab Duo, diagnosed as ``doctor trial`` is (see provlab/doctor_seat.py, doctor_activation.py,
doctor_menu.py). Exit status: 0 healthy, 1 a cause found, 2 usage error or unreadable evidence."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from provlab.commands.doctor import _portal_for_doctor, doctor
from provlab.commands.options import json_option, var_option
from provlab.doctor_model import Verdict


def _instance_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--instance/--token/--bundle, --var and --json, as `doctor trial` takes them."""
    options: list[Callable[[Callable[..., Any]], Callable[..., Any]]] = [
        click.option(
            "--instance",
            "instance_url",
            help="The instance's URL, to read its live diagnostics "
            "(needs --token, an administrator's personal access token).",
        ),
        click.option(
            "--token",
            envvar="PROVLAB_INSTANCE_TOKEN",
            help="Administrator's personal access token for --instance "
            "(or PROVLAB_INSTANCE_TOKEN).",
        ),
        click.option(
            "--bundle",
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            help="A diagnostics bundle exported from the instance (JSON).",
        ),
        var_option(
            "The var folder of the portal (its database, unless PORTAL_DATABASE_URL is set)."
        ),
        json_option,
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _bundle(
    instance_url: str | None, token: str | None, bundle: Path | None, user: str | None = None
) -> dict[str, Any] | None:
    """The instance's diagnostics bundle, if one was given; a bad one is a usage error."""
    from provlab.doctor_evidence import BundleError, fetch_bundle

    if instance_url and bundle:
        raise click.UsageError("give --instance or --bundle, not both")
    if instance_url and not token:
        raise click.UsageError(
            "--instance needs --token (an administrator's personal access token)"
        )
    try:
        if bundle is not None:
            answer = json.loads(bundle.read_text())
            if not isinstance(answer, dict):
                raise BundleError("not a diagnostics bundle")
            return answer
        if instance_url and token:
            return fetch_bundle(instance_url, token, user)
    except (BundleError, json.JSONDecodeError) as exc:
        raise click.UsageError(f"cannot read the instance's diagnostics: {exc}") from None
    return None


def _portal(var: Path) -> Any:
    try:
        return _portal_for_doctor(var)
    except click.ClickException as exc:
        raise click.UsageError(exc.message) from None


def _answer(verdict: Verdict, as_json: bool) -> None:
    click.echo(json.dumps(verdict.to_dict(), indent=2) if as_json else verdict.render())
    sys.exit(0 if verdict.healthy else 1)


def _unreadable(exc: Exception) -> click.UsageError:
    return click.UsageError(f"cannot read the instance's diagnostics: {exc}")


@doctor.command("seat")
@click.option("--user", "username", required=True, help="The instance user's username.")
@_instance_options
def doctor_seat(
    username: str,
    instance_url: str | None,
    token: str | None,
    bundle: Path | None,
    var: Path,
    as_json: bool,
) -> None:
    """Why can't this user use GitLab Duo? Reads the instance's diagnostics with the user's part
    (--instance, or a --bundle exported with `provlab instance diagnostics --user NAME`) and the
    portal's records of the subscription the instance runs. Prints the verdict (the first cause,
    its rule, the facts it rests on, the next action), every other blocker as ALSO, and the
    evidence. Exit status: 0 the user can use GitLab Duo, 1 a cause found, 2 usage error."""
    from provlab.doctor_evidence import BundleError, instance_evidence, portal_evidence
    from provlab.doctor_gather import portal_purchases, user_evidence
    from provlab.doctor_seat import diagnose_seat

    raw = _bundle(instance_url, token, bundle, username)
    if raw is None:
        raise click.UsageError(
            "the seat doctor reads the instance: give --instance URL --token PAT, or --bundle "
            f"FILE exported with `provlab instance diagnostics --user {username}`"
        )
    try:
        instance, user = instance_evidence(raw), user_evidence(raw, username)
    except BundleError as exc:
        raise _unreadable(exc) from None
    portal_app = _portal(var)
    name = instance.subscription_name
    portal = portal_evidence(portal_app, name) if name else None
    purchases = portal_purchases(portal_app, name) if name else ()
    _answer(diagnose_seat(user, instance, portal, purchases), as_json)


@doctor.command("activation")
@click.option("--code", help="The activation code the administrator entered.")
@click.option(
    "--subscription", "subscription_name", help="The subscription to activate with (A-S…)."
)
@_instance_options
def doctor_activation(
    code: str | None,
    subscription_name: str | None,
    instance_url: str | None,
    token: str | None,
    bundle: Path | None,
    var: Path,
    as_json: bool,
) -> None:
    """Why does activating the instance fail? Give the code the administrator entered (--code;
    it is never printed, only its last four characters) or the subscription (--subscription).
    With the instance's diagnostics, its connection and clock are checked too. Exit status: 0
    nothing refuses the activation (or it is done), 1 a cause found, 2 usage error."""
    from provlab.doctor_activation import activation_case, diagnose_activation
    from provlab.doctor_evidence import BundleError, instance_evidence

    if (code is None) == (subscription_name is None):
        raise click.UsageError("give --code or --subscription (one of them)")
    raw = _bundle(instance_url, token, bundle)
    try:
        instance = instance_evidence(raw) if raw is not None else None
    except BundleError as exc:
        raise _unreadable(exc) from None
    case = activation_case(
        _portal(var), code, subscription_name, instance, live=instance_url is not None
    )
    _answer(diagnose_activation(case, instance), as_json)


@doctor.command("menu")
@click.option(
    "--subscription",
    "subscription_name",
    help="The subscription bought for (A-S…); by default the one the instance runs.",
)
@_instance_options
def doctor_menu(
    subscription_name: str | None,
    instance_url: str | None,
    token: str | None,
    bundle: Path | None,
    var: Path,
    as_json: bool,
) -> None:
    """Why is the GitLab Duo menu missing after a purchase? Walks the purchase's way to the
    instance (the portal's purchase, the instance's license and version, its sync since the
    purchase) and prints the verdict, every other blocker as ALSO, and the evidence. Exit
    status: 0 the menu is shown, 1 a cause found, 2 usage error."""
    from provlab.doctor_evidence import BundleError, instance_evidence, portal_evidence
    from provlab.doctor_gather import portal_purchases
    from provlab.doctor_menu import diagnose_menu

    raw = _bundle(instance_url, token, bundle)
    try:
        instance = instance_evidence(raw) if raw is not None else None
    except BundleError as exc:
        raise _unreadable(exc) from None
    name = subscription_name or (instance.subscription_name if instance else None)
    if not name:
        raise click.UsageError(
            "give --subscription, or the diagnostics of an instance that holds a license"
        )
    portal_app = _portal(var)
    verdict = diagnose_menu(
        portal_evidence(portal_app, name), instance, portal_purchases(portal_app, name)
    )
    _answer(verdict, as_json)
