"""Admin → Subscription: activation with a code (R8), install-time activation, license files (R9)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import requests
import responses
from flask import Flask
from flask.testing import FlaskClient

from instance.portal_client import SESSION_HOOK
from instance.setup import prepare
from protocol.license import LicenseType
from tests.instance.fake_portal import PORTAL_URL, FakePortal
from tests.instance.helpers import CODE, activate, activated, licenses


def assert_refused(
    admin_client: FlaskClient, app: Flask, text: str, code: str = CODE, *, terms: bool = True
) -> None:
    """Activating with ``code`` (terms accepted unless told) is refused: 422 with ``text``, and
    no license is installed."""
    status, page = activate(admin_client, code, terms=terms)
    assert status == 422 and text in page
    assert licenses(app) == []


def test_r8_activation_with_code_installs_online_cloud_license(
    admin_client: FlaskClient, app: Flask, fake_portal: FakePortal
) -> None:
    subscription = activated(admin_client, fake_portal, seats=40)
    page = admin_client.get("/admin/subscription").get_data(as_text=True)
    assert "Online license" in page and subscription.name in page
    assert 'data-testid="seats">40<' in page
    [row] = licenses(app)
    assert row.current and row.license_type == "online_cloud" and row.activated_at is not None
    assert row.instance_id == subscription.instance_id


def test_r8_activation_needs_terms_accepted(
    admin_client: FlaskClient, app: Flask, fake_portal: FakePortal
) -> None:
    fake_portal.add_subscription(CODE)
    assert_refused(admin_client, app, "Terms of Service", terms=False)


def test_r8_activation_code_format_is_checked_before_calling_the_portal(
    admin_client: FlaskClient, app: Flask, fake_portal: FakePortal
) -> None:
    text = "The activation code should be a 24-character alphanumeric string"
    assert_refused(admin_client, app, text, "short-code")


def test_r8_activation_refusals_show_the_real_messages(
    admin_client: FlaskClient, app: Flask, fake_portal: FakePortal
) -> None:
    assert_refused(admin_client, app, "Invalid activation code", "Z" * 24)
    subscription = fake_portal.add_subscription(CODE)
    for code, text in [
        ("subscription_expired", "Your subscription has expired"),
        ("subscription_not_cloud_compatible", "not compatible with cloud licensing"),
        ("seat_mismatch", "Seat mismatch"),
    ]:
        subscription.refuse_with = code
        assert_refused(admin_client, app, text)


def test_r8_code_bound_to_another_instance_is_refused(
    admin_client: FlaskClient, app: Flask, fake_portal: FakePortal
) -> None:
    fake_portal.add_subscription(CODE, instance_id="another-instance")
    assert_refused(admin_client, app, "This activation code is already in use by another instance")


def test_r8_activating_again_with_the_same_code_succeeds(
    admin_client: FlaskClient, app: Flask, fake_portal: FakePortal
) -> None:
    activated(admin_client, fake_portal)
    status, page = activate(admin_client)
    assert status == 200 and "Your subscription was successfully activated." in page
    assert [row.current for row in licenses(app)] == [False, True]


@responses.activate
def test_r16_activation_connectivity_issue_is_named(
    admin_client: FlaskClient, app: Flask, fake_portal: FakePortal
) -> None:
    app.extensions[SESSION_HOOK] = requests.Session()
    responses.add(
        responses.POST,
        f"{PORTAL_URL}/api/v1/activations",
        body=requests.ConnectionError("refused"),
    )
    assert_refused(admin_client, app, "Cannot activate instance due to a connectivity issue")


def _tamper_with_the_signature(fake_portal: FakePortal) -> None:
    def tamper(body: dict[str, str]) -> dict[str, str]:
        header, payload, signature = body["response"].split(".")
        return {"response": f"{header}.{payload}.{signature[:-4]}AAAA"}

    fake_portal.tamper = tamper


def _bind_the_license_to_another_instance(fake_portal: FakePortal) -> None:
    original = fake_portal.license
    fake_portal.license = lambda subscription, instance_id: original(subscription, "someone-else")  # type: ignore[method-assign]


@pytest.mark.parametrize(
    "spoil",
    [_tamper_with_the_signature, _bind_the_license_to_another_instance],
    ids=["tampered-answer", "license-bound-to-another-instance"],
)
def test_r8_an_activation_answer_failing_verification_is_refused_and_changes_nothing(
    admin_client: FlaskClient,
    app: Flask,
    fake_portal: FakePortal,
    spoil: Callable[[FakePortal], None],
) -> None:
    fake_portal.add_subscription(CODE)
    spoil(fake_portal)
    assert_refused(admin_client, app, "failed verification")


def test_r8_activation_at_install_time_from_environment(
    app: Flask, fake_portal: FakePortal
) -> None:
    fake_portal.add_subscription(CODE)
    prepare(app, environ={"GITLAB_ACTIVATION_CODE": CODE})
    [row] = licenses(app)
    assert row.license_type == "online_cloud"
    prepare(app, environ={"GITLAB_ACTIVATION_CODE": CODE})  # already licensed: nothing more
    assert len(licenses(app)) == 1


@responses.activate
def test_r16_install_time_activation_is_retried_until_the_portal_answers(
    app: Flask, fake_portal: FakePortal
) -> None:
    import datetime as dt

    from provlab.parties import InProcessParty
    from provlab.timetravel import travel_to
    from webcore.clock import app_clock
    from webcore.transport import in_process_session

    fake_portal.add_subscription(CODE)
    app.extensions[SESSION_HOOK] = requests.Session()
    responses.add(
        responses.POST,
        f"{PORTAL_URL}/api/v1/activations",
        body=requests.ConnectionError("portal still starting"),
    )
    prepare(app, environ={"GITLAB_ACTIVATION_CODE": CODE})
    assert licenses(app) == []
    travel = travel_to([InProcessParty(app)], app_clock(app).now() + dt.timedelta(minutes=1))
    outcomes = [r["outcome"] for r in travel.runs if r["name"] == "install_activation"]
    assert outcomes and set(outcomes) == {"retrying"}
    app.extensions[SESSION_HOOK] = in_process_session(fake_portal.app, PORTAL_URL)
    travel_to([InProcessParty(app)], app_clock(app).now() + dt.timedelta(minutes=5))
    [row] = licenses(app)
    assert row.license_type == "online_cloud"


def test_install_time_activation_failure_is_shown_not_raised(
    app: Flask, admin_client: FlaskClient
) -> None:
    prepare(app, environ={"GITLAB_ACTIVATION_CODE": "Y" * 24})
    assert licenses(app) == []
    assert "Invalid activation code" in admin_client.get("/admin/subscription").get_data(
        as_text=True
    )


def _upload(client: FlaskClient, text: str) -> tuple[int, str]:
    import io

    from tests.instance.conftest import csrf_token

    token = csrf_token(client, "/admin/subscription")
    response = client.post(
        "/admin/subscription/upload",
        data={
            "csrf_token": token,
            "license_file": (io.BytesIO(text.encode()), "license.gitlab-license"),
        },
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    return response.status_code, response.get_data(as_text=True)


def test_r9_legacy_and_offline_license_files_can_be_uploaded(
    admin_client: FlaskClient, app: Flask, fake_portal: FakePortal
) -> None:
    legacy = fake_portal.add_subscription("L" * 24, license_type=LicenseType.LEGACY)
    status, page = _upload(admin_client, fake_portal.license_file(legacy, trial=True))
    assert status == 200 and "successfully uploaded" in page and "Legacy license" in page
    offline = fake_portal.add_subscription("O" * 24, license_type=LicenseType.OFFLINE_CLOUD)
    status, page = _upload(admin_client, fake_portal.license_file(offline))
    assert status == 200 and "Offline license" in page
    rows = licenses(app)
    assert [(r.license_type, r.current) for r in rows] == [
        ("legacy", False),
        ("offline_cloud", True),
    ]
    assert all(r.uploaded_at is not None for r in rows)


def test_r9_online_cloud_license_file_is_refused(
    admin_client: FlaskClient, app: Flask, fake_portal: FakePortal
) -> None:
    online = fake_portal.add_subscription("N" * 24)
    status, page = _upload(admin_client, fake_portal.license_file(online))
    assert status == 422 and "cannot be uploaded as a file" in page
    assert licenses(app) == []


def test_license_file_signed_by_an_unknown_key_is_refused(
    admin_client: FlaskClient, app: Flask
) -> None:
    other = FakePortal()
    other.clock = fake_clock = None  # noqa: F841
    from webcore.clock import app_clock

    other.clock = app_clock(app)
    legacy = other.add_subscription("L" * 24, license_type=LicenseType.LEGACY)
    status, page = _upload(admin_client, other.license_file(legacy))
    assert status == 422 and "not a license signed by GitLab" in page
    status, page = _upload(admin_client, "garbage")
    assert status == 422
    assert licenses(app) == []


@pytest.mark.all_backends
def test_r8_concurrent_activations_leave_exactly_one_current_license(
    admin_client: FlaskClient, app: Flask, fake_portal: FakePortal, live_server: object
) -> None:
    from tests.instance.conftest import signed_in_session
    from tests.support.concurrent import post_all_at_once

    fake_portal.add_subscription(CODE)
    server = live_server(app)  # type: ignore[operator]
    responses = post_all_at_once(
        f"{server.url}/admin/subscription/activate",
        [signed_in_session(server.url) for _ in range(4)],
        [{"activation_code": CODE, "terms": "accepted"}] * 4,
        allow_redirects=False,
    )
    assert [response.status_code for response in responses] == [302] * 4
    rows = licenses(app)
    assert len(rows) == 4 and [row.current for row in rows].count(True) == 1
