"""The click paths of GitLab's own documents (seeds 000 and 001, "Subscription add-ons"), followed
word for word by role and label, on self-managed and in the Customers Portal.

Seed 001 is the GitLab 16.x version of the page: its "Admin Area" and "Duo Pro" are the 17.x
"Admin" and "GitLab Duo" of seed 000, which the instance replicates (17.5); its other steps are
the same as seed 000's and are followed here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import expect

from tests.browser.conftest import ServedInstance
from tests.browser.screens import (
    activate_by_labels,
    buy_duo_pro_on_the_card,
    sign_in,
    subscription_card,
)
from tests.instance.conftest import PASSWORD, add_user
from tests.instance.fake_portal import FakePortal
from tests.instance.helpers import CODE, assigned_usernames
from tests.portal.helpers import OWNER, add_ons, make_account, make_subscription
from tests.portal.helpers import PASSWORD as PORTAL_PASSWORD

pytestmark = pytest.mark.browser


def test_000_assign_seats_on_self_managed_after_synchronizing_the_subscription(
    page: Any, served_instance: ServedInstance, fake_portal: FakePortal
) -> None:
    """Seed 000 "Assign GitLab Duo seats / For self-managed", with the synchronize detour."""
    app, url = served_instance.app, served_instance.url
    add_user(app, "alice", name="Alice Ng")
    subscription = fake_portal.add_subscription(CODE)
    sign_in(page, url, "root", PASSWORD)

    # 1. On the left sidebar, at the bottom, select Admin.
    page.get_by_role("complementary", name="Sidebar").get_by_role(
        "link", name="Admin", exact=True
    ).click()
    page.get_by_role("link", name="Subscription", exact=True).click()
    activate_by_labels(page, CODE)
    fake_portal.duo(subscription, 2)  # bought in the portal after activation
    # 2. Select GitLab Duo. -- not available yet: synchronize your subscription after purchase:
    expect(page.get_by_role("link", name="GitLab Duo", exact=True)).to_have_count(0)
    #    On the left sidebar, select Subscription.
    page.get_by_role("link", name="Subscription", exact=True).click()
    #    In Subscription details, to the right of Last sync, select synchronize subscription.
    details = page.get_by_role("region", name="Subscription details")
    details.get_by_role("button", name="Synchronize subscription").click()
    page.get_by_role("link", name="GitLab Duo", exact=True).wait_for()
    page.get_by_role("link", name="GitLab Duo", exact=True).click()
    expect(page.get_by_role("heading", name="GitLab Duo", exact=True)).to_be_visible()
    # 3. To the right of the user, turn on the toggle to assign a GitLab Duo seat.
    toggle = page.get_by_role("row", name="Alice Ng").get_by_role("switch")
    expect(toggle).to_have_attribute("aria-checked", "false")
    toggle.click()
    page.get_by_text("1 user assigned a seat.").wait_for()
    assert (
        page.get_by_role("row", name="Alice Ng").get_by_role("switch").get_attribute("aria-checked")
        == "true"
    )
    assert assigned_usernames(app) == {"alice"}


def test_000_assign_and_remove_seats_in_bulk_with_confirmation(
    page: Any, served_instance: ServedInstance, fake_portal: FakePortal
) -> None:
    """Seed 000's bulk steps ("select Assign seat, then Assign seats to confirm"; "Remove seat,
    then Remove seats"): on GitLab.com in the document, on the instance's GitLab Duo page here."""
    app, url = served_instance.app, served_instance.url
    for name in ("ann", "bob"):
        add_user(app, name)
    subscription = fake_portal.add_subscription(CODE)
    fake_portal.duo(subscription, 5)
    sign_in(page, url, "root", PASSWORD)
    page.goto(f"{url}/admin/subscription")
    activate_by_labels(page, CODE)
    page.get_by_role("link", name="GitLab Duo", exact=True).click()
    # To select all, select the checkbox at the top of the table.
    page.get_by_role("checkbox", name="Select all").check()
    page.get_by_role("button", name="Assign seat", exact=True).click()
    page.get_by_role("dialog").get_by_role("button", name="Assign seats").click()
    page.get_by_text("3 users assigned a seat.").wait_for()
    # To select multiple users, to the left of each user, select the checkbox.
    page.get_by_role("checkbox", name="Select ann").check()
    page.get_by_role("checkbox", name="Select bob").check()
    page.get_by_role("button", name="Remove seat", exact=True).click()
    page.get_by_role("dialog").get_by_role("button", name="Remove seats").click()
    page.get_by_text("2 users removed from their seat.").wait_for()
    assert assigned_usernames(app) == {"root"}


def test_an_ordinary_user_sees_their_profile_and_whether_they_have_gitlab_duo(
    page: Any, make_wired_instance: Callable[..., Flask], live_server: Callable[[Flask], Any]
) -> None:
    app = make_wired_instance()
    add_user(app, "dev", name="Dev One")
    url = live_server(app).url
    sign_in(page, url, "dev", PASSWORD)
    expect(page.get_by_role("heading", name="Dev One")).to_be_visible()
    assert page.get_by_test_id("duo-access").inner_text() == "You do not have access to GitLab Duo"
    sidebar = page.get_by_role("complementary", name="Sidebar")
    assert sidebar.get_by_role("link", name="Access tokens").get_attribute("href") == (
        "/-/user_settings/personal_access_tokens"
    )
    assert (
        sidebar.get_by_role("link", name="Admin", exact=True).count() == 0
    )  # not an administrator


def test_000_purchase_gitlab_duo_pro_and_then_additional_seats_in_the_customers_portal(
    portal_app: Flask, live_server: Any, page: Any
) -> None:
    """Seed 000 "Purchase GitLab Duo seats" and "Purchase additional GitLab Duo seats / For
    self-managed", step by step."""
    name = make_subscription(portal_app, make_account(portal_app, OWNER), seats=20)
    url = live_server(portal_app).url
    # 1. Sign in to the GitLab Customers Portal.
    sign_in(page, url, OWNER, PORTAL_PASSWORD)
    expect(page.get_by_role("heading", name="Subscriptions & purchases")).to_be_visible()
    # 2.-7. The card's actions, Buy GitLab Duo Pro, 8 seats, the summary, the card, Purchase.
    buy_duo_pro_on_the_card(page, name, 8, "Visa ending in 4242")
    assert [a["quantity"] for a in add_ons(portal_app, name)] == [8]
    orders = page.get_by_test_id("orders").inner_text()
    assert "GitLab Duo Pro" in orders and "duo_pro" not in orders

    # The menu no longer offers Buy GitLab Duo Pro once the subscription has it.
    page.get_by_role("navigation", name="Primary navigation").get_by_role(
        "link", name="Subscriptions & purchases"
    ).click()
    card = subscription_card(page, name)
    card.get_by_role("button", name=f"Actions for {name}").click()
    expect(card.get_by_role("link", name="Buy GitLab Duo Pro")).to_have_count(0)
    page.keyboard.press("Escape")  # close the menu

    # Additional seats: 1. On the GitLab Duo Pro section of your subscription card select Add seats.
    card.get_by_role("region", name="GitLab Duo Pro").get_by_role("link", name="Add seats").click()
    # 2. Enter the number of seats (at most the subscription's seats).
    page.get_by_label("Add additional seats").fill("2")
    page.get_by_role("button", name="Continue").click()
    # 3. Review the Purchase summary section.  4. Payment method.  5. Purchase seats.
    expect(page.get_by_role("region", name="Purchase summary")).to_be_visible()
    page.get_by_label("Payment method").select_option(label="Visa ending in 4242")
    page.get_by_role("button", name="Purchase seats").click()
    page.get_by_text("purchase of 2 seats is complete").wait_for()
    assert "Additional seats" in page.get_by_test_id("orders").inner_text()


def test_000_find_the_subscription_name_for_the_trial_form(
    portal_app: Flask, live_server: Any, page: Any
) -> None:
    """Seed 000 "Start GitLab Duo Pro trial / On Self-managed": in the Customers Portal, on the
    Subscriptions & purchases page, the subscription name appears in a badge; then Submit."""
    name = make_subscription(
        portal_app, make_account(portal_app, OWNER), contact_email="contact@example.com"
    )
    url = live_server(portal_app).url
    sign_in(page, url, OWNER, PORTAL_PASSWORD)
    found = subscription_card(page, name).get_by_test_id("subscription-name").inner_text()
    assert found == name
    page.goto(f"{url}/trials/duo")
    page.get_by_label("Subscription name").fill(found)
    page.get_by_label("Email").fill("contact@example.com")
    page.get_by_label("First name").fill("Pat")
    page.get_by_label("Last name").fill("Doe")
    page.get_by_label("Company").fill("Example")
    page.get_by_label("Country").select_option(label="Germany")
    page.get_by_role("button", name="Submit").click()
    page.get_by_test_id("trial-success").wait_for()
