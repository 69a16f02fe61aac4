"""``provlab portal jobs``: the portal's job worker as a command (its exactly-once sharing across
processes on PostgreSQL: tests/portal/test_jobs_worker_processes.py)."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest
from click.testing import CliRunner

from provlab.cli import main


def _environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "PORTAL_INSTANCE_PATH": str(tmp_path / "portal"),
        "PORTAL_PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        **extra,
    }


def _queue_mails(env: dict[str, str], count: int) -> None:
    from portal import create_app
    from portal.mail import queue_mail
    from portal.setup import create_account
    from portal.subscriptions import create_subscription
    from webcore.clock import app_clock
    from webcore.transaction import unit_of_work

    app = create_app(environ=env)
    with unit_of_work(app):
        now = app_clock(app).now()
        customer = create_account("a@example.com", "Ann", "ann-password-1", "customer", app)
        subscription = create_subscription(
            customer, plan="premium", seats=5, starts_on=now.date(), now=now
        )
        for number in range(count):
            queue_mail("notice", subscription, f"Notice {number}", "A notice.")
    with app.app_context():
        app.extensions["sqlalchemy"].engine.dispose()


def test_once_prepares_the_portal_runs_what_is_due_and_says_how_many_ran(tmp_path: Path) -> None:
    """R7: a queued mail's delivery job runs in the jobs process (no SMTP server: held)."""
    runner = CliRunner()
    env = _environment(tmp_path)
    args = ["portal", "jobs", "--once", "--var", str(tmp_path)]
    first = runner.invoke(main, args, env=env)
    assert first.exit_code == 0, first.output
    assert first.output.strip().endswith("ran 0 jobs")  # prepared; nothing due yet

    _queue_mails(env, 3)

    second = runner.invoke(main, args, env=env)
    assert second.exit_code == 0, second.output
    assert second.output.strip().endswith("ran 3 jobs (3 done)")
    outbox = runner.invoke(main, ["portal", "outbox", "--var", str(tmp_path), "--json"], env=env)
    assert [mail["status"] for mail in json.loads(outbox.output)] == ["held"] * 3


def test_on_simulated_time_it_refuses_to_run_jobs_by_the_wall_clock(tmp_path: Path) -> None:
    env = _environment(tmp_path, PORTAL_CLOCK="simulated")
    result = CliRunner().invoke(main, ["portal", "jobs", "--var", str(tmp_path)], env=env)
    assert result.exit_code == 1
    assert "simulated time" in result.output


@pytest.fixture(autouse=True)
def _restore_signal_handlers() -> object:
    """The command installs SIGTERM and SIGINT handlers; pytest's own come back after."""
    saved = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    yield None
    signal.signal(signal.SIGTERM, saved[0])
    signal.signal(signal.SIGINT, saved[1])
