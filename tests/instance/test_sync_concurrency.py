"""The instance keeps serving while it talks to the portal (issue 9, point 2).

A held portal answers each held call only when the test releases it, so a sync can be kept "in
flight" for as long as the test needs. While it is, the instance's pages and APIs must answer: no
database transaction (on SQLite: the write lock) may be held across the call. Overlapping syncs
must still install their licenses one after the other, and an older answer never replaces a
newer license. Ordering only: every wait below has a generous timeout that fails the test instead
of hanging it, never a threshold on how fast something was.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from instance.identity import identity
from instance.models import SyncStatus, db
from instance.portal_client import SESSION_HOOK
from provlab.parties import InProcessParty
from provlab.timetravel import travel_to
from tests.instance.conftest import PASSWORD, csrf_token, sign_in
from tests.instance.fake_portal import PORTAL_URL, FakePortal
from tests.instance.helpers import CODE, activate, activated, licenses, sync_now
from webcore.clock import app_clock
from webcore.transport import in_process_session

# Long enough never to fire on a healthy run; only there so that a regression fails, not hangs.
PATIENCE = 20.0


class Gate:
    """One held portal call: ``arrived`` once the portal has answered, sent once ``released``."""

    def __init__(self) -> None:
        self.arrived = threading.Event()
        self.released = threading.Event()


class HeldPortal:
    """WSGI wrapper of the fake portal: the next calls to ``path`` are held at a gate after the
    portal has made its answer (so the answer's license is issued before the wait)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self._gates: list[tuple[str, Gate]] = []
        self._lock = threading.Lock()

    def hold_next(self, path: str = "/api/v1/seat_links") -> Gate:
        gate = Gate()
        with self._lock:
            self._gates.append((path, gate))
        return gate

    def release_all(self) -> None:
        with self._lock:
            gates, self._gates = self._gates, []
        for _, gate in gates:
            gate.released.set()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        with self._lock:
            index = next(
                (i for i, (path, _) in enumerate(self._gates) if path == environ["PATH_INFO"]),
                None,
            )
            gate = self._gates.pop(index)[1] if index is not None else None
        body = list(self.inner(environ, start_response))
        if gate is not None:
            gate.arrived.set()
            gate.released.wait(PATIENCE * 3)
        return body


@pytest.fixture
def held(app: Flask, fake_portal: FakePortal) -> Iterator[HeldPortal]:
    portal = HeldPortal(fake_portal.app)
    app.extensions[SESSION_HOOK] = in_process_session(portal, PORTAL_URL)
    yield portal
    portal.release_all()  # never leave a thread waiting when a test fails


def in_thread(work: Callable[[], Any]) -> tuple[threading.Event, list[Any]]:
    """Run ``work`` in a thread; the event is set when it has returned (or raised)."""
    done = threading.Event()
    result: list[Any] = []

    def run() -> None:
        try:
            result.append(work())
        except BaseException as exc:  # surfaced by the test through ``result``
            result.append(exc)
        finally:
            done.set()

    threading.Thread(target=run, daemon=True).start()
    return done, result


def admin_token(app: Flask) -> str:
    from instance.models import User
    from instance.tokens import create_token

    with app.app_context():
        root = db.session.execute(db.select(User).filter_by(username="root")).scalar_one()
        token = create_token(root, "probe", ["api"], app_clock(app).now())
        db.session.commit()
        return token


def second_admin_client(app: Flask) -> FlaskClient:
    client = app.test_client()
    sign_in(client, "root", PASSWORD)
    return client


def probe_the_instance(app: Flask, admin_client: FlaskClient, token: str) -> list[int]:
    """A health check, an admin page, an admin API call and a sign-in page: the statuses."""
    anonymous = app.test_client()
    return [
        anonymous.get("/-/health").status_code,
        admin_client.get("/admin/subscription").status_code,
        anonymous.get("/api/v4/users", headers={"PRIVATE-TOKEN": token}).status_code,
        anonymous.get("/users/sign_in").status_code,
    ]


def assert_serving_while_held(
    app: Flask, admin_client: FlaskClient, gate: Gate, call: threading.Event, token: str
) -> None:
    assert gate.arrived.wait(PATIENCE), "the sync never reached the portal"
    probes, statuses = in_thread(lambda: probe_the_instance(app, admin_client, token))
    answered = probes.wait(PATIENCE)
    still_held = not gate.released.is_set() and not call.is_set()
    gate.released.set()
    assert answered and still_held, "the instance stopped answering while the portal was held"
    assert statuses == [[200, 200, 200, 200]]


@pytest.mark.all_backends
def test_pages_and_apis_answer_while_a_manual_sync_waits_for_the_portal(
    admin_client: FlaskClient, app: Flask, fake_portal: FakePortal, held: HeldPortal
) -> None:
    activated(admin_client, fake_portal)
    token = admin_token(app)
    syncing = second_admin_client(app)
    gate = held.hold_next()

    call, answer = in_thread(lambda: sync_now(syncing))

    assert_serving_while_held(app, admin_client, gate, call, token)
    assert call.wait(PATIENCE) and answer == [{"success": True}]
    assert len(fake_portal.reports) == 1


@pytest.mark.all_backends
def test_pages_and_apis_answer_while_the_daily_sync_job_waits_for_the_portal(
    admin_client: FlaskClient, app: Flask, fake_portal: FakePortal, held: HeldPortal
) -> None:
    subscription = activated(admin_client, fake_portal)
    token = admin_token(app)
    with app.app_context():
        minute = identity().sync_minute
    slot = dt.datetime(2026, 3, 2, 3, 0, tzinfo=dt.UTC) + dt.timedelta(minutes=minute)
    fake_portal.duo(subscription, 5, trial=True)
    gate = held.hold_next()

    call, travel = in_thread(lambda: travel_to([InProcessParty(app)], slot))

    assert_serving_while_held(app, admin_client, gate, call, token)
    assert call.wait(PATIENCE)
    [done] = [run for run in travel[0].runs if run["name"] == "daily_sync"]
    assert done["outcome"] == "rescheduled" and done["error"] is None
    assert len(fake_portal.reports) == 1


def test_pages_answer_while_an_activation_waits_for_the_portal(
    admin_client: FlaskClient, app: Flask, fake_portal: FakePortal, held: HeldPortal
) -> None:
    fake_portal.add_subscription(CODE)
    token = admin_token(app)
    activating = second_admin_client(app)
    gate = held.hold_next("/api/v1/activations")

    call, outcome = in_thread(lambda: activate(activating))

    assert_serving_while_held(app, admin_client, gate, call, token)
    assert call.wait(PATIENCE)
    status, page = outcome[0]
    assert status == 200 and "Your subscription was successfully activated." in page


@pytest.mark.all_backends
def test_overlapping_syncs_install_one_license_after_the_other_and_the_newer_wins(
    admin_client: FlaskClient, app: Flask, fake_portal: FakePortal, held: HeldPortal
) -> None:
    subscription = activated(admin_client, fake_portal)
    first_client, second_client = second_admin_client(app), second_admin_client(app)
    first_gate = held.hold_next()

    # The first sync gets its license (100 seats) issued, then its answer is held ...
    first, first_answer = in_thread(lambda: sync_now(first_client))
    assert first_gate.arrived.wait(PATIENCE)
    # ... while a second sync, a minute later, brings a newer license (200 seats) and installs it.
    app_clock(app).advance(dt.timedelta(minutes=1))  # type: ignore[attr-defined]
    subscription.seats = 200
    second, second_answer = in_thread(lambda: sync_now(second_client))
    second_done = second.wait(PATIENCE)
    first_gate.released.set()
    assert second_done, "the second sync waited for the first one's portal call"
    assert second_answer == [{"success": True}]
    assert first.wait(PATIENCE) and first_answer == [{"success": True}]

    rows = licenses(app)
    assert [(row.seats, row.current) for row in rows] == [(100, False), (200, True)]
    assert len(fake_portal.reports) == 2
    assert rows[-1].license_id == "L-1-2"  # the second answer's license, not the held one's
    with app.app_context():
        status = db.session.execute(db.select(SyncStatus)).scalar_one()
        assert status.last_error is None


def test_a_sync_answer_does_not_replace_a_license_file_uploaded_meanwhile(
    admin_client: FlaskClient, app: Flask, fake_portal: FakePortal, held: HeldPortal
) -> None:
    from protocol.license import LicenseType

    activated(admin_client, fake_portal)
    syncing = second_admin_client(app)
    gate = held.hold_next()
    call, answer = in_thread(lambda: sync_now(syncing))
    assert gate.arrived.wait(PATIENCE)

    offline = fake_portal.add_subscription("O" * 24, license_type=LicenseType.OFFLINE_CLOUD)
    data = {"license_text": fake_portal.license_file(offline)}
    uploading, upload = in_thread(
        lambda: (
            admin_client.post(
                "/admin/subscription/upload",
                data={**data, "csrf_token": csrf_token(admin_client, "/admin/subscription")},
            ).status_code
        )
    )
    uploaded = uploading.wait(PATIENCE)
    gate.released.set()
    assert uploaded and upload == [302]
    assert call.wait(PATIENCE)
    [result] = answer
    assert result["success"] is False and result["error"] == "license_changed"
    current = [row for row in licenses(app) if row.current]
    assert [row.license_type for row in current] == [LicenseType.OFFLINE_CLOUD.value]
    page = admin_client.get("/admin/subscription").get_data(as_text=True)
    assert "changed while" in page
