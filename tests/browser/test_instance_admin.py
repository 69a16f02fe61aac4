"""The instance's admin pages in a real browser: activation, Synchronize subscription, a seat
toggle and bulk assignment (R8, R14, R26, R27)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import expect

from protocol.license import AddOnTier
from tests.browser.conftest import ServedInstance
from tests.instance.conftest import PASSWORD, add_user
from tests.instance.fake_portal import FakePortal, Subscription
from tests.instance.helpers import CODE, assigned_usernames

pytestmark = pytest.mark.browser


@pytest.fixture
def admin_page(page: Any, served_instance: ServedInstance) -> tuple[Any, Flask, str]:
    app, url = served_instance.app, served_instance.url
    page.goto(f"{url}/users/sign_in")
    page.fill("#login", "root")
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_url(f"{url}/dashboard")
    return page, app, url


def _activate(
    page: Any,
    url: str,
    code: str = CODE,
    says: str = "Your subscription was successfully activated.",
) -> None:
    """Admin → Subscription: enter ``code``, accept the terms, *Activate*; wait for ``says``."""
    page.goto(f"{url}/admin/subscription")
    page.fill("#activation_code", code)
    page.check("#terms")
    page.click("button:has-text('Activate')")
    page.wait_for_selector(f"text={says}")


def _with_duo(
    page: Any, url: str, portal: FakePortal, quantity: int, **add_on: Any
) -> Subscription:
    """Activate, buy ``quantity`` GitLab Duo seats in the portal after it, and *Synchronize
    subscription*: the GitLab Duo menu shows only once the sync brought the add-on."""
    subscription = portal.add_subscription(CODE)
    _activate(page, url)
    expect(page.locator("[data-testid=duo-menu]")).to_have_count(0)
    portal.duo(subscription, quantity, **add_on)
    page.click("#sync-button")
    page.wait_for_selector("[data-testid=duo-menu]")
    return subscription


def test_r8_activation_form_in_browser(
    admin_page: tuple[Any, Flask, str], fake_portal: FakePortal
) -> None:
    page, app, url = admin_page
    subscription = fake_portal.add_subscription(CODE)
    _activate(page, url, "Z" * 24, says="Invalid activation code")
    _activate(page, url)
    assert page.inner_text("[data-testid=license-type]") == "Online license"
    assert page.inner_text("[data-testid=subscription-name]") == subscription.name


def test_r14_r15_synchronize_subscription_button_in_browser(
    admin_page: tuple[Any, Flask, str],
    fake_portal: FakePortal,
) -> None:
    page, app, url = admin_page
    subscription = _with_duo(page, url, fake_portal, 3, tier=AddOnTier.DUO_PRO, trial=True)
    assert "GitLab Duo Pro (trial): 3 seats" in page.inner_text("[data-testid=add-on]")
    subscription.refuse_with = "subscription_expired"
    page.click("#sync-button")
    page.wait_for_selector("text=Synchronization failed: Your subscription has expired")


def test_r26_seat_toggle_in_browser(
    admin_page: tuple[Any, Flask, str], fake_portal: FakePortal
) -> None:
    page, app, url = admin_page
    add_user(app, "alice")
    _with_duo(page, url, fake_portal, 2)
    page.click("[data-testid=duo-menu]")
    toggle = page.locator("[data-testid=toggle-alice]")
    expect(toggle).to_have_attribute("aria-checked", "false")
    toggle.click()
    page.wait_for_selector("text=1 user assigned a seat.")
    expect(page.locator("[data-testid=toggle-alice]")).to_have_attribute("aria-checked", "true")
    assert page.inner_text("[data-testid=seats-used]") == "1 / 2"
    assert assigned_usernames(app) == {"alice"}


def test_r27_bulk_assignment_with_select_all_and_confirmation_in_browser(
    admin_page: tuple[Any, Flask, str],
    fake_portal: FakePortal,
) -> None:
    page, app, url = admin_page
    for name in ("ann", "bob", "cyd"):
        add_user(app, name)
    _with_duo(page, url, fake_portal, 10)
    page.goto(f"{url}/admin/gitlab_duo")
    page.check("#select-all")
    page.get_by_role("button", name="Assign seat", exact=True).click()
    modal = page.get_by_role("dialog", name="Confirm bulk seat assignment")
    assert "4 users selected." in modal.inner_text()
    modal.get_by_role("button", name="Cancel").click()  # dismissed: nothing happens
    assert assigned_usernames(app) == set()
    page.get_by_role("button", name="Assign seat", exact=True).click()
    modal.get_by_role("button", name="Assign seats").click()
    page.wait_for_selector("text=4 users assigned a seat.")
    assert assigned_usernames(app) == {"root", "ann", "bob", "cyd"}
    assert page.inner_text("[data-testid=seats-used]") == "4 / 10"
