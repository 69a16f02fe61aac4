"""``provlab doctor``: for support, walk a customer's case from both parties' evidence and name
the cause. This module holds the group, ``doctor trial``, and what every doctor command shares:
the evidence options, reading the instance's diagnostics, opening the portal, and the answer
(``commands.doctor_cases`` adds ``seat``, ``activation`` and ``menu``).

Exit status: 0 healthy, 1 a cause was found, 2 usage error (or evidence that cannot be read: a
damaged bundle, an unreachable instance, no portal database)."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from flask import Flask

from provlab.commands.options import json_option, var_option
from provlab.commands.pair import open_app

if TYPE_CHECKING:
    from provlab.doctor_model import InstanceEvidence, Verdict


@click.group("doctor")
def doctor() -> None:
    """Diagnose a customer's case: walk the path and name the cause."""


@dataclass(frozen=True)
class Evidence:
    """Where a doctor command reads the parties' evidence (its --instance/--token/--bundle and
    --var) and how it answers (--json)."""

    instance_url: str | None
    token: str | None
    bundle_path: Path | None
    var: Path
    as_json: bool

    @property
    def live(self) -> bool:
        """Whether the instance's diagnostics come from the running instance."""
        return self.instance_url is not None

    def bundle(self, user: str | None = None) -> dict[str, Any] | None:
        """The instance's diagnostics bundle, if one was given (``user`` adds that user's part
        to a live one); a bad one is a usage error. Its format is checked by ``instance``."""
        from provlab.doctor_evidence import BundleError, fetch_bundle

        if self.instance_url and self.bundle_path:
            raise click.UsageError("give --instance or --bundle, not both")
        if self.instance_url and not self.token:
            raise click.UsageError(
                "--instance needs --token (an administrator's personal access token)"
            )
        try:
            if self.bundle_path is not None:
                answer: dict[str, Any] = json.loads(self.bundle_path.read_text())
                return answer
            if self.instance_url and self.token:
                return fetch_bundle(self.instance_url, self.token, user)
        except (BundleError, json.JSONDecodeError) as exc:
            raise unreadable(exc) from None
        return None

    def instance(self, bundle: dict[str, Any] | None) -> InstanceEvidence | None:
        """The instance's evidence from its bundle, if there is one; a damaged one is a usage
        error."""
        from provlab.doctor_evidence import BundleError, instance_evidence

        try:
            return instance_evidence(bundle) if bundle is not None else None
        except BundleError as exc:
            raise unreadable(exc) from None

    def portal_app(self) -> Flask:
        """The portal app over the same database as the running portal, on the portal's clock;
        no portal database there (or a running pair that cannot be read) is a usage error."""
        try:
            app = open_app("portal", self.var)
        except click.ClickException as exc:
            raise click.UsageError(exc.message) from None
        database = app.config["SQLALCHEMY_DATABASE_URI"]
        if (
            database.startswith("sqlite:///")
            and not Path(database.removeprefix("sqlite:///")).exists()
        ):
            raise click.UsageError(f"no portal database at {database}: is --var right?")
        return app

    def answer(self, verdict: Verdict) -> None:
        """Print the verdict (as JSON with --json) and exit 0 when healthy, 1 when a cause is
        found."""
        click.echo(json.dumps(verdict.to_dict(), indent=2) if self.as_json else verdict.render())
        sys.exit(0 if verdict.healthy else 1)


def unreadable(exc: Exception) -> click.UsageError:
    return click.UsageError(f"cannot read the instance's diagnostics: {exc}")


def evidence_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--instance/--token/--bundle (the instance's side), --var (the portal's) and --json,
    handed to the command as one ``evidence`` argument."""

    @functools.wraps(command)
    def with_evidence(
        *,
        instance_url: str | None,
        token: str | None,
        bundle: Path | None,
        var: Path,
        as_json: bool,
        **given: Any,
    ) -> Any:
        return command(evidence=Evidence(instance_url, token, bundle, var, as_json), **given)

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
    decorated: Callable[..., Any] = with_evidence
    for option in reversed(options):
        decorated = option(decorated)
    return decorated


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
@evidence_options
def doctor_trial(
    subscription_name: str | None,
    namespace: str | None,
    user: str | None,
    gitlab_com_path: Path | None,
    email: str | None,
    evidence: Evidence,
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

        if evidence.instance_url or evidence.bundle_path or email:
            raise click.UsageError(
                "--namespace reads GitLab.com: no --instance, --bundle or --email"
            )
        run_namespace_doctor(namespace, user, gitlab_com_path, evidence.var, evidence.as_json)
        return
    if user or gitlab_com_path:
        raise click.UsageError("--user and --gitlab-com-path go with --namespace")
    assert subscription_name is not None
    from provlab.doctor import diagnose_trial
    from provlab.doctor_evidence import portal_evidence

    instance = evidence.instance(evidence.bundle())
    portal = portal_evidence(evidence.portal_app(), subscription_name, email)
    evidence.answer(diagnose_trial(portal, instance))
