"""The bulk assignment command-line task (R27), printing as GitLab's Rake task does."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient

from instance.models import AccessLevel, UserState
from provlab.commands.instance import instance_group
from tests.instance.conftest import add_user
from tests.instance.fake_portal import FakePortal
from tests.instance.helpers import activated, assigned_usernames, sync_now


def _run(app: Flask, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(instance_group, ["duo-bulk-assign", *args], obj={"app": app})
    return result.exit_code, result.output


def _csv(tmp_path: Path, *usernames: str) -> str:
    path = tmp_path / "users.csv"
    path.write_text("username\n" + "".join(f"{name}\n" for name in usernames))
    return str(path)


def test_r27_bulk_task_assigns_listed_users_and_stops_when_seats_run_out(
    admin_client: FlaskClient, app: Flask, fake_portal: FakePortal, tmp_path: Path
) -> None:
    subscription = activated(admin_client, fake_portal)
    fake_portal.duo(subscription, 3)
    sync_now(admin_client)
    for name in ("ann", "bob", "cyd", "dan"):
        add_user(app, name)
    add_user(app, "guest", highest_access_level=AccessLevel.GUEST)
    add_user(app, "blocked", state=UserState.BLOCKED)
    code, output = _run(
        app, _csv(tmp_path, "ann", "nobody", "guest", "bob", "ann", "cyd", "dan", "blocked")
    )
    assert code == 0
    assert output == (
        "\nSuccessful Assignments:\n"
        "User assigned: ann\n"
        "User assigned: bob\n"
        "User assigned: ann\n"
        "User assigned: cyd\n"
        "\nFailed Assignments:\n"
        "User is not found: nobody\n"
        'Failed to assign seat to user: guest, Errors: ["INVALID_USER_MEMBERSHIP"]\n'
        "##No seats are left; users starting from @dan onwards were not assigned.##\n"
    )
    assert assigned_usernames(app) == {"ann", "bob", "cyd"}


def test_r27_bulk_task_errors(admin_client: FlaskClient, app: Flask, tmp_path: Path) -> None:
    code, output = _run(app, str(tmp_path / "missing.csv"))
    assert code == 1 and "File path is invalid." in output
    code, output = _run(app, _csv(tmp_path, "root"))
    assert code == 1 and "Unable to find Duo add-on purchase." in output
    bad = tmp_path / "bad.csv"
    bad.write_text("user\nroot\n")
    code, output = _run(app, str(bad))
    assert code == 1 and "'username' header" in output
