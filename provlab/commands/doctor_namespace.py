"""``provlab doctor trial --namespace GROUP``: why didn't a GitLab.com group's GitLab Duo Pro trial
start? (see provlab/doctor_namespace.py). Reads GitLab.com's database (``VAR/gitlab_com`` as
`provlab up` lays it out, or ``--gitlab-com-path``) and the portal's, each at its running app's
time. Exit status: 0 the trial is applied and active, 1 a cause found, 2 usage error or
unreadable evidence."""

from __future__ import annotations

from pathlib import Path

import click

from provlab.commands.doctor import Evidence
from provlab.commands.pair import open_app


def run_namespace_doctor(
    namespace: str, user: str | None, gitlab_com_path: Path | None, var: Path, as_json: bool
) -> None:
    from provlab.doctor_namespace import diagnose_namespace_trial
    from provlab.doctor_namespace_evidence import gitlab_com_evidence, portal_link_evidence

    folder = gitlab_com_path or var / "gitlab_com"
    gitlab_com = open_app("gitlab_com", var, folder=folder)
    database = gitlab_com.config["SQLALCHEMY_DATABASE_URI"]
    if database.startswith("sqlite:///") and not Path(database.removeprefix("sqlite:///")).exists():
        raise click.UsageError(f"no GitLab.com database at {database}: is --var right?")
    evidence = Evidence(None, None, None, var, as_json)
    portal = evidence.portal_app()
    group = gitlab_com_evidence(gitlab_com, namespace.strip().strip("/"), user)
    link = portal_link_evidence(portal, group.root_id, group.root_path or group.path)
    evidence.answer(diagnose_namespace_trial(group, link))
