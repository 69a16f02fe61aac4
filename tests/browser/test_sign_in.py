"""Sign in and out through the real forms, in chromium, against a real server (one per app)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def _sign_in_and_out(page: Any, url: str, login: str, password: str, name: str) -> None:
    page.goto(url + "/")
    assert page.url.endswith("/users/sign_in")  # anonymous visitors are sent to sign in

    page.fill("#login", login)
    page.fill("#password", "not-the-password")
    page.click("button:has-text('Sign in')")
    assert page.locator("[role=alert]").inner_text() == "Invalid login or password."

    page.fill("#login", login)
    page.fill("#password", password)
    with page.expect_navigation():  # the signed-in page, not the sign-in form being left
        page.click("button:has-text('Sign in')")
    assert "/users/sign_in" not in page.url
    expect(page.locator("header").get_by_text(name)).to_be_visible()

    page.click("header button:has-text('Sign out')")
    page.wait_for_url("**/users/sign_in")
    assert page.locator("h1").inner_text() == "Sign in"
    expect(page.locator("header").get_by_text(name)).to_have_count(0)
    page.goto(url + "/")
    assert page.url.endswith("/users/sign_in")


def test_a_customer_signs_in_to_the_portal_sees_the_home_page_and_signs_out(
    page: Any, make_portal: Any, live_server: Any
) -> None:
    from portal.models import db
    from portal.setup import DEMO_CUSTOMER, create_account

    app = make_portal()
    with app.app_context():
        create_account(
            DEMO_CUSTOMER.email, "Casey Customer", DEMO_CUSTOMER.password, DEMO_CUSTOMER.role, app
        )
        db.session.commit()
    _sign_in_and_out(
        page, live_server(app).url, DEMO_CUSTOMER.email, DEMO_CUSTOMER.password, "Casey Customer"
    )


def test_an_administrator_signs_in_to_the_instance_sees_the_home_page_and_signs_out(
    page: Any, make_instance: Any, live_server: Any
) -> None:
    from tests.instance.conftest import ADMINISTRATOR, instance_with_user

    app = instance_with_user(make_instance, **ADMINISTRATOR)
    _sign_in_and_out(page, live_server(app).url, "root", "admin-demo-password", "Administrator")
