"""``provlab fault``: switch faults on and off in a running `provlab up` — on the instance's calls
to the portal, on the portal's payments — and run the instance's clock ahead."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import click

from provlab.commands.options import duration as as_duration
from provlab.commands.options import var_after_subcommand, var_option
from provlab.commands.pair import running_pair, simulated_parties

INSTANCE_FAULT_HELP = (
    "unreachable, timeout, server_error, tampered, wrong_key, replay, proxy (on the instance's "
    "calls to the portal); payment_declined (on the portal)"
)


@click.group(
    "fault",
    help=f"Inject faults into a running `provlab up`: {INSTANCE_FAULT_HELP}; and clock skew.",
)
@var_option("The var folder of the running `provlab up`.")
@click.pass_context
def fault(ctx: click.Context, var: Path) -> None:
    ctx.obj = var


def _fault_call(var: Path, app_name: str, body: dict[str, Any] | None) -> dict[str, Any]:
    import requests

    pair = running_pair(var)
    url = pair.instance_url if app_name == "instance" else pair.portal_url
    session = requests.Session()
    session.trust_env = False
    headers = {"Authorization": f"Bearer {pair.simulation_token}"}
    try:
        if body is None:
            response = session.get(f"{url}/-/faults", headers=headers, timeout=10)
        else:
            response = session.post(f"{url}/-/faults", json=body, headers=headers, timeout=10)
    except requests.RequestException as exc:
        raise click.ClickException(f"the {app_name} is unreachable: {exc}") from None
    data: dict[str, Any] = response.json()
    if response.status_code != 200:
        raise click.ClickException(data.get("error", str(response.status_code)))
    return data


def _app_of(kind: str) -> str:
    from provlab.faults import PORTAL_FAULTS, TRANSPORT_FAULTS

    if kind in TRANSPORT_FAULTS:
        return "instance"
    if kind in PORTAL_FAULTS:
        return "portal"
    raise click.BadParameter(f"unknown fault {kind!r}; known: {INSTANCE_FAULT_HELP}")


@fault.command("list")
@var_after_subcommand
@click.pass_obj
def fault_list(var: Path, own_var: Path | None) -> None:
    """Show the faults in force on both servers."""
    var = own_var or var
    for app_name in ("portal", "instance"):
        data = _fault_call(var, app_name, None)
        active = ", ".join(data["active"]) or "none"
        click.echo(f"{app_name:<9} active: {active}   (known: {', '.join(data['known'])})")
    skew = running_pair(var).instance_skew_seconds
    click.echo(
        f"clock skew: instance {dt.timedelta(seconds=skew)} ahead" if skew else "clock skew: none"
    )


@fault.command("set", help=f"Switch a fault on: KIND is one of {INSTANCE_FAULT_HELP}.")
@click.argument("kind")
@var_after_subcommand
@click.pass_obj
def fault_set(var: Path, kind: str, own_var: Path | None) -> None:
    var = own_var or var
    data = _fault_call(var, _app_of(kind), {"set": kind})
    click.echo(f"{kind} is on; active on the {data['app']}: {', '.join(data['active'])}")


@fault.command("clear")
@click.argument("kind", default="all")
@var_after_subcommand
@click.pass_obj
def fault_clear(var: Path, kind: str, own_var: Path | None) -> None:
    """Switch a fault off (default: all faults on both servers, and clock skew stays as it is)."""
    var = own_var or var
    apps = ["portal", "instance"] if kind == "all" else [_app_of(kind)]
    for app_name in apps:
        _fault_call(var, app_name, {"clear": kind})
    click.echo(f"cleared {kind}")


@fault.command("skew")
@click.argument("duration")
@var_after_subcommand
@click.pass_obj
def fault_skew(var: Path, duration: str, own_var: Path | None) -> None:
    """Run the instance's simulated clock DURATION ahead of the portal's (e.g. 10m); `0s` ends
    the skew, the portal's clock catching up (clocks never move backwards)."""
    import dataclasses

    from provlab.timetravel import travel_to

    var = own_var or var
    offset = dt.timedelta() if duration.strip() in ("0", "0s", "off") else as_duration(duration)
    parties = simulated_parties(var)
    pair = running_pair(var)
    # By name: GitLab.com and a fleet's other instances run beside them, on the common time.
    others = [party for party in parties if party.name != "instance"]
    portal = next(party for party in others if party.name == "portal")
    instance = next(party for party in parties if party.name == "instance")
    base = getattr(instance, "inner", instance)
    if offset:
        base.run_due(max(portal.now() + offset, base.now()))
    else:
        travel_to([*others, base], max(base.now(), portal.now()))
    dataclasses.replace(pair, instance_skew_seconds=offset.total_seconds()).save(var)
    click.echo(f"instance clock {offset} ahead of the portal's" if offset else "clock skew ended")
