"""The daily sync (Seat Link) and the Synchronize subscription button (R13, R14, R16, R32)."""

from __future__ import annotations

import datetime as dt

import pytest
import requests
import responses
from flask import Flask
from flask.testing import FlaskClient

from instance.identity import identity
from instance.models import UserState
from instance.portal_client import SESSION_HOOK, portal_session
from protocol.clock import SimulatedClock
from protocol.envelope import seal_response
from protocol.license import AddOnTier
from protocol.messages import SyncAnswer
from protocol.signing import SigningKey
from provlab.parties import InProcessParty
from provlab.timetravel import travel_to
from tests.instance.conftest import add_user
from tests.instance.fake_portal import PORTAL_URL, FakePortal, Subscription
from tests.instance.helpers import activated, licenses, purchase, sync_now
from webcore.clock import app_clock


@pytest.fixture
def subscription(admin_client: FlaskClient, fake_portal: FakePortal) -> Subscription:
    """The subscription the instance was activated on: where most of these tests start."""
    return activated(admin_client, fake_portal)


def _subscription_page(admin_client: FlaskClient) -> str:
    return admin_client.get("/admin/subscription").get_data(as_text=True)


def _first_sync_slot(app: Flask) -> dt.datetime:
    """The instance's daily sync time on the day it starts (2026-03-02): 03:00 UTC plus its own
    minute."""
    with app.app_context():
        minute = identity().sync_minute
    return dt.datetime(2026, 3, 2, 3, 0, tzinfo=dt.UTC) + dt.timedelta(minutes=minute)


def test_r14_synchronize_button_answers_success_and_shows_last_sync(
    admin_client: FlaskClient, app: Flask, fake_portal: FakePortal, subscription: Subscription
) -> None:
    page = _subscription_page(admin_client)
    assert "Synchronize subscription" in page
    app_clock(app).advance(dt.timedelta(hours=2))  # type: ignore[attr-defined]
    assert sync_now(admin_client) == {"success": True}
    page = _subscription_page(admin_client)
    assert '"last-sync">Mar 2, 2026, 02:00 UTC<' in page
    assert len(fake_portal.reports) == 1


@pytest.mark.all_backends
def test_r13_r15_r24_trial_arrives_with_the_daily_sync_at_the_slot(
    admin_client: FlaskClient, app: Flask, fake_portal: FakePortal, subscription: Subscription
) -> None:
    assert "GitLab Duo" not in _subscription_page(admin_client)
    fake_portal.duo(
        subscription, 5, trial=True, starts_on=dt.date(2026, 3, 2), ends_on=dt.date(2026, 5, 1)
    )
    slot = _first_sync_slot(app)
    travel_to([InProcessParty(app)], slot - dt.timedelta(seconds=1))
    assert fake_portal.reports == [] and purchase(app) is None
    travel_to([InProcessParty(app)], slot)
    assert len(fake_portal.reports) == 1
    added = purchase(app)
    assert added is not None and added.trial and added.quantity == 5
    assert 'data-testid="duo-menu"' in _subscription_page(admin_client)
    # and again the next day at the same minute
    travel_to([InProcessParty(app)], slot + dt.timedelta(days=1))
    assert len(fake_portal.reports) == 2


@pytest.mark.all_backends
def test_r32_sync_reports_billable_users_and_add_on_seats(
    admin_client: FlaskClient, app: Flask, fake_portal: FakePortal, subscription: Subscription
) -> None:
    fake_portal.duo(subscription, 10)
    add_user(app, "dev_one")
    add_user(app, "blocked_one", state=UserState.BLOCKED)
    add_user(app, "support", bot_type="support_bot")
    assert sync_now(admin_client)["success"] is True
    assert sync_now(admin_client)["success"] is True
    report = fake_portal.reports[-1]
    assert report.billable_users == 2  # root and dev_one
    assert report.max_historical_users == 2
    assert [(u.tier, u.purchased_seats, u.assigned_seats) for u in report.add_on_usage] == [
        (AddOnTier.DUO_PRO, 10, 0)
    ]
    assert [(d.day, d.billable_users) for d in report.daily_usage] == [(dt.date(2026, 3, 2), 2)]
    with app.app_context():
        assert report.instance_id == identity().instance_id


@responses.activate
def test_r16_sync_connectivity_failure_answers_false_and_shows_hint(
    admin_client: FlaskClient, app: Flask, subscription: Subscription
) -> None:
    before = licenses(app)
    app.extensions[SESSION_HOOK] = requests.Session()
    responses.add(responses.POST, f"{PORTAL_URL}/api/v1/seat_links", body=requests.ConnectTimeout())
    answer = sync_now(admin_client)
    assert answer["success"] is False
    assert "connectivity issue" in str(answer["message"])
    page = _subscription_page(admin_client)
    assert "Cannot synchronize subscription due to a connectivity issue" in page
    assert "HTTPS_PROXY" in page
    assert [r.token for r in licenses(app)] == [r.token for r in before]


@pytest.mark.parametrize(
    ("status", "body", "content_type"),
    [
        (500, "<html>Internal error</html>", "text/html"),
        (200, "<html>captive portal</html>", "text/html"),
        (200, "[1, 2]", "application/json"),
        (200, '{"response": 42}', "application/json"),
        (200, '{"response": "not.a.token"}', "application/json"),
        (401, '{"error": {"code": "invalid_signature", "message": "x"}}', "application/json"),
    ],
)
@responses.activate
def test_r16_odd_portal_answers_fail_the_sync_and_change_nothing(
    admin_client: FlaskClient,
    app: Flask,
    subscription: Subscription,
    status: int,
    body: str,
    content_type: str,
) -> None:
    before = [r.token for r in licenses(app)]
    app.extensions[SESSION_HOOK] = requests.Session()
    responses.add(
        responses.POST,
        f"{PORTAL_URL}/api/v1/seat_links",
        body=body,
        status=status,
        content_type=content_type,
    )
    answer = sync_now(admin_client)
    assert answer["success"] is False and answer["message"]
    assert [r.token for r in licenses(app)] == before


def _spoil(app: Flask, fake_portal: FakePortal, how: str) -> None:
    previous: dict[str, str] = {}

    def tamper(body: dict[str, str]) -> dict[str, str]:
        if how == "wrong_key":
            # A well-formed answer signed by a key the instance does not pin.
            nonce = _nonce_of(body["response"])
            license_token = body["response"]  # shape only; the signature fails first
            return {
                "response": seal_response(
                    SyncAnswer(license_token), SigningKey.generate(), app_clock(app), nonce
                )
            }
        if how == "replayed":
            if "token" not in previous:
                previous["token"] = body["response"]
                return body
            return {"response": previous["token"]}
        if how == "stale":
            clock = SimulatedClock(app_clock(app).now() - dt.timedelta(minutes=30))
            return {
                "response": seal_response(
                    SyncAnswer(_license_of(body["response"])),
                    fake_portal.key,
                    clock,
                    _nonce_of(body["response"]),
                )
            }
        raise AssertionError(how)

    fake_portal.tamper = tamper


def _payload(token: str) -> dict[str, object]:
    import json

    from protocol.encoding import b64url_decode

    return json.loads(b64url_decode(token.split(".")[1]))  # type: ignore[no-any-return]


def _nonce_of(token: str) -> str:
    return str(_payload(token)["nonce"])


def _license_of(token: str) -> str:
    return str(_payload(token)["body"]["license_token"])  # type: ignore[index]


@pytest.mark.parametrize("how", ["wrong_key", "replayed", "stale"])
def test_r13_wrongly_signed_replayed_or_stale_answers_change_nothing(
    admin_client: FlaskClient,
    app: Flask,
    fake_portal: FakePortal,
    subscription: Subscription,
    how: str,
) -> None:
    _spoil(app, fake_portal, how)
    if how == "replayed":
        assert sync_now(admin_client)["success"] is True  # the first answer, remembered
    fake_portal.duo(subscription, 5)
    before = [(r.token, r.current) for r in licenses(app)]
    answer = sync_now(admin_client)
    assert answer["success"] is False
    assert "failed verification" in str(answer["message"])
    assert [(r.token, r.current) for r in licenses(app)] == before
    assert purchase(app) is None


def test_r13_portal_refusal_is_reported(
    admin_client: FlaskClient, app: Flask, subscription: Subscription
) -> None:
    subscription.refuse_with = "subscription_expired"
    answer = sync_now(admin_client)
    assert answer == {
        "success": False,
        "error": "subscription_expired",
        "message": answer["message"],
    }
    assert "expired" in str(answer["message"])


def test_r13_sync_without_cloud_license_is_refused(admin_client: FlaskClient) -> None:
    answer = sync_now(admin_client)
    assert answer["success"] is False and "Activate it" in str(answer["message"])


def test_r13_failed_daily_sync_is_retried_with_backoff_and_shown(
    admin_client: FlaskClient, app: Flask, subscription: Subscription
) -> None:
    subscription.refuse_with = "seat_mismatch"
    slot = _first_sync_slot(app)
    travel = travel_to([InProcessParty(app)], slot + dt.timedelta(minutes=4))
    outcomes = [run["outcome"] for run in travel.runs if run["name"] == "daily_sync"]
    assert outcomes[:3] == ["retrying", "retrying", "retrying"]  # at +0, +1, +3 minutes
    page = _subscription_page(admin_client)
    assert "Seat mismatch" in page
    subscription.refuse_with = None
    travel_to([InProcessParty(app)], slot + dt.timedelta(hours=1))
    page = _subscription_page(admin_client)
    assert 'data-testid="sync-error"' not in page


def test_r16_real_transport_honours_proxy_settings_from_environment(
    make_wired_instance: object, monkeypatch: pytest.MonkeyPatch, app: Flask
) -> None:
    app.extensions.pop(SESSION_HOOK)
    app.config["PORTAL_TRANSPORT"] = "http"
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.corp.test:3128")
    monkeypatch.setenv("NO_PROXY", "")
    session = portal_session(app)
    assert session.trust_env is True
    settings = session.merge_environment_settings(
        "https://customers.gitlab.test/api/v1/seat_links", {}, None, None, None
    )
    assert settings["proxies"]["https"] == "http://proxy.corp.test:3128"


def test_r13_daily_sync_goes_on_after_its_retries_run_out(
    admin_client: FlaskClient, app: Flask, fake_portal: FakePortal, subscription: Subscription
) -> None:
    subscription.refuse_with = "seat_mismatch"
    travel = travel_to([InProcessParty(app)], app_clock(app).now() + dt.timedelta(days=3))
    outcomes = [run["outcome"] for run in travel.runs if run["name"] == "daily_sync"]
    assert outcomes.count("failed") >= 1  # twelve tries, then parked ...
    subscription.refuse_with = None
    before = len(fake_portal.reports)
    travel_to([InProcessParty(app)], app_clock(app).now() + dt.timedelta(days=2))
    assert len(fake_portal.reports) > before  # ... and the clean-up job plans the next slot
    assert sync_now(admin_client)["success"] is True


def test_r13_a_failed_daily_sync_is_tried_about_12_times_over_about_17_hours() -> None:
    import datetime as dt

    from instance.jobs import SYNC_RETRY

    delays = [SYNC_RETRY.delay(attempt) for attempt in range(1, 13)]
    retries = [delay for delay in delays if delay is not None]
    assert len(retries) + 1 == 12  # the first try and 11 retries
    assert delays[-1] is None
    assert dt.timedelta(hours=15) < sum(retries, dt.timedelta()) < dt.timedelta(hours=18)
