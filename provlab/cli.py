"""The ``provlab`` command: run both apps, move their clocks, list what the rules are proven by."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from protocol.clock import format_utc, parse_utc
from provlab import rules as rule_scan
from provlab import rules_catalogue
from provlab.durations import parse_duration

DEFAULT_VAR = Path("var")


def var_option(help_text: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The ``--var`` option: where `provlab up` keeps both apps' files and its state."""
    return click.option(
        "--var",
        "var",
        type=click.Path(path_type=Path),
        default=DEFAULT_VAR,
        show_default=True,
        help=help_text,
    )


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Provision Lab: a Customers Portal and a self-managed GitLab instance, on real or
    simulated time, for reproducing and testing subscription, trial and GitLab Duo provisioning."""


# -- up ------------------------------------------------------------------------------------------


@main.command()
@click.option(
    "--portal-port", default=5010, show_default=True, help="Port of the Customers Portal."
)
@click.option("--instance-port", default=5020, show_default=True, help="Port of the instance.")
@click.option(
    "--simulated-time",
    "simulated_start",
    is_flag=False,
    flag_value="now",
    default=None,
    metavar="[START]",
    help="Put both apps on simulated time, starting at START (UTC, e.g. 2026-03-01T00:00:00Z; "
    "default: now). Move it with `provlab clock`.",
)
@var_option("Folder for both apps' databases, keys and logs.")
@click.option("--reset", is_flag=True, help="Delete the var folder first (a fresh pair).")
def up(
    portal_port: int, instance_port: int, simulated_start: str | None, var: Path, reset: bool
) -> None:
    """Start the portal and the instance on loopback, wired together, with demo data.

    Prints both URLs, the demo sign-in details and an administrator's personal access token;
    Ctrl-C stops both servers.
    """
    from provlab import servers

    if portal_port == instance_port:
        # Checked before anything is written: the second server could not bind, and the first
        # one's health check would pass for both.
        raise click.UsageError(
            f"--portal-port and --instance-port are both {portal_port}: "
            "the portal and the instance need a port each"
        )
    if reset and var.exists():
        shutil.rmtree(var)
    var = var.resolve()
    start = None
    if simulated_start is not None:
        start = format_utc(
            _parse_time(simulated_start) if simulated_start != "now" else _now_to_minute()
        )
    for port in (portal_port, instance_port):
        # Refused up front: a server already answering there (an earlier `provlab up`) would
        # otherwise pass our health check while ours fails to bind.
        if servers.port_in_use(port):
            raise click.ClickException(f"port {port} on 127.0.0.1 is already in use")
    token = servers.new_simulation_token()
    config = servers.PairConfig(var, portal_port, instance_port, start, {})
    portal_env, instance_env = servers.environments(config, token)

    servers.publish_portal_keys(config, portal_env)
    demo = _seed_demo(portal_env, instance_env)
    portal = servers.start_server("portal", portal_port, portal_env, var / "logs" / "portal.log")
    instance = servers.start_server(
        "instance", instance_port, instance_env, var / "logs" / "instance.log"
    )
    processes = [instance, portal]
    try:
        servers.wait_healthy(config.portal_url, portal)
        servers.wait_healthy(config.instance_url, instance)
    except RuntimeError as exc:
        servers.stop(processes)
        raise click.ClickException(f"{exc} (see {var / 'logs'})") from None
    servers.RunningPair(
        config.portal_url, config.instance_url, start is not None, token, portal.pid, instance.pid
    ).save(var)
    _print_banner(config, demo, start)

    def _interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _interrupt)
    # Also when started in the background, where a shell leaves SIGINT ignored.
    signal.signal(signal.SIGINT, _interrupt)
    crashed = False
    try:
        while all(p.poll() is None for p in processes):
            time.sleep(0.5)
        crashed = True
        click.echo("a server stopped unexpectedly; stopping the other (logs in var/logs)", err=True)
    except KeyboardInterrupt:
        click.echo("\nstopping both servers…")
    finally:
        servers.stop(processes)
        (var / servers.STATE_FILE).unlink(missing_ok=True)
    if crashed:
        sys.exit(1)


def _seed_demo(portal_env: dict[str, str], instance_env: dict[str, str]) -> dict[str, Any]:
    from instance import create_app as create_instance
    from instance.setup import prepare as prepare_instance
    from instance.setup import seed_demo as seed_instance
    from portal import create_app as create_portal
    from portal.setup import seed_demo as seed_portal

    portal_app = create_portal(environ=portal_env)
    logins = seed_portal(portal_app)
    instance_app = create_instance(environ=instance_env)
    prepare_instance(instance_app)
    admin = seed_instance(instance_app)
    for app in (portal_app, instance_app):
        with app.app_context():
            app.extensions["sqlalchemy"].engine.dispose()
    return {"portal": logins, "admin": admin}


def _print_banner(config: Any, demo: dict[str, Any], start: str | None) -> None:
    admin = demo["admin"]
    lines = [
        "",
        "Provision Lab is running"
        + (f" on simulated time from {start}" if start else " on real time"),
        "",
        f"  Customers Portal   {config.portal_url}",
    ]
    for login in demo["portal"]:
        lines.append(f"    {login.role:<9} {login.email} / {login.password}")
    lines += [
        f"  Instance           {config.instance_url}",
        f"    admin     {admin.username} / {admin.password}",
        f"    personal access token (api): {admin.token}",
        "",
        "  Move time with `provlab clock advance 1d`." if start else "",
        "  Press Ctrl-C to stop both servers.",
        "",
    ]
    click.echo("\n".join(line for line in lines))


# -- clock ---------------------------------------------------------------------------------------


@main.group()
@var_option("The var folder of the running `provlab up`.")
@click.pass_context
def clock(ctx: click.Context, var: Path) -> None:
    """Show or move both apps' simulated clocks (of a running `provlab up --simulated-time`)."""
    ctx.obj = var


def _var_option(command: Any) -> Any:
    """``--var`` after the subcommand too (``provlab clock advance 2d --var X``)."""
    return click.option(
        "--var",
        "own_var",
        type=click.Path(path_type=Path),
        default=None,
        help="The var folder of the running `provlab up` (as `provlab clock --var`).",
    )(command)


def _parties(var: Path) -> list[Any]:
    from provlab.parties import HttpParty, SkewedParty
    from provlab.servers import RunningPair

    try:
        pair = RunningPair.load(var)
    except LookupError as exc:
        raise click.ClickException(str(exc)) from None
    if not pair.simulated or not pair.simulation_token:
        raise click.ClickException(
            "the running pair is on real time; start it with --simulated-time"
        )
    instance: Any = HttpParty("instance", pair.instance_url, pair.simulation_token)
    if pair.instance_skew_seconds:
        instance = SkewedParty(instance, dt.timedelta(seconds=pair.instance_skew_seconds))
    return [HttpParty("portal", pair.portal_url, pair.simulation_token), instance]


@clock.command("show")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@_var_option
@click.pass_obj
def clock_show(var: Path, as_json: bool, own_var: Path | None) -> None:
    """Print each app's own time (a skewed clock shows as it is) and its next due job."""
    from provlab.parties import PartyError

    var = own_var or var
    try:
        apps = [getattr(party, "inner", party) for party in _parties(var)]
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
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@_var_option
@click.pass_obj
def clock_advance(var: Path, duration: str, as_json: bool, own_var: Path | None) -> None:
    """Move both clocks forward by DURATION (e.g. 2d, 36h, 1d12h, 90m), running every due job
    of both apps in time order."""
    var = own_var or var
    try:
        delta = parse_duration(duration)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    parties = _parties(var)
    _travel(parties, max(p.now() for p in parties) + delta, as_json)


@clock.command("set")
@click.argument("time")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@_var_option
@click.pass_obj
def clock_set(var: Path, time: str, as_json: bool, own_var: Path | None) -> None:
    """Move both clocks forward to TIME (UTC, e.g. 2026-03-01T04:00:00Z), running every due job
    on the way. Clocks never move backwards."""
    var = own_var or var
    target = _parse_time(time)  # a bad time is refused before looking for the servers
    _travel(_parties(var), target, as_json)


def _travel(parties: list[Any], target: dt.datetime, as_json: bool) -> None:
    from provlab.parties import PartyError
    from provlab.timetravel import travel_to

    try:
        journey = travel_to(parties, target)
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


def _parse_time(text: str) -> dt.datetime:
    try:
        return parse_utc(text)
    except ValueError:
        raise click.BadParameter(
            f"{text!r}: expected a UTC time such as 2026-03-01T04:00:00Z"
        ) from None


def _now_to_minute() -> dt.datetime:
    from protocol.clock import RealClock

    return RealClock().now().replace(second=0, microsecond=0)


# -- rules ---------------------------------------------------------------------------------------


@main.command()
@click.argument("rule_ids", nargs=-1, metavar="[ID]...")
@click.option(
    "--check",
    is_flag=True,
    help="Exit non-zero unless every listed rule (e.g. --check R22 R13) is proven; with no ID, "
    "every rule in scope.",
)
@click.option(
    "--root",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("."),
    show_default=True,
    help="The project's root (where tests/ and scenarios/ are).",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def rules(rule_ids: tuple[str, ...], check: bool, root: Path, as_json: bool) -> None:
    """List the rule catalogue (docs/rules.md, R1..R36) and the tests and scenarios that prove
    each rule. With IDs, show just those rules in full, with the functions whose docstrings name
    them."""
    try:
        catalogue = rules_catalogue.catalogue()
    except rules_catalogue.RulesPageError as exc:
        raise click.ClickException(str(exc)) from None
    wanted = list(dict.fromkeys(i.upper() for i in rule_ids))
    bad = [i for i in wanted if rules_catalogue.rule_by_id(i) is None]
    if bad:
        raise click.BadParameter(f"unknown rule ID(s): {', '.join(bad)}", param_hint="ID")
    try:
        proofs = rule_scan.proofs_by_rule(root)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    shown = [r for i in wanted for r in catalogue if r.id == i] if wanted else list(catalogue)
    if as_json:
        click.echo(json.dumps([rule_scan.as_json(r, proofs) for r in shown], indent=2))
    elif wanted:
        for rule in shown:
            click.echo(rule_scan.describe(rule, proofs, rule_scan.scan_docstrings(root, rule.id)))
    else:
        for rule in shown:
            found = proofs.get(rule.id, [])
            click.echo(f"{rule.id:<4} {rule_scan.status(rule, found):<10} {rule.summary[:90]}")
            for proof in found:
                click.echo(f"       {proof.kind:<8} {proof.where}")
        proven = sum(1 for r in catalogue if proofs.get(r.id))
        click.echo(f"\n{proven} of {len(catalogue)} rules proven")
    unknown = rule_scan.unknown_rule_ids(proofs)
    if unknown:
        raise click.ClickException(
            f"tests or scenarios name rules that do not exist: {', '.join(unknown)}"
        )
    if not check:
        return
    required = wanted or [r.id for r in catalogue if not r.later]
    unproven = [i for i in required if not proofs.get(i)]
    if unproven:
        click.echo(f"not proven: {', '.join(unproven)}", err=True)
        sys.exit(1)


# -- scenario ------------------------------------------------------------------------------------


@main.group()
def scenario() -> None:
    """Run scenario files (YAML) that set up both parties, act, travel in time and check."""


@scenario.command("run")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--transport",
    type=click.Choice(["inprocess", "http", "both"]),
    default="inprocess",
    show_default=True,
    help="inprocess: both apps in this process (fast); http: both served "
    "by real HTTP servers on loopback; both: each scenario over each transport.",
)
@click.option(
    "--junit",
    "junit_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write JUnit XML here (for CI).",
)
@click.option("--verbose", "-v", is_flag=True, help="Also print the apps' own log lines.")
def scenario_run(
    paths: tuple[Path, ...], transport: str, junit_path: Path | None, verbose: bool
) -> None:
    """Run the scenario files PATHS (files or folders of *.yaml). Exits non-zero on any failure,
    printing a timeline of both parties' events around each failing step."""
    import logging

    from provlab.scenario.junit import write_junit
    from provlab.scenario.runner import run_file

    if not verbose:
        logging.disable(logging.WARNING)  # what matters is on each scenario's timeline

    files = _scenario_files(paths)
    if not files:
        raise click.ClickException("no scenario files (*.yaml) found")
    transports = ["inprocess", "http"] if transport == "both" else [transport]
    results = []
    for path in files:
        for each in transports:
            result = run_file(path, each)
            results.append(result)
            click.echo(result.report())
    if junit_path is not None:
        write_junit(results, junit_path)
    failed = sum(1 for r in results if not r.passed)
    click.echo(f"\n{len(results) - failed} passed, {failed} failed")
    if failed:
        sys.exit(1)


@scenario.command("steps")
def scenario_steps() -> None:
    """List the scenario vocabulary: actions and expectations, with an example each."""
    from provlab.scenario import runner  # noqa: F401 - registers the vocabulary
    from provlab.scenario.vocabulary import ACTIONS, EXPECTATIONS

    click.echo("Actions (one per step):")
    for found in sorted(ACTIONS.values(), key=lambda a: a.name):
        click.echo(f"  {found.name:<24} {found.help}\n  {'':<24} {found.example}")
    click.echo("\nExpectations (keys of an `expect` step):")
    for found in sorted(EXPECTATIONS.values(), key=lambda a: a.name):
        click.echo(f"  {found.name:<24} {found.help}\n  {'':<24} {found.example}")


def _scenario_files(paths: tuple[Path, ...]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        files.extend(sorted(path.rglob("*.yaml")) if path.is_dir() else [path])
    return files


# -- doctor --------------------------------------------------------------------------------------


@main.group()
def doctor() -> None:
    """Diagnose a customer's case: walk the path and name the cause."""


@doctor.command("trial")
@click.option(
    "--subscription", "subscription_name", required=True, help="The subscription name (A-S…)."
)
@click.option("--email", help="Only the trial requests made with this email.")
@click.option(
    "--instance",
    "instance_url",
    help="The instance's URL, to read its live diagnostics "
    "(needs --token, an administrator's personal access token).",
)
@click.option(
    "--token",
    envvar="PROVLAB_INSTANCE_TOKEN",
    help="Administrator's personal access token for --instance (or PROVLAB_INSTANCE_TOKEN).",
)
@click.option(
    "--bundle",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A diagnostics bundle exported from the instance (JSON).",
)
@var_option("The var folder of the portal (its database, unless PORTAL_DATABASE_URL is set).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def doctor_trial(
    subscription_name: str,
    email: str | None,
    instance_url: str | None,
    token: str | None,
    bundle: Path | None,
    var: Path,
    as_json: bool,
) -> None:
    """Why has this subscription's GitLab Duo trial not started? Prints the verdict naming the
    first cause on the path, its rule, the facts it rests on and the next action; every other
    blocker follows as ALSO; the evidence is listed below.

    Exit status: 0 healthy, 1 a cause was found, 2 usage error (or evidence that cannot be
    read: a damaged bundle, an unreachable instance, no portal database)."""
    from provlab.doctor import diagnose_trial
    from provlab.doctor_evidence import (
        BundleError,
        fetch_bundle,
        instance_evidence,
        portal_evidence,
    )

    if instance_url and bundle:
        raise click.UsageError("give --instance or --bundle, not both")
    if instance_url and not token:
        raise click.UsageError("--instance needs --token (an administrator's personal access token)")
    instance = None
    try:
        if bundle is not None:
            instance = instance_evidence(json.loads(bundle.read_text()))
        elif instance_url and token:
            instance = instance_evidence(fetch_bundle(instance_url, token))
    except (BundleError, json.JSONDecodeError) as exc:
        raise click.UsageError(f"cannot read the instance's diagnostics: {exc}") from None
    try:
        portal_app = _portal_for_doctor(var)
    except click.ClickException as exc:
        raise click.UsageError(exc.message) from None
    verdict = diagnose_trial(portal_evidence(portal_app, subscription_name, email), instance)
    if as_json:
        click.echo(json.dumps(verdict.to_dict(), indent=2))
    else:
        click.echo(verdict.render())
    sys.exit(0 if verdict.healthy else 1)


def _portal_for_doctor(var: Path) -> Any:
    """The portal app over the same database as the running portal, on the portal's clock."""
    import os

    from portal import create_app
    from provlab.parties import HttpParty, PartyError
    from provlab.servers import RunningPair

    environ = dict(os.environ)
    environ.setdefault("PORTAL_INSTANCE_PATH", str(var / "portal"))
    pair = None
    try:
        pair = RunningPair.load(var)
    except LookupError:
        pass
    if pair is not None and pair.simulated and pair.simulation_token:
        try:
            now = HttpParty("portal", pair.portal_url, pair.simulation_token).now()
        except PartyError as exc:
            raise click.ClickException(str(exc)) from None
        environ.update({"PORTAL_CLOCK": "simulated", "PORTAL_SIMULATED_START": format_utc(now)})
    app = create_app(environ=environ)
    database = app.config["SQLALCHEMY_DATABASE_URI"]
    if database.startswith("sqlite:///") and not Path(database.removeprefix("sqlite:///")).exists():
        raise click.ClickException(f"no portal database at {database}: is --var right?")
    return app


# -- fault ---------------------------------------------------------------------------------------

INSTANCE_FAULT_HELP = (
    "unreachable, timeout, server_error, tampered, wrong_key, replay, proxy (on the instance's "
    "calls to the portal); payment_declined (on the portal)"
)


@main.group(
    help=f"Inject faults into a running `provlab up`: {INSTANCE_FAULT_HELP}; and clock skew."
)
@var_option("The var folder of the running `provlab up`.")
@click.pass_context
def fault(ctx: click.Context, var: Path) -> None:
    ctx.obj = var


def _fault_call(var: Path, app_name: str, body: dict[str, Any] | None) -> dict[str, Any]:
    import requests

    from provlab.servers import RunningPair

    try:
        pair = RunningPair.load(var)
    except LookupError as exc:
        raise click.ClickException(str(exc)) from None
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
@_var_option
@click.pass_obj
def fault_list(var: Path, own_var: Path | None) -> None:
    """Show the faults in force on both servers."""
    from provlab.servers import RunningPair

    var = own_var or var
    for app_name in ("portal", "instance"):
        data = _fault_call(var, app_name, None)
        active = ", ".join(data["active"]) or "none"
        click.echo(f"{app_name:<9} active: {active}   (known: {', '.join(data['known'])})")
    skew = RunningPair.load(var).instance_skew_seconds
    click.echo(
        f"clock skew: instance {dt.timedelta(seconds=skew)} ahead" if skew else "clock skew: none"
    )


@fault.command("set", help=f"Switch a fault on: KIND is one of {INSTANCE_FAULT_HELP}.")
@click.argument("kind")
@_var_option
@click.pass_obj
def fault_set(var: Path, kind: str, own_var: Path | None) -> None:
    var = own_var or var
    data = _fault_call(var, _app_of(kind), {"set": kind})
    click.echo(f"{kind} is on; active on the {data['app']}: {', '.join(data['active'])}")


@fault.command("clear")
@click.argument("kind", default="all")
@_var_option
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
@_var_option
@click.pass_obj
def fault_skew(var: Path, duration: str, own_var: Path | None) -> None:
    """Run the instance's simulated clock DURATION ahead of the portal's (e.g. 10m); `0s` ends
    the skew, the portal's clock catching up (clocks never move backwards)."""
    import dataclasses

    var = own_var or var
    from provlab.servers import RunningPair
    from provlab.timetravel import travel_to

    offset = dt.timedelta() if duration.strip() in ("0", "0s", "off") else _duration(duration)
    parties = _parties(var)
    pair = RunningPair.load(var)
    portal, instance = parties
    base = getattr(instance, "inner", instance)
    if offset:
        base.run_due(max(portal.now() + offset, base.now()))
    else:
        travel_to([portal, base], max(base.now(), portal.now()))
    dataclasses.replace(pair, instance_skew_seconds=offset.total_seconds()).save(var)
    click.echo(f"instance clock {offset} ahead of the portal's" if offset else "clock skew ended")


def _duration(text: str) -> dt.timedelta:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


# -- bench ---------------------------------------------------------------------------------------


@main.group()
def bench() -> None:
    """Measure the targets of docs/design.md (ratios and times measured side by side in one run)."""


def _quiet() -> None:
    import logging

    logging.disable(logging.WARNING)


@bench.command("sync")
@click.option("--requests", "per_round", default=200, show_default=True, help="Requests per round.")
@click.option("--rounds", default=5, show_default=True, help="Alternating rounds of each endpoint.")
def bench_sync_command(per_round: int, rounds: int) -> None:
    """The portal's sync endpoint against a one-read endpoint on the same server (target >= 0.6)."""
    from provlab.bench import bench_sync

    _quiet()
    click.echo(bench_sync(per_round, rounds).render())


@bench.command("year")
@click.option("--users", default=1000, show_default=True, help="Users on the instance.")
@click.option("--days", default=365, show_default=True, help="Simulated days.")
def bench_year_command(users: int, days: int) -> None:
    """A simulated year of one portal and one instance (target < 2 s for 1,000 users; other
    sizes are held to the same time per user and day, i.e. linear growth)."""
    from provlab.bench import bench_year

    _quiet()
    click.echo(bench_year(users, days).render())


@bench.command("seats")
@click.option("--users", default=10_000, show_default=True, help="Users to assign, then halve.")
def bench_seats_command(users: int) -> None:
    """Bulk assignment and overage removal (target < 2 s each for 10,000 users)."""
    from provlab.bench import bench_seats

    _quiet()
    for measurement in bench_seats(users):
        click.echo(measurement.render())


@bench.command("review")
@click.option("--subscriptions", default=10_000, show_default=True, help="Subscriptions reviewed.")
def bench_review_command(subscriptions: int) -> None:
    """A seat review of N subscriptions with a year of daily usage each (target < 10 s)."""
    from provlab.bench import bench_review

    _quiet()
    click.echo(bench_review(subscriptions).render())


# -- each app's own commands ---------------------------------------------------------------------

from portal.cli import portal_group  # noqa: E402 - registered last, after provlab's own commands
from provlab.instance_cli import instance_group  # noqa: E402

main.add_command(portal_group)
main.add_command(instance_group)
