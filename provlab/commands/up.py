"""``provlab up``: start the portal and the instance on loopback, wired together, with demo data,
and record the running pair in the var folder for the other commands."""

from __future__ import annotations

import datetime as dt
import shutil
import signal
import sys
import time
from pathlib import Path
from typing import Any

import click

from protocol.clock import format_utc
from provlab.commands.options import utc_time, var_option


@click.command("up")
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
            utc_time(simulated_start) if simulated_start != "now" else _now_to_minute()
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
    subscriptions = _demo_subscriptions(portal_app)
    for app in (portal_app, instance_app):
        with app.app_context():
            app.extensions["sqlalchemy"].engine.dispose()
    return {"portal": logins, "admin": admin, "subscriptions": subscriptions}


def _demo_subscriptions(portal_app: Any) -> list[tuple[str, str, str]]:
    """(name, plan, license type) of each demo subscription: a QA script reads them from the
    banner (or `provlab portal list --json`), never from a page's HTML."""
    import sqlalchemy as sa

    from portal.models import Subscription
    from portal.models import db as portal_db

    with portal_app.app_context():
        rows = portal_db.session.execute(
            sa.select(Subscription.name, Subscription.plan, Subscription.license_type).order_by(
                Subscription.id
            )
        ).all()
    return [(name, plan, license_type) for name, plan, license_type in rows]


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
    for name, plan, license_type in demo.get("subscriptions", []):
        lines.append(f"    subscription {name}  {plan}  {license_type}")
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


def _now_to_minute() -> dt.datetime:
    from protocol.clock import RealClock

    return RealClock().now().replace(second=0, microsecond=0)
