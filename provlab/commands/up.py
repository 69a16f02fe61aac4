"""``provlab up``: start the portal, the instance and GitLab.com on loopback, wired together, with
demo data, and record the running servers in the var folder for the other commands.

GitLab.com (the instance app in GitLab.com mode, ``VAR/gitlab_com``) starts with a demo group
whose subscription the portal provisions there as it starts (see ``provlab.gitlab_com_up``).

``--instances N`` starts a fleet instead: N instances against the one portal, each with its own
folder (database, key), activated at start (``GITLAB_ACTIVATION_CODE``) with its own
subscription, which the demo data creates. The first keeps ``VAR/instance``, so the commands that
work on "the" instance (``provlab instance``, ``provlab doctor``) find it."""

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
@click.option(
    "--instance-port",
    default=5020,
    show_default=True,
    help="Port of the instance (with --instances N, of the first; the others follow it).",
)
@click.option("--gitlab-com-port", default=5030, show_default=True, help="Port of GitLab.com.")
@click.option(
    "--instances",
    "fleet_size",
    type=click.IntRange(min=1),
    default=None,
    help="Start N instances, each activated on a subscription of its own (a fleet).",
)
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
    portal_port: int,
    instance_port: int,
    gitlab_com_port: int,
    fleet_size: int | None,
    simulated_start: str | None,
    var: Path,
    reset: bool,
) -> None:
    """Start the portal, the instance and GitLab.com on loopback, wired together, with demo data.

    Prints the URLs, the demo sign-in details and each instance's administrator's personal access
    token; GitLab.com's demo group is provisioned by the portal as it starts. Ctrl-C stops the
    servers. With --instances N: N instances on ports from --instance-port on,
    each activated on a demo subscription of its own.
    """
    from provlab import gitlab_com_up, servers

    instance_ports = list(range(instance_port, instance_port + (fleet_size or 1)))
    if portal_port in instance_ports:
        # Checked before anything is written: the second server could not bind, and the first
        # one's health check would pass for both.
        raise click.UsageError(
            f"--portal-port and --instance-port are both {portal_port}: "
            "the portal and the instance need a port each"
            if portal_port == instance_port
            else f"--portal-port {portal_port} is the port of instance "
            f"{instance_ports.index(portal_port) + 1} of {len(instance_ports)} "
            "(they take the ports from --instance-port on): the portal and each instance "
            "need a port each"
        )
    if gitlab_com_port in (portal_port, *instance_ports):
        raise click.UsageError(
            f"--gitlab-com-port {gitlab_com_port} is taken by the portal or an instance: "
            "GitLab.com needs a port of its own"
        )
    if reset and var.exists():
        shutil.rmtree(var)
    var = var.resolve()
    start = None
    if simulated_start is not None:
        start = format_utc(
            utc_time(simulated_start) if simulated_start != "now" else _now_to_minute()
        )
    for port in (portal_port, *instance_ports, gitlab_com_port):
        # Refused up front: a server already answering there (an earlier `provlab up`) would
        # otherwise pass our health check while ours fails to bind.
        if servers.port_in_use(port):
            raise click.ClickException(f"port {port} on 127.0.0.1 is already in use")
    token = servers.new_simulation_token()
    config = servers.PairConfig(var, portal_port, instance_port, start, {})
    portal_env, instance_env = servers.environments(config, token)
    gitlab_com_env = servers.gitlab_com_environment(var, instance_env, gitlab_com_port, portal_env)

    servers.publish_portal_keys(config, portal_env)
    fleet = fleet_environments(var, instance_env, instance_ports) if fleet_size else []
    demo = _seed_demo(portal_env, fleet or [instance_env], fleet=bool(fleet))
    gitlab_com_demo = gitlab_com_up.seed(gitlab_com_env, portal_env, var)
    demo["gitlab_com_subscriptions"] = [gitlab_com_demo.subscription_name]
    if fleet:
        for env, subscription in zip(fleet, demo["fleet"], strict=True):
            env["GITLAB_ACTIVATION_CODE"] = subscription.activation_code
    gitlab_com_url = f"http://127.0.0.1:{gitlab_com_port}"
    # First, so the portal's push of the demo group (run from here) lands at its first try.
    gitlab_com = servers.start_server(
        "instance", gitlab_com_port, gitlab_com_env, var / "logs" / "gitlab_com.log"
    )
    instances: list[Any] = []
    instance_urls = [f"http://127.0.0.1:{port}" for port in instance_ports]
    portal: Any = None
    try:
        servers.wait_healthy(gitlab_com_url, gitlab_com)
        gitlab_com_up.push_now(portal_env)
        portal = servers.start_server(
            "portal", portal_port, portal_env, var / "logs" / "portal.log"
        )
        servers.wait_healthy(config.portal_url, portal)
        # Started once the portal answers: each fleet instance activates with its code as it
        # starts (a failure shows on its Subscription page, and it still starts).
        for number, (env, port) in enumerate(
            zip(fleet or [instance_env], instance_ports, strict=True)
        ):
            log = var / "logs" / ("instance.log" if number == 0 else f"instance-{number + 1}.log")
            instances.append(servers.start_server("instance", port, env, log))
        for url, process in zip(instance_urls, instances, strict=True):
            servers.wait_healthy(url, process)
    except RuntimeError as exc:
        servers.stop([*instances, *([portal] if portal else []), gitlab_com])
        raise click.ClickException(f"{exc} (see {var / 'logs'})") from None
    processes = [*instances, portal, gitlab_com]
    if fleet:
        demo["activated"] = _fleet_activations(portal_env, [s.name for s in demo["fleet"]])
    servers.RunningPair(
        config.portal_url,
        config.instance_url,
        start is not None,
        token,
        portal.pid,
        instances[0].pid,
        fleet_urls=instance_urls[1:],
        gitlab_com_url=gitlab_com_url,
        gitlab_com_pid=gitlab_com.pid,
    ).save(var)
    push = gitlab_com_up.push_state(portal_env, gitlab_com_demo.subscription_name)
    gitlab_com_lines = gitlab_com_up.banner_lines(gitlab_com_url, gitlab_com_demo, push)
    _print_banner(config, demo, start, instance_urls, gitlab_com_lines)

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
        click.echo(
            "a server stopped unexpectedly; stopping the others (logs in var/logs)", err=True
        )
    except KeyboardInterrupt:
        click.echo("\nstopping the servers…")
    finally:
        servers.stop(processes)
        (var / servers.STATE_FILE).unlink(missing_ok=True)
    if crashed:
        sys.exit(1)


def fleet_environments(
    var: Path, instance_env: dict[str, str], ports: list[int]
) -> list[dict[str, str]]:
    """Each fleet instance's environment: its own folder (database, key) and hostname; the
    first keeps ``VAR/instance``."""
    environments = []
    for number, _port in enumerate(ports, start=1):
        folder = var / ("instance" if number == 1 else f"instance-{number}")
        environments.append(
            {
                **instance_env,
                "INSTANCE_INSTANCE_PATH": str(folder),
                "INSTANCE_HOSTNAME": f"gitlab-{number}.example.test",
            }
        )
    return environments


def _seed_demo(
    portal_env: dict[str, str], instance_envs: list[dict[str, str]], fleet: bool
) -> dict[str, Any]:
    """The portal's demo data (and with a fleet, one subscription per instance) and each
    instance's demo administrator and users."""
    from instance import create_app as create_instance
    from instance.setup import prepare as prepare_instance
    from instance.setup import seed_demo as seed_instance
    from portal import create_app as create_portal
    from portal.setup import DEMO_CUSTOMER
    from portal.setup import seed_demo as seed_portal
    from provlab.fleet import create_fleet_subscriptions

    portal_app = create_portal(environ=portal_env)
    logins = seed_portal(portal_app)
    subscriptions_of_fleet = (
        create_fleet_subscriptions(
            portal_app, len(instance_envs), customer_email=DEMO_CUSTOMER.email
        )
        if fleet
        else []
    )
    admins = []
    apps = [portal_app]
    for env in instance_envs:
        instance_app = create_instance(environ=env)
        prepare_instance(instance_app, environ={})  # activated by its server, once the portal runs
        admins.append(seed_instance(instance_app))
        apps.append(instance_app)
    subscriptions = _demo_subscriptions(portal_app)
    for app in apps:
        with app.app_context():
            app.extensions["sqlalchemy"].engine.dispose()
    return {
        "portal": logins,
        "admin": admins[0],
        "admins": admins,
        "subscriptions": subscriptions,
        "fleet": subscriptions_of_fleet,
    }


def _fleet_activations(portal_env: dict[str, str], names: list[str]) -> dict[str, str | None]:
    """The hostname each fleet subscription is activated for at the portal (None: not
    activated): the banner says what the portal recorded, not what was attempted."""
    import sqlalchemy as sa

    from portal import create_app as create_portal
    from portal.models import Activation, Subscription
    from portal.models import db as portal_db

    app = create_portal(environ=portal_env)
    with app.app_context():
        rows = portal_db.session.execute(
            sa.select(Subscription.name, Activation.hostname)
            .join(Activation, Activation.subscription_id == Subscription.id)
            .where(Subscription.name.in_(names))
        ).all()
        portal_db.engine.dispose()
    hostnames: dict[str, str | None] = dict.fromkeys(names)
    hostnames.update({name: hostname for name, hostname in rows})
    return hostnames


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


def _print_banner(
    config: Any,
    demo: dict[str, Any],
    start: str | None,
    instance_urls: list[str],
    gitlab_com_lines: list[str],
) -> None:
    lines = [
        "",
        "Provision Lab is running"
        + (f" on simulated time from {start}" if start else " on real time"),
        "",
        f"  Customers Portal   {config.portal_url}",
    ]
    for login in demo["portal"]:
        lines.append(f"    {login.role:<9} {login.email} / {login.password}")
    # The fleet's and GitLab.com's subscriptions are listed with their instance, and their group.
    fleet_names = {subscription.name for subscription in demo["fleet"]}
    fleet_names.update(demo.get("gitlab_com_subscriptions", ()))
    for name, plan, license_type in demo.get("subscriptions", []):
        if name not in fleet_names:
            lines.append(f"    subscription {name}  {plan}  {license_type}")
    fleet = demo["fleet"] or [None] * len(instance_urls)
    for number, (url, admin, subscription) in enumerate(
        zip(instance_urls, demo["admins"], fleet, strict=True), start=1
    ):
        title = "Instance" if len(instance_urls) == 1 else f"Instance {number}"
        lines.append(f"  {title:<18} {url}")
        if subscription is not None:
            hostname = demo["activated"].get(subscription.name)
            lines.append(
                f"    activated on subscription {subscription.name}"
                if hostname
                else f"    NOT activated on subscription {subscription.name}: see its log"
            )
        lines += [
            f"    admin     {admin.username} / {admin.password}",
            f"    personal access token (api): {admin.token}",
        ]
    lines += gitlab_com_lines
    lines += [
        "",
        "  Move time with `provlab clock advance 1d`." if start else "",
        "  Press Ctrl-C to stop all servers.",
        "",
    ]
    click.echo("\n".join(line for line in lines))


def _now_to_minute() -> dt.datetime:
    from protocol.clock import RealClock

    return RealClock().now().replace(second=0, microsecond=0)
