"""The running pair as the commands see it: what `provlab up` recorded in its var folder, its two
parties on simulated time, and either app opened on the pair's database at the pair's time.

``open_app`` is the one way a command opens an app: ``provlab portal …``, ``provlab instance …``
and ``provlab doctor`` all record and read what happens at the running pair's "now", never at the
wall clock's while a simulated pair runs. A pair recorded as running that cannot be read or does
not answer is refused rather than ignored: acting at the wrong time would be silent.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import click
from flask import Flask

from protocol.clock import format_utc
from provlab.commands.options import DEFAULT_VAR
from provlab.parties import HttpParty, PartyError, SkewedParty
from provlab.servers import STATE_FILE, RunningPair

# The environment prefix of each app's settings.
PREFIXES = {"portal": "PORTAL", "instance": "INSTANCE", "gitlab_com": "INSTANCE"}


def running_pair(var: Path) -> RunningPair:
    """The pair `provlab up --var VAR` is running; a clear CLI error when there is none."""
    try:
        return RunningPair.load(var)
    except LookupError as exc:
        raise click.ClickException(str(exc)) from None
    except (ValueError, TypeError) as exc:
        raise click.ClickException(f"cannot read {var / STATE_FILE}: {exc}") from None


def simulated_parties(var: Path) -> list[Any]:
    """The portal and the instance of the running pair (the instance skewed as `fault skew` set
    it), with `provlab up --instances N` the fleet's other instances, and GitLab.com, for moving
    their clocks in lockstep; refused when the pair runs on real time."""
    pair = running_pair(var)
    if not pair.simulated or not pair.simulation_token:
        raise click.ClickException(
            "the running pair is on real time; start it with --simulated-time"
        )
    instance: Any = HttpParty("instance", pair.instance_url, pair.simulation_token)
    if pair.instance_skew_seconds:
        instance = SkewedParty(instance, dt.timedelta(seconds=pair.instance_skew_seconds))
    fleet = [
        HttpParty(f"instance-{number}", url, pair.simulation_token)
        for number, url in enumerate(pair.fleet_urls, start=2)
    ]
    gitlab_com = (
        [HttpParty("gitlab_com", pair.gitlab_com_url, pair.simulation_token)]
        if pair.gitlab_com_url
        else []
    )
    # GitLab.com first: at an instant both have jobs due, travel runs the busy parties in this
    # order, and the portal's push must find GitLab.com's clock already there (or it is stale).
    return [
        *gitlab_com,
        HttpParty("portal", pair.portal_url, pair.simulation_token),
        instance,
        *fleet,
    ]


def pair_now(var: Path, party: str) -> dt.datetime | None:
    """The simulated time of ``party`` in the pair running from ``var``; None when no pair runs
    there or it runs on real time."""
    if not (var / STATE_FILE).exists():
        return None
    pair = running_pair(var)
    if not pair.simulated or not pair.simulation_token:
        return None
    url = {"portal": pair.portal_url, "gitlab_com": pair.gitlab_com_url}.get(party) or (
        pair.instance_url
    )
    try:
        return HttpParty(party, url, pair.simulation_token, timeout=10).now()
    except PartyError as exc:
        raise click.ClickException(str(exc)) from None


def open_app(party: str, var: Path = DEFAULT_VAR, *, folder: Path | None = None) -> Flask:
    """Wire ``party``'s app (``portal``, ``instance`` or ``gitlab_com``) over its folder — ``folder``, else its
    ``*_INSTANCE_PATH`` setting, else ``VAR/party`` as `provlab up` lays it out — on the clock of
    the pair running from ``var`` when it runs on simulated time. Nothing is prepared or written:
    commands that change data call the app's ``prepare`` themselves."""
    if party == "portal":
        from portal import create_app
    else:
        from instance import create_app
    prefix = PREFIXES[party]
    environ = dict(os.environ)
    environ.setdefault(f"{prefix}_INSTANCE_PATH", str(var / party))
    overrides: dict[str, Any] = {}
    if party == "gitlab_com":  # the instance app in GitLab.com mode, never the instance's folder
        overrides.update({"GITLAB_COM": True, "INSTANCE_PATH": str(var / party)})
    if folder is not None:
        overrides["INSTANCE_PATH"] = str(folder)
    now = pair_now(var, party)
    if now is not None:
        overrides.update({"CLOCK": "simulated", "SIMULATED_START": format_utc(now)})
    return create_app(overrides or None, environ=environ)


def var_of(party: str, folder: Path | None) -> Path:
    """The var folder an app's folder belongs to (`provlab up` puts it at ``VAR/party``), for the
    commands that name the app's folder rather than the pair's."""
    if folder is None:
        folder = Path(os.environ.get(f"{PREFIXES[party]}_INSTANCE_PATH") or DEFAULT_VAR / party)
    return folder.parent
