"""``provlab instance …``: work on a self-managed instance from the command line.

The instance is opened on its folder (``--instance-path``, else ``INSTANCE_INSTANCE_PATH``, else
var/instance) and, when that folder belongs to a running ``provlab up --simulated-time`` pair, at
the instance's simulated time (``provlab.commands.pair.open_app``).
"""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask

from provlab.commands.pair import open_app, var_of


@click.group("instance")
@click.option(
    "--instance-path",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="The instance's folder (default: INSTANCE_INSTANCE_PATH or var/instance).",
)
@click.pass_context
def instance_group(context: click.Context, instance_path: Path | None) -> None:
    """Tasks of the self-managed instance (its database, as configured by INSTANCE_* settings)."""
    # Tests pass a ready app as ``obj={"app": app}``.
    context.ensure_object(dict)
    context.obj["instance_path"] = instance_path


def _instance_app(context: click.Context) -> Flask:
    app: Flask | None = context.obj.get("app")
    if app is None:
        path = context.obj.get("instance_path")
        app = open_app("instance", var_of("instance", path), folder=path)
    return app


@instance_group.command("duo-bulk-assign")
@click.argument("csv_file", type=click.Path(path_type=Path))
@click.pass_context
def duo_bulk_assign(context: click.Context, csv_file: Path) -> None:
    """Assign GitLab Duo seats to the users listed in CSV_FILE (a 'username' header, one
    username per line), like GitLab's gitlab:duo:bulk_user_assignment Rake task (R27)."""
    from instance.bulk_assignment import BulkAssignmentError, assign_usernames, read_usernames
    from webcore.clock import app_clock
    from webcore.transaction import unit_of_work

    try:
        usernames = read_usernames(csv_file)
    except BulkAssignmentError as exc:
        raise click.ClickException(str(exc)) from None
    app = _instance_app(context)
    try:
        with unit_of_work(app):
            result = assign_usernames(usernames, app_clock(app).now())
    except BulkAssignmentError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(result.report())


@instance_group.command("diagnostics")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the bundle here instead of printing it.",
)
@click.option(
    "--url",
    "instance_url",
    help="Fetch the bundle from the running instance at this URL (needs --token): it then "
    "reports what the running instance knows, its version included.",
)
@click.option(
    "--token",
    envvar="PROVLAB_INSTANCE_TOKEN",
    help="Administrator's personal access token for --url (or PROVLAB_INSTANCE_TOKEN).",
)
@click.option(
    "--user",
    "username",
    help="Add this user's part (state, role, billable, seat) for `provlab doctor seat`.",
)
@click.pass_context
def diagnostics(
    context: click.Context,
    output: Path | None,
    instance_url: str | None,
    token: str | None,
    username: str | None,
) -> None:
    """Export the diagnostics bundle (JSON, no secrets) for support's `provlab doctor --bundle`.

    With --url, the running instance answers. Without it the bundle is read from the instance's
    database, and the GitLab version in it is the one the instance ran at its last sync attempt
    (this process's own configured version says nothing about the running instance)."""
    import json

    if instance_url:
        from provlab.doctor_evidence import BundleError, fetch_bundle

        if not token:
            raise click.UsageError("--url needs --token (an administrator's personal access token)")
        try:
            bundle = fetch_bundle(instance_url, token, username)
        except BundleError as exc:
            raise click.ClickException(str(exc)) from None
    else:
        from instance.diagnostics import diagnostics_bundle

        app = _instance_app(context)
        with app.app_context():
            bundle = diagnostics_bundle(app, running=False, username=username)
    text = json.dumps(bundle, indent=2, sort_keys=True) + "\n"
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text)
        click.echo(f"diagnostics bundle written to {output}")
