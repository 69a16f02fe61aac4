"""The support console in chromium: a dropped trial request and its reason (R22, R23)."""

from __future__ import annotations

from typing import Any

from flask import Flask

from tests.browser.screens import click_to_page
from tests.portal.helpers import PASSWORD, make_account, make_subscription, run_jobs_until


def test_r22_r23_support_finds_the_dropped_request_and_cannot_extend(
    portal_app: Flask, live_server: Any, page: Any
) -> None:
    name = make_subscription(
        portal_app,
        make_account(portal_app, "owner@example.com"),
        contact_email="contact@example.com",
    )
    make_account(portal_app, "support@provlab.example", role="support")
    client = portal_app.test_client()
    body = {
        "subscription_name": name,
        "email": "contact@example.com",
        "first_name": "A",
        "last_name": "B",
        "company": "C",
        "add_on": "duo_pro",
    }
    client.post("/api/v1/trial_requests", json={**body, "country": "CU"})
    client.post("/api/v1/trial_requests", json={**body, "country": "FR"})
    run_jobs_until(portal_app, "2026-03-02T05:00:00Z")

    url = live_server(portal_app).url
    page.goto(f"{url}/support/sign_in")
    page.fill("#login", "support@provlab.example")
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Sign in')")
    page.fill("#q", "contact@example.com")
    click_to_page(page, page.locator("button:has-text('Find')"))
    click_to_page(page, page.get_by_role("link", name=name))
    dropped = page.locator("[data-testid=lead][data-status=dropped]")
    assert "embargoed_country" in dropped.inner_text()
    assert page.locator("[data-testid=lead][data-status=trial_created]").count() == 1
    click_to_page(page, page.locator("button:has-text('Extend trial')"))
    message = page.inner_text("[role=alert]")
    assert "does not support extending GitLab Duo trials" in message and "$0 order" in message
