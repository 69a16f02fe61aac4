"""The portal's jobs run by several ``provlab portal jobs`` processes against one PostgreSQL
database, as in production: under load, each due job runs exactly once.

The jobs are real mail deliveries (R7) to a real SMTP server, so a job run twice is a mail
received twice, whatever the job table says. The workers are started first and wait; the mails
are then queued in one transaction, so every job becomes due at once and all workers compete.
"""

from __future__ import annotations

import asyncio
import collections
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from tests.conftest import _required
from tests.portal.helpers import customer_subscription
from tests.portal.test_mail import Inbox, running_smtp_server
from tests.support import databases

pytestmark = pytest.mark.e2e

PROVLAB = str(Path(sys.executable).parent / "provlab")
WORKERS = 3
MAILS = 150


class SlowInbox(Inbox):
    """An SMTP server taking a few milliseconds per mail, as a real one does: one worker cannot
    drain the queue before the others poll, so the work is shared."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(0.01)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def postgres_portal(database_pool: databases.Pool, tmp_path: Path) -> Iterator[Flask]:
    if not database_pool.postgres_available():
        message = f"PostgreSQL is not reachable at {databases.POSTGRES_ADMIN_URL}"
        if _required("PROVLAB_REQUIRE_POSTGRES"):
            pytest.fail(message + " (PROVLAB_REQUIRE_POSTGRES is set)")
        pytest.skip(message)
    from portal import create_app
    from portal.setup import prepare

    config = {
        "INSTANCE_PATH": str(tmp_path / "portal"),
        "DATABASE_URL": database_pool.new_database("portal", "postgres"),
        "CLOCK": "real",
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
    }
    app = create_app(config, environ={})
    prepare(app)
    yield app
    with app.app_context():
        app.extensions["sqlalchemy"].session.remove()
        app.extensions["sqlalchemy"].engine.dispose()


def _start_workers(app: Flask, smtp_port: int, logs: Path) -> list[subprocess.Popen[bytes]]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")} | {
        "PORTAL_INSTANCE_PATH": app.instance_path,
        "PORTAL_DATABASE_URL": app.config["DATABASE_URL"],
        "PORTAL_CLOCK": "real",
        "PORTAL_SMTP_HOST": "127.0.0.1",
        "PORTAL_SMTP_PORT": str(smtp_port),
    }
    logs.mkdir()
    workers = []
    for number in range(WORKERS):
        with open(logs / f"worker{number}.log", "wb") as log:
            workers.append(
                subprocess.Popen(
                    [PROVLAB, "portal", "jobs", "--poll", "0.1"],
                    env=environment,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
    deadline = time.monotonic() + 120
    while not all("ready" in (logs / f"worker{n}.log").read_text() for n in range(WORKERS)):
        assert time.monotonic() < deadline, "the workers did not start"
        assert all(w.poll() is None for w in workers), _read_logs(logs)
        time.sleep(0.1)
    return workers


def _read_logs(logs: Path) -> str:
    return "\n".join(path.read_text() for path in sorted(logs.glob("*.log")))


def _queue_mails(app: Flask, subscription_name: str) -> None:
    from portal.mail import queue_mail
    from portal.subscriptions import find_subscription
    from webcore.transaction import unit_of_work

    with unit_of_work(app):
        subscription = find_subscription(subscription_name)
        for number in range(MAILS):
            queue_mail("notice", subscription, f"Notice {number:03d}", "A notice.")


def _statuses(app: Flask) -> collections.Counter[str]:
    from portal.models import MailMessage, db

    with app.app_context():
        return collections.Counter(db.session.execute(sa.select(MailMessage.status)).scalars())


def test_several_worker_processes_share_the_due_jobs_and_run_each_exactly_once(
    postgres_portal: Flask, tmp_path: Path
) -> None:
    """R7: every queued mail is delivered once, by whichever worker process claims its job."""
    app = postgres_portal
    name = customer_subscription(app, "owner@example.com", contact_email="contact@example.com")
    inbox = SlowInbox()
    with running_smtp_server(inbox) as smtp_port:
        workers = _start_workers(app, smtp_port, tmp_path / "logs")
        try:
            _queue_mails(app, name)
            deadline = time.monotonic() + 180
            while _statuses(app)["sent"] < MAILS and time.monotonic() < deadline:
                time.sleep(0.2)
        finally:
            for worker in workers:
                worker.send_signal(signal.SIGTERM)
            codes = [worker.wait(timeout=60) for worker in workers]
    logs = _read_logs(tmp_path / "logs")
    assert codes == [0] * WORKERS, logs
    assert _statuses(app) == {"sent": MAILS}, logs

    received = collections.Counter(message["Subject"] for message in inbox.messages)
    assert received == {f"Notice {n:03d}": 1 for n in range(MAILS)}
    ran = [int(n) for n in re.findall(r"^ran (\d+) jobs", logs, re.M)]
    assert len(ran) == WORKERS and sum(ran) == MAILS, logs
    assert sum(1 for n in ran if n > 0) >= 2, f"one worker ran every job: {ran}"
    from portal.models import Job, db

    with app.app_context():
        left = db.session.execute(
            sa.select(sa.func.count()).where(Job.name == "deliver_mail")
        ).scalar_one()
    assert left == 0
