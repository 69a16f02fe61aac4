"""Admin → GitLab Duo: seats, toggles, bulk changes, search/filter/sort, enforcement notices
(R2, R10, R15, R17, R18, R26, R27)."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from instance.models import AccessLevel, UserState
from protocol.license import AddOnTier, LicenseType, Plan
from tests.instance.conftest import add_user, signed_in_session
from tests.instance.fake_portal import FakePortal
from tests.instance.helpers import (
    activated,
    assigned_usernames,
    change_seats,
    sync_now,
    with_duo,
)
from tests.support.concurrent import post_all_at_once


def test_r15_duo_menu_and_page_appear_only_once_a_purchase_is_known(
    admin_client: FlaskClient, app: Flask, fake_portal: FakePortal
) -> None:
    subscription = activated(admin_client, fake_portal)
    page = admin_client.get("/admin/subscription").get_data(as_text=True)
    assert 'data-testid="duo-menu"' not in page
    missing = admin_client.get("/admin/gitlab_duo")
    assert missing.status_code == 404 and "synchronize the subscription" in missing.get_data(
        as_text=True
    )
    fake_portal.duo(subscription, 3, trial=True)
    sync_now(admin_client)
    page = admin_client.get("/admin/subscription").get_data(as_text=True)
    assert 'data-testid="duo-menu"' in page
    duo = admin_client.get("/admin/gitlab_duo").get_data(as_text=True)
    assert "GitLab Duo Pro" in duo and "Trial" in duo and "0 / 3" in duo


def test_r26_toggle_assigns_and_removes_and_never_exceeds_purchased(
    admin_client: FlaskClient, app: Flask, fake_portal: FakePortal
) -> None:
    with_duo(admin_client, fake_portal, 2)
    first, second, third = (add_user(app, name) for name in ("ann", "bob", "cyd"))
    assert change_seats(admin_client, "assign", first)[0] == 200
    assert change_seats(admin_client, "assign", first)[0] == 200  # already assigned: no change
    assert change_seats(admin_client, "assign", second)[0] == 200
    status, page = change_seats(admin_client, "assign", third)
    assert "NO_SEATS_AVAILABLE" in page
    assert assigned_usernames(app) == {"ann", "bob"}
    assert "2 / 2" in admin_client.get("/admin/gitlab_duo").get_data(as_text=True)
    change_seats(admin_client, "remove", first)
    change_seats(admin_client, "assign", third)
    assert assigned_usernames(app) == {"bob", "cyd"}


@pytest.mark.all_backends
def test_r2_only_billable_users_can_get_a_seat(
    admin_client: FlaskClient, app: Flask, fake_portal: FakePortal
) -> None:
    with_duo(admin_client, fake_portal, 10, plan=Plan.ULTIMATE)
    guest = add_user(app, "guest", highest_access_level=AccessLevel.GUEST)
    bot = add_user(app, "support_bot", bot_type="support_bot")
    blocked = add_user(app, "blocked", state=UserState.BLOCKED)
    service = add_user(app, "service_account_1", bot_type="service_account")
    for user_id in (guest, bot, blocked):
        status, body = change_seats(admin_client, "assign", user_id, json=True)
        assert status == 422 and "INVALID_USER_MEMBERSHIP" in body
    assert change_seats(admin_client, "assign", service, json=True)[0] == 200
    assert assigned_usernames(app) == {"service_account_1"}
    listing = admin_client.get("/admin/gitlab_duo").get_data(as_text=True)
    assert (
        "@service_account_1" in listing
        and "@guest" not in listing
        and "@support_bot" not in listing
    )


def test_r2_guest_is_eligible_on_premium(
    admin_client: FlaskClient, app: Flask, fake_portal: FakePortal
) -> None:
    with_duo(admin_client, fake_portal, 10, plan=Plan.PREMIUM)
    guest = add_user(app, "guest", highest_access_level=AccessLevel.GUEST)
    assert change_seats(admin_client, "assign", guest, json=True)[0] == 200


@pytest.mark.all_backends
def test_r27_bulk_assignment_is_all_or_nothing(
    admin_client: FlaskClient, app: Flask, fake_portal: FakePortal
) -> None:
    with_duo(admin_client, fake_portal, 3)
    ids = [add_user(app, f"dev_{n}") for n in range(4)]
    status, body = change_seats(admin_client, "assign", *ids, json=True)
    assert status == 422 and "NOT_ENOUGH_SEATS" in body
    assert assigned_usernames(app) == set()
    guest_like = add_user(app, "gone", state=UserState.DEACTIVATED)
    status, body = change_seats(admin_client, "assign", ids[0], guest_like, json=True)
    assert status == 422 and "INVALID_USER_ID_PRESENT" in body
    status, body = change_seats(admin_client, "assign", ids[0], 99999, json=True)
    assert status == 422 and "INVALID_USER_ID_PRESENT" in body
    assert assigned_usernames(app) == set()
    status, page = change_seats(admin_client, "assign", *ids[:3])
    assert status == 200 and "3 users assigned a seat." in page
    assert assigned_usernames(app) == {"dev_0", "dev_1", "dev_2"}
    status, page = change_seats(admin_client, "remove", *ids[:2])
    assert assigned_usernames(app) == {"dev_2"}
    status, body = change_seats(admin_client, "remove", ids[0], ids[1], json=True)
    assert status == 422 and "NO_ASSIGNMENTS_FOUND" in body


def test_r27_bulk_assignment_takes_at_most_50_users(
    admin_client: FlaskClient, app: Flask, fake_portal: FakePortal
) -> None:
    with_duo(admin_client, fake_portal, 100, seats=200)
    ids = [add_user(app, f"dev_{n:02d}") for n in range(51)]
    status, body = change_seats(admin_client, "assign", *ids, json=True)
    assert status == 422 and "TOO_MANY_USERS" in body and assigned_usernames(app) == set()
    assert change_seats(admin_client, "assign", *ids[:50], json=True)[0] == 200
    assert len(assigned_usernames(app)) == 50


@pytest.mark.all_backends
def test_r26_search_filter_and_sort(
    admin_client: FlaskClient, app: Flask, fake_portal: FakePortal
) -> None:
    with_duo(admin_client, fake_portal, 5)
    ids = {
        name: add_user(app, name, name=full)
        for name, full in [("zed", "Zed Zimmer"), ("amy", "Amy Adams"), ("max", "Max Mustermann")]
    }
    change_seats(admin_client, "assign", ids["max"])
    page = admin_client.get("/admin/gitlab_duo?search=ADA").get_data(as_text=True)
    assert "@amy" in page and "@zed" not in page
    page = admin_client.get("/admin/gitlab_duo?filter=assigned").get_data(as_text=True)
    assert "@max" in page and "@amy" not in page
    page = admin_client.get("/admin/gitlab_duo?filter=unassigned").get_data(as_text=True)
    assert "@max" not in page and "@amy" in page
    page = admin_client.get("/admin/gitlab_duo?sort=name_desc").get_data(as_text=True)
    assert page.index("@zed") < page.index("@max") < page.index("@amy")
    page = admin_client.get("/admin/gitlab_duo?sort=assigned").get_data(as_text=True)
    assert page.index("@max") < page.index("@amy")


def test_r10_duo_unavailable_on_offline_or_legacy_license(
    admin_client: FlaskClient, app: Flask, fake_portal: FakePortal
) -> None:
    with_duo(admin_client, fake_portal, 5)
    page = admin_client.get("/admin/gitlab_duo").get_data(as_text=True)
    assert 'data-testid="duo-unavailable"' not in page
    offline = fake_portal.add_subscription("O" * 24, license_type=LicenseType.OFFLINE_CLOUD)
    import io

    from tests.instance.conftest import csrf_token

    token = csrf_token(admin_client, "/admin/subscription")
    admin_client.post(
        "/admin/subscription/upload",
        data={
            "csrf_token": token,
            "license_file": (io.BytesIO(fake_portal.license_file(offline).encode()), "l"),
        },
        content_type="multipart/form-data",
    )
    page = admin_client.get("/admin/gitlab_duo").get_data(as_text=True)
    assert "available only on a cloud-licensed instance" in page


def test_r17_duo_enterprise_needs_17_3_and_pro_needs_16_8(
    make_wired_instance: object, fake_portal: FakePortal
) -> None:
    from collections.abc import Callable

    from tests.instance.conftest import sign_in

    make: Callable[..., Flask] = make_wired_instance  # type: ignore[assignment]
    cases = [
        ("17.2.0-ee", AddOnTier.DUO_ENTERPRISE, "needs GitLab 17.3 or later"),
        ("16.7.3-ee", AddOnTier.DUO_PRO, "needs GitLab 16.8 or later"),
        ("17.3.0-ee", AddOnTier.DUO_ENTERPRISE, None),
    ]
    for number, (version, tier, message) in enumerate(cases):
        app = make(GITLAB_VERSION=version)
        add_user(app, "root", admin=True)
        client = app.test_client()
        sign_in(client, "root")
        code = f"{'C' * 23}{number}"
        subscription = fake_portal.add_subscription(code)
        from tests.instance.helpers import activate

        assert "successfully activated" in activate(client, code)[1]
        fake_portal.duo(subscription, 2, tier=tier)
        assert sync_now(client)["success"]
        page = client.get("/admin/gitlab_duo").get_data(as_text=True)
        if message:
            assert message in page, version
        else:
            assert 'data-testid="duo-unavailable"' not in page


def test_r18_degraded_experience_warning_below_17_2(
    make_wired_instance: object, fake_portal: FakePortal
) -> None:
    from collections.abc import Callable

    from tests.instance.conftest import sign_in

    make: Callable[..., Flask] = make_wired_instance  # type: ignore[assignment]
    app = make(GITLAB_VERSION="17.1.0-ee")
    add_user(app, "root", admin=True)
    client = app.test_client()
    sign_in(client, "root")
    with_duo(client, fake_portal, 2)
    page = client.get("/admin/gitlab_duo").get_data(as_text=True)
    assert "degraded experience" in page and 'data-testid="duo-unavailable"' not in page


@pytest.mark.all_backends
def test_r26_concurrent_assignments_never_exceed_the_quantity(
    make_wired_instance: object, fake_portal: FakePortal, live_server: object
) -> None:
    from collections.abc import Callable

    make: Callable[..., Flask] = make_wired_instance  # type: ignore[assignment]
    app = make()
    add_user(app, "root", admin=True)
    client = app.test_client()
    from tests.instance.conftest import sign_in

    sign_in(client, "root")
    with_duo(client, fake_portal, 3)
    ids = [add_user(app, f"racer_{n}") for n in range(8)]
    server = live_server(app)  # type: ignore[operator]
    responses = post_all_at_once(
        f"{server.url}/admin/gitlab_duo/seats",
        [signed_in_session(server.url) for _ in ids],
        [{"action": "assign", "user_ids": str(user_id)} for user_id in ids],
        headers={"Accept": "application/json"},
    )
    assert sorted(response.status_code for response in responses) == [200] * 3 + [422] * 5
    assert len(assigned_usernames(app)) == 3


def test_r27_page_holds_at_most_one_bulk_change_of_users(
    admin_client: FlaskClient, app: Flask, fake_portal: FakePortal
) -> None:
    with_duo(admin_client, fake_portal, 60, seats=100)
    for n in range(54):
        add_user(app, f"dev_{n:02d}")
    first = admin_client.get("/admin/gitlab_duo").get_data(as_text=True)
    second = admin_client.get("/admin/gitlab_duo?page=2").get_data(as_text=True)
    assert first.count('type="checkbox" name="user_ids"') == 50 and "page 1 of 2" in first
    assert second.count('type="checkbox" name="user_ids"') == 5 and "@dev_00" not in second
    assert "page 1 of 1" in admin_client.get("/admin/gitlab_duo?page=x&search=dev_0").get_data(
        as_text=True
    )
