"""``provlab doctor``: for support, walk a customer's case from both parties' evidence and name
the cause."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from provlab.commands.options import json_option, var_option
from provlab.commands.pair import open_app


@click.group("doctor")
def doctor() -> None:
    """Diagnose a customer's case: walk the path and name the cause."""


@doctor.command("trial")
@click.option("--subscription", "subscription_name", help="The subscription name (A-S…).")
@click.option(
    "--namespace",
    help="Instead: a GitLab.com group's full path; why didn't its Duo Pro trial start? (R25)",
)
@click.option("--user", help="With --namespace: the GitLab.com username who asked for the trial.")
@click.option(
    "--gitlab-com-path",
    type=click.Path(file_okay=False, path_type=Path),
    help="With --namespace: GitLab.com's folder (default: VAR/gitlab_com, as `provlab up` has it).",
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
@json_option
def doctor_trial(
    subscription_name: str | None,
    namespace: str | None,
    user: str | None,
    gitlab_com_path: Path | None,
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
    read: a damaged bundle, an unreachable instance, no portal database).

    With --namespace GROUP (and --user, the requester): a GitLab.com group's trial instead, from
    GitLab.com's database and the portal's (see provlab/doctor_namespace.py)."""
    if bool(namespace) == bool(subscription_name):
        raise click.UsageError("give --subscription NAME, or --namespace GROUP (GitLab.com)")
    if namespace:
        from provlab.commands.doctor_namespace import run_namespace_doctor

        if instance_url or bundle or email:
            raise click.UsageError(
                "--namespace reads GitLab.com: no --instance, --bundle or --email"
            )
        run_namespace_doctor(namespace, user, gitlab_com_path, var, as_json)
        return
    if user or gitlab_com_path:
        raise click.UsageError("--user and --gitlab-com-path go with --namespace")
    assert subscription_name is not None
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
        raise click.UsageError(
            "--instance needs --token (an administrator's personal access token)"
        )
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
    app = open_app("portal", var)
    database = app.config["SQLALCHEMY_DATABASE_URI"]
    if database.startswith("sqlite:///") and not Path(database.removeprefix("sqlite:///")).exists():
        raise click.ClickException(f"no portal database at {database}: is --var right?")
    return app
