"""GitLab's "Upgrade subscription tier" (doc/subscriptions/manage_subscription.md, GitLab.com and
self-managed), followed word for word by role and label in the Customers Portal; the page it
leads to is checked with axe-core at both widths, as ``test_screens`` checks every page."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import expect

from tests.browser.screens import axe_violations, click_to_page, overflows, shoot, sign_in
from tests.portal.helpers import OWNER, PASSWORD, make_account, make_subscription, subscription_row

pytestmark = pytest.mark.browser


def test_r7_upgrade_a_premium_subscription_to_ultimate_in_the_customers_portal(
    portal_app: Flask, live_server: Any, page: Any
) -> None:
    name = make_subscription(portal_app, make_account(portal_app, OWNER), seats=20)
    url = live_server(portal_app).url
    # 1. Sign in to the Customers Portal.
    sign_in(page, url, OWNER, PASSWORD)
    # 2. Select Upgrade plan on the relevant subscription card.
    card = page.get_by_test_id("subscription-card").filter(has=page.get_by_text(name, exact=True))
    card.get_by_role("button", name=f"Actions for {name}").click()
    click_to_page(page, card.get_by_role("link", name="Upgrade plan"))
    expect(page.get_by_role("heading", name="Select the desired upgrade")).to_be_visible()
    expect(page.get_by_label("Ultimate: $1,188.00 per seat per year")).to_be_checked()
    summary = page.get_by_role("region", name="Purchase summary")
    assert "Credit for Premium" in summary.inner_text()
    problems = [f"axe {v}" for v in axe_violations(page)]
    shoot(page, "portal-upgrade-plan")
    page.set_viewport_size({"width": 390, "height": 900})
    problems += [f"scrolls sideways at 390px: {w}" for w in overflows(page)]
    problems += [f"at 390px: axe {v}" for v in axe_violations(page)]
    page.set_viewport_size({"width": 1280, "height": 900})
    assert not problems, "\n".join(problems)
    # 3. Confirm the active form of payment.
    page.get_by_label("Payment method").select_option(label="Visa ending in 4242")
    # 4. Select the I accept the Privacy Statement and Terms of Service checkbox.
    page.get_by_label("I accept the Privacy Statement and Terms of Service").check()
    # 5. Select Upgrade subscription.
    click_to_page(page, page.get_by_role("button", name="Upgrade subscription"))
    expect(page.get_by_text("Your subscription is upgraded to Ultimate")).to_be_visible()
    expect(page.get_by_test_id("plan")).to_have_text("Ultimate")
    assert "Upgrade plan" in page.get_by_test_id("orders").inner_text()
    assert subscription_row(portal_app, name)["seats"] == 20
