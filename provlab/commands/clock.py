"""``provlab clock``: show or move the simulated clocks of every party `provlab up` runs (the
portal, the instance or fleet, GitLab.com) in lockstep, every due job of each run in time order
on the way."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import click

from protocol.clock import format_utc
from provlab.commands.options import duration as as_duration
from provlab.commands.options import (
    json_option,
    utc_time,
    var_after_subcommand,
    var_option,
)
from provlab.commands.pair import simulated_parties


@click.group("clock")
@var_option("The var folder of the running `provlab up`.")
@click.pass_context
def clock(ctx: click.Context, var: Path) -> None:
    """Show or move every party's simulated clock (of a running `provlab up --simulated-time`)."""
    ctx.obj = var


@clock.command("show")
@json_option
@var_after_subcommand
@click.pass_obj
def clock_show(var: Path, as_json: bool, own_var: Path | None) -> None:
    """Print each app's own time (a skewed clock shows as it is) and its next due job."""
    from provlab.parties import PartyError

    var = own_var or var
    try:
        apps = [getattr(party, "inner", party) for party in simulated_parties(var)]
        rows = [(app.name, app.now(), app.next_due()) for app in apps]
    except PartyError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(
            json.dumps(
                {
                    name: {"now": format_utc(now), "next_job_at": format_utc(due) if due else None}
                    for name, now, due in rows
                },
                indent=2,
            )
        )
        return
    for name, now, due in rows:
        click.echo(f"{name:<9} now {format_utc(now)}   next job {format_utc(due) if due else '-'}")


@clock.command("advance")
@click.argument("duration")
@json_option
@var_after_subcommand
@click.pass_obj
def clock_advance(var: Path, duration: str, as_json: bool, own_var: Path | None) -> None:
    """Move every clock forward by DURATION (e.g. 2d, 36h, 1d12h, 90m), running every due job
    of every party in time order."""
    var = own_var or var
    delta = as_duration(duration)
    parties = simulated_parties(var)
    _travel(parties, max(p.now() for p in parties) + delta, as_json)


@clock.command("set")
@click.argument("time")
@json_option
@var_after_subcommand
@click.pass_obj
def clock_set(var: Path, time: str, as_json: bool, own_var: Path | None) -> None:
    """Move every clock forward to TIME (UTC, e.g. 2026-03-01T04:00:00Z), running every due job
    on the way. Clocks never move backwards."""
    var = own_var or var
    target = utc_time(time)  # a bad time is refused before looking for the servers
    _travel(simulated_parties(var), target, as_json)


def _travel(parties: list[Any], target: dt.datetime, as_json: bool) -> None:
    from provlab.parties import PartyError
    from provlab.progress import TravelProgress
    from provlab.timetravel import travel_to

    try:
        start = max(p.now() for p in parties)
        progress = None if as_json else TravelProgress(start, max(target, start))
        try:
            journey = travel_to(parties, target, progress)
        finally:
            if progress is not None:
                progress.close()
    except (PartyError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(
            json.dumps(
                {
                    "from": format_utc(journey.started_at),
                    "to": format_utc(journey.arrived_at),
                    "ran": journey.runs,
                },
                indent=2,
            )
        )
        return
    click.echo(
        f"{format_utc(journey.started_at)} → {format_utc(journey.arrived_at)}: "
        f"{len(journey.runs)} job run(s)"
    )
    for run in journey.runs:
        error = f"  ({run['error']})" if run.get("error") else ""
        click.echo(f"  {run['ran_at']}  {run['app']:<9} {run['name']:<24} {run['outcome']}{error}")
