"""GitLab's License API as python-gitlab meets it (a loopback server): ``gl.set_license`` and
``POST /license`` with the Admin -> Subscription upload's rules (R9) and GitLab's answers,
``/licenses``, ``/license/:id``, removal falling back on the previous license and the add-ons
following it (R1, R10), administrators only."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import gitlab
import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient

from instance.models import BillableUserCount, db
from protocol.license import LicenseType, Plan
from provlab.parties import InProcessParty
from provlab.timetravel import travel_to
from tests.instance.conftest import add_user
from tests.instance.fake_portal import FakePortal
from tests.instance.helpers import licenses, purchase, with_duo
from tests.instance.test_api_rest import issue
from webcore.clock import app_clock

# GitLab's API::Entities::GitlabLicense; GitlabLicenseWithActiveUsers adds active_users.
ENTITY = {
    "id",
    "plan",
    "created_at",
    "starts_at",
    "expires_at",
    "historical_max",
    "maximum_user_count",
    "licensee",
    "add_ons",
    "expired",
    "overage",
    "user_limit",
}
INVALID_KEY = (
    "The license key is invalid. Make sure it is exactly as you received it from GitLab Inc."
)
TODAY = dt.date(2026, 3, 2)  # the tests' simulated today


@pytest.fixture
def root_token(app: Flask) -> str:
    """An ``api`` token of the administrator, root."""
    return issue(app, "root", ["api"])


@pytest.fixture
def admin(client_for: Callable[[str], gitlab.Gitlab], root_token: str) -> gitlab.Gitlab:
    return client_for(root_token)


@pytest.fixture
def api(server: Any, root_token: str) -> Callable[..., requests.Response]:
    """A raw call to the API (GitLab's exact answer), as root unless ``token`` says otherwise."""

    def call(method: str, path: str, token: str = root_token, **kwargs: Any) -> requests.Response:
        headers = {"PRIVATE-TOKEN": token}
        return requests.request(
            method, f"{server.url}/api/v4{path}", headers=headers, timeout=10, **kwargs
        )

    return call


def travel_days(app: Flask, days: int) -> None:
    travel_to([InProcessParty(app)], app_clock(app).now() + dt.timedelta(days=days))


def license_file(portal: FakePortal, license_type: LicenseType, **fields: Any) -> str:
    subscription = portal.add_subscription(license_type=license_type, **fields)
    return portal.license_file(subscription)


@pytest.mark.all_backends
def test_set_license_adds_a_license_file_as_the_admin_upload_does(
    app: Flask,
    fake_portal: FakePortal,
    admin: gitlab.Gitlab,
    api: Callable[..., requests.Response],
) -> None:
    legacy = license_file(fake_portal, LicenseType.LEGACY, plan=Plan.PREMIUM, seats=5)
    added = admin.set_license(legacy)
    assert set(added) == ENTITY | {"active_users"}
    assert (added["plan"], added["user_limit"], added["expired"]) == ("premium", 5, False)
    assert (added["starts_at"], added["expires_at"]) == ("2026-01-01", "2027-01-01")
    assert added["licensee"] == {
        "Name": "Ada Admin",
        "Email": "ada@example.com",
        "Company": "Example Corp",
    }
    assert admin.get_license() == added
    # The query string GitLab's docs show carries it too; 201 Created.
    offline_file = license_file(fake_portal, LicenseType.OFFLINE_CLOUD)
    offline = api("POST", "/license", params={"license": offline_file})
    assert offline.status_code == 201 and offline.json()["plan"] == "ultimate"
    rows = licenses(app)
    assert [(row.id, row.license_type, row.current) for row in rows] == [
        (added["id"], "legacy", False),
        (offline.json()["id"], "offline_cloud", True),
    ]
    assert all(row.uploaded_at is not None for row in rows)
    listed = admin.http_get("/licenses")
    assert isinstance(listed, list)
    assert [entry["id"] for entry in listed] == [offline.json()["id"], added["id"]]
    assert all(set(entry) == ENTITY for entry in listed)  # no active_users in the list


@pytest.mark.all_backends
def test_a_refused_license_gets_gitlabs_400_and_changes_nothing(
    app: Flask,
    fake_portal: FakePortal,
    admin: gitlab.Gitlab,
    api: Callable[..., requests.Response],
) -> None:
    installed = admin.set_license(license_file(fake_portal, LicenseType.LEGACY))
    stranger = FakePortal()
    stranger.clock = app_clock(app)
    refusals: list[tuple[object, dict[str, str]]] = [
        ({"license": "not a license"}, {"message": INVALID_KEY}),
        ({"license": license_file(stranger, LicenseType.LEGACY)}, {"message": INVALID_KEY}),
        # Larger than the Admin -> Subscription upload takes, though a license.
        (
            {"license": license_file(fake_portal, LicenseType.LEGACY) + " " * 65536},
            {"message": INVALID_KEY},
        ),
        ({"license": " "}, {"message": INVALID_KEY}),
        (
            {"license": license_file(fake_portal, LicenseType.ONLINE_CLOUD)},
            {
                "message": "It looks like you're attempting to activate your subscription. "
                "Use the Subscription page instead."
            },
        ),
        (
            {
                "license": license_file(
                    fake_portal,
                    LicenseType.LEGACY,
                    starts_on=dt.date(2025, 2, 1),
                    ends_on=dt.date(2026, 2, 1),
                )
            },
            {"message": "This license has already expired."},
        ),
        (
            {
                "license": license_file(
                    fake_portal, LicenseType.LEGACY, starts_on=dt.date(2026, 6, 1)
                )
            },
            {
                "message": "This license is not valid yet: the license is not valid before 2026-06-01."
            },
        ),
        ({}, {"error": "license is missing"}),
        ({"license": 5}, {"error": "license is invalid"}),
    ]
    for body, answer in refusals:
        refused = api("POST", "/license", json=body)
        assert (refused.status_code, refused.json()) == (400, answer), str(body)[:60]
    with pytest.raises(gitlab.GitlabLicenseError) as python_gitlab:
        admin.set_license("garbage")
    assert python_gitlab.value.response_code == 400
    assert python_gitlab.value.error_message == INVALID_KEY
    assert [(row.id, row.current) for row in licenses(app)] == [(installed["id"], True)]


def test_only_administrators_with_the_right_scope_use_the_license_api(
    app: Flask,
    fake_portal: FakePortal,
    api: Callable[..., requests.Response],
) -> None:
    legacy = license_file(fake_portal, LicenseType.LEGACY)
    installed = api("POST", "/license", json={"license": legacy}).json()
    add_user(app, "dev")
    dev = issue(app, "dev", ["api"])
    for method, path in [
        ("GET", "/licenses"),
        ("GET", f"/license/{installed['id']}"),
        ("POST", "/license"),
        ("DELETE", f"/license/{installed['id']}"),
    ]:
        forbidden = api(method, path, dev, json={"license": legacy})
        assert (forbidden.status_code, forbidden.json()) == (403, {"message": "403 Forbidden"})
        anonymous = api(method, path, "", json={"license": legacy})
        assert anonymous.json() == {"message": "401 Unauthorized"}
    reader = issue(app, "root", ["read_api"])
    assert api("GET", "/licenses", reader).status_code == 200
    for method in ("POST", "DELETE"):
        path = "/license" if method == "POST" else f"/license/{installed['id']}"
        refused = api(method, path, reader, json={"license": legacy})
        assert refused.status_code == 403 and refused.json()["error"] == "insufficient_scope"
    assert [row.id for row in licenses(app)] == [installed["id"]]


@pytest.mark.all_backends
def test_deleting_licenses_falls_back_on_the_latest_in_force(
    app: Flask,
    fake_portal: FakePortal,
    admin: gitlab.Gitlab,
    api: Callable[..., requests.Response],
) -> None:
    oldest = admin.set_license(license_file(fake_portal, LicenseType.LEGACY))
    in_force = admin.set_license(license_file(fake_portal, LicenseType.LEGACY, seats=3))
    ending = admin.set_license(
        license_file(fake_portal, LicenseType.LEGACY, ends_on=dt.date(2026, 4, 1))
    )
    newest = admin.set_license(license_file(fake_portal, LicenseType.OFFLINE_CLOUD))
    for path, status, body in [
        ("/license/abc", 400, {"error": "id is invalid"}),
        ("/license/999", 404, {"message": "404 Not found"}),
    ]:
        answer = api("DELETE", path)
        assert (answer.status_code, answer.json()) == (status, body)
    missing = api("GET", "/license/999")
    assert (missing.status_code, missing.json()) == (404, {"message": "404 Not Found"})
    one = admin.http_get(f"/license/{in_force['id']}")
    assert (
        isinstance(one, dict) and set(one) == ENTITY | {"active_users"} and one["user_limit"] == 3
    )
    deleted = admin.http_delete(f"/license/{oldest['id']}")  # not the current one
    assert isinstance(deleted, requests.Response) and deleted.status_code == 204
    assert admin.get_license()["id"] == newest["id"] and len(licenses(app)) == 3

    travel_days(app, 31)  # 2026-04-02
    admin.http_delete(f"/license/{newest['id']}")
    # GitLab's License.current: the latest license in force, not the newer one that has ended.
    assert admin.get_license()["id"] == in_force["id"]
    assert [(row.id, row.current) for row in licenses(app)] == [
        (in_force["id"], True),
        (ending["id"], False),
    ]
    admin.http_delete(f"/license/{in_force['id']}")
    # None in force: the latest that has started, though it has ended.
    assert admin.get_license()["id"] == ending["id"] and licenses(app)[0].current
    admin.http_delete(f"/license/{ending['id']}")
    assert admin.get_license() == {} and admin.http_get("/licenses") == []
    assert licenses(app) == []


@pytest.mark.all_backends
def test_removing_the_cloud_license_expires_gitlab_duo_falling_back_on_it_keeps_it(
    app: Flask,
    admin_client: FlaskClient,
    fake_portal: FakePortal,
    admin: gitlab.Gitlab,
) -> None:
    with_duo(admin_client, fake_portal, 2)
    cloud = admin.get_license()
    offline = admin.set_license(license_file(fake_portal, LicenseType.OFFLINE_CLOUD))
    admin.http_delete(f"/license/{offline['id']}")
    assert admin.get_license()["id"] == cloud["id"]
    duo = purchase(app)
    assert duo is not None and duo.ends_on == dt.date(2027, 1, 1)  # the cloud license's Duo
    admin.http_delete(f"/license/{cloud['id']}")
    assert admin.get_license() == {}
    duo = purchase(app)
    assert duo is not None and duo.ends_on == TODAY - dt.timedelta(days=1)  # expired, kept


def test_overage_counts_billable_users_now_until_the_license_expires(
    app: Flask,
    fake_portal: FakePortal,
    admin: gitlab.Gitlab,
) -> None:
    admin.set_license(license_file(fake_portal, LicenseType.LEGACY, seats=2))
    with app.app_context():
        day = dt.date(2026, 2, 1)
        recorded_at = dt.datetime(2026, 2, 1, 12, tzinfo=dt.UTC)
        db.session.add(BillableUserCount(day=day, count=5, recorded_at=recorded_at))
        db.session.commit()
    found = admin.get_license()
    assert (found["active_users"], found["historical_max"], found["maximum_user_count"]) == (
        1,
        5,
        5,
    )
    assert found["overage"] == 0  # GitLab: 1 billable user now, 2 seats
    travel_days(app, 306)  # 2027-01-03
    [expired] = admin.http_get("/licenses")  # type: ignore[misc]
    assert expired["expired"] is True and expired["overage"] == 3  # the term's maximum, 5


@pytest.mark.all_backends
def test_licenses_added_at_once_leave_exactly_one_current_license(
    app: Flask, fake_portal: FakePortal, server: Any, root_token: str
) -> None:
    from tests.support.concurrent import post_all_at_once

    sessions: list[tuple[requests.Session, str]] = []
    for _ in range(4):
        session = requests.Session()
        session.trust_env = False
        session.headers["PRIVATE-TOKEN"] = root_token
        sessions.append((session, ""))
    forms = [{"license": license_file(fake_portal, LicenseType.LEGACY)} for _ in sessions]
    responses = post_all_at_once(f"{server.url}/api/v4/license", sessions, forms)
    assert [response.status_code for response in responses] == [201] * 4
    rows = licenses(app)
    assert len(rows) == 4 and [row.current for row in rows].count(True) == 1


@pytest.mark.all_backends
def test_the_current_license_removed_three_times_at_once_is_removed_once(
    app: Flask,
    fake_portal: FakePortal,
    admin: gitlab.Gitlab,
    api: Callable[..., requests.Response],
) -> None:
    previous = admin.set_license(license_file(fake_portal, LicenseType.LEGACY))
    current = admin.set_license(license_file(fake_portal, LicenseType.LEGACY))
    together = threading.Barrier(3)

    def remove(_: int) -> int:
        together.wait()
        return api("DELETE", f"/license/{current['id']}").status_code

    with ThreadPoolExecutor(3) as pool:
        assert sorted(pool.map(remove, range(3))) == [204, 404, 404]
    assert [(row.id, row.current) for row in licenses(app)] == [(previous["id"], True)]
