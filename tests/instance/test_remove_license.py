"""Admin → Subscription's *Remove license* (GitLab's ``DELETE /admin/license``): the button for
every license type, the removal falling back on the previous license with GitLab's flashes, and
bad requests refused with nothing changed."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient

from instance.admin import FELL_BACK, NO_LICENSE_LEFT
from protocol.license import LicenseType
from tests.instance.conftest import PASSWORD, add_user, csrf_token, sign_in, signed_in_session
from tests.instance.fake_portal import FakePortal
from tests.instance.helpers import activated, licenses
from tests.support.concurrent import post_all_at_once

BUTTON = 'data-testid="remove-license-button"'


def upload(client: FlaskClient, portal: FakePortal, license_type: LicenseType, code: str) -> int:
    """A license file of a new subscription uploaded on Admin → Subscription; its license id."""
    subscription = portal.add_subscription(code * 24, license_type=license_type)
    response = client.post(
        "/admin/subscription/upload",
        data={
            "license_text": portal.license_file(subscription),
            "csrf_token": csrf_token(client, "/admin/subscription"),
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return next(row.id for row in licenses(client.application) if row.current)


def remove(client: FlaskClient, license_id: object, **extra: str) -> Any:
    form = {"_method": "delete", "license_id": str(license_id), **extra}
    if "csrf_token" not in form:
        form["csrf_token"] = csrf_token(client, "/admin/subscription")
    return client.post("/admin/license", data=form, follow_redirects=True)


def legacy_then_offline(client: FlaskClient, portal: FakePortal) -> tuple[int, int]:
    """A legacy license file uploaded, then an offline cloud one (current): their ids."""
    legacy = upload(client, portal, LicenseType.LEGACY, "L")
    return legacy, upload(client, portal, LicenseType.OFFLINE_CLOUD, "O")


def current(app: Flask) -> list[tuple[int, bool]]:
    return [(row.id, row.current) for row in licenses(app)]


@pytest.mark.all_backends
def test_removing_the_current_license_falls_back_on_the_previous_one_then_on_none(
    app: Flask, admin_client: FlaskClient, fake_portal: FakePortal
) -> None:
    legacy, offline = legacy_then_offline(admin_client, fake_portal)
    assert BUTTON in admin_client.get("/admin/subscription").get_data(as_text=True)

    response = remove(admin_client, offline)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and response.request.path == "/admin/subscription"
    assert FELL_BACK in page and 'class="alert alert-info"' in page
    assert "Legacy license" in page and BUTTON in page  # the previous one, removable in turn
    assert current(app) == [(legacy, True)]

    page = remove(admin_client, legacy).get_data(as_text=True)
    assert NO_LICENSE_LEFT in page and 'class="alert alert-danger"' in page
    assert 'data-testid="no-license"' in page and BUTTON not in page
    assert licenses(app) == []


def test_the_button_shows_for_an_online_cloud_license_too(
    app: Flask, admin_client: FlaskClient, fake_portal: FakePortal
) -> None:
    assert BUTTON not in admin_client.get("/admin/subscription").get_data(as_text=True)
    activated(admin_client, fake_portal)
    page = admin_client.get("/admin/subscription").get_data(as_text=True)
    assert "Online license" in page and BUTTON in page
    [online] = licenses(app)
    assert NO_LICENSE_LEFT in remove(admin_client, online.id).get_data(as_text=True)
    assert licenses(app) == []


def test_gitlabs_delete_request_answers_json_and_the_next_page_shows_the_flash(
    app: Flask, admin_client: FlaskClient, fake_portal: FakePortal
) -> None:
    """The request GitLab's page sends (axios ``DELETE``, then a reload)."""
    legacy = upload(admin_client, fake_portal, LicenseType.LEGACY, "L")
    response = admin_client.delete(
        f"/admin/license?license_id={legacy}",
        headers={
            "X-CSRFToken": csrf_token(admin_client, "/admin/subscription"),
            "Accept": "application/json",
        },
    )
    assert (response.status_code, response.get_json()) == (200, {"success": True})
    assert NO_LICENSE_LEFT in admin_client.get("/admin/subscription").get_data(as_text=True)
    assert licenses(app) == []


@pytest.mark.all_backends
def test_bad_removals_are_refused_and_change_nothing(
    app: Flask, admin_client: FlaskClient, fake_portal: FakePortal
) -> None:
    legacy, offline = legacy_then_offline(admin_client, fake_portal)
    before = current(app)
    # Another license than the current one (a stale page), an unknown one, no id, a bad id.
    for license_id, status, says in [
        (legacy, 409, "no longer the current license"),
        (offline + 100, 404, "no longer exists"),
        ("", 400, ""),
        ("abc", 400, ""),
    ]:
        response = remove(admin_client, license_id)
        assert response.status_code == status and says in response.get_data(as_text=True)
    # A POST without _method=delete is no removal; neither is one without its CSRF token.
    token = csrf_token(admin_client, "/admin/subscription")
    plain = {"license_id": str(offline), "csrf_token": token}
    assert admin_client.post("/admin/license", data=plain).status_code == 404
    assert remove(admin_client, offline, csrf_token="").status_code == 400
    # Not an administrator: 403; not signed in: the sign-in page.
    add_user(app, "dev")
    developer = app.test_client()
    sign_in(developer, "dev", PASSWORD)
    token = csrf_token(developer, "/users/sign_in")
    assert remove(developer, offline, csrf_token=token).status_code == 403
    anonymous = app.test_client()
    token = csrf_token(anonymous, "/users/sign_in")
    assert remove(anonymous, offline, csrf_token=token).request.path == "/users/sign_in"
    assert current(app) == before


@pytest.mark.all_backends
def test_the_form_sent_three_times_at_once_removes_one_license(
    app: Flask, admin_client: FlaskClient, fake_portal: FakePortal, live_server: Any
) -> None:
    legacy, offline = legacy_then_offline(admin_client, fake_portal)
    url = live_server(app).url
    sessions: list[tuple[requests.Session, str]] = []
    for _ in range(3):
        session, token = signed_in_session(url)
        sessions.append((session, token))
    form = {"_method": "delete", "license_id": str(offline)}
    responses = post_all_at_once(
        f"{url}/admin/license", sessions, [form] * 3, allow_redirects=False
    )
    assert sorted(response.status_code for response in responses) == [303, 404, 404]
    assert current(app) == [(legacy, True)]
