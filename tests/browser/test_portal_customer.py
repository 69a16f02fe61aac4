"""The customer's purchase flow and activation-code page, and the public trial form, in chromium."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask

from tests.browser.screens import click_to_page
from tests.portal.helpers import (
    OWNER,
    PASSWORD,
    add_ons,
    mails,
    make_account,
    make_subscription,
    run_jobs_until,
)


def _sign_in(page: Any, url: str) -> None:
    page.goto(f"{url}/users/sign_in")
    page.fill("#login", OWNER)
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_url(f"{url}/subscriptions")


def test_r3_r5_buy_duo_pro_in_the_browser(portal_app: Flask, live_server: Any, page: Any) -> None:
    name = make_subscription(
        portal_app, make_account(portal_app, OWNER), seats=20, contact_email="contact@example.com"
    )
    url = live_server(portal_app).url
    _sign_in(page, url)
    click_to_page(page, page.locator(f"text={name}"))
    click_to_page(page, page.locator("[data-testid=buy-duo-pro]"))
    page.fill("#seats", "21")
    click_to_page(page, page.locator("button:has-text('Continue')"))
    assert "can't exceed the subscription's 20 seats" in page.inner_text("[role=alert]")

    page.fill("#seats", "8")
    click_to_page(page, page.locator("button:has-text('Continue')"))
    assert "Purchase summary" in page.content()
    assert re.fullmatch(r"\$[0-9,]+\.[0-9]{2}", page.inner_text("[data-testid=price]"))
    page.select_option("#payment_method", label="Mastercard ending in 0002")
    click_to_page(page, page.locator("button:has-text('Purchase seats')"))
    assert "declined" in page.inner_text("[role=alert]")
    assert add_ons(portal_app, name) == []

    page.select_option("#payment_method", label="Visa ending in 4242")
    page.click("button:has-text('Purchase seats')")
    page.wait_for_url(f"{url}/subscriptions/{name}")
    assert "purchase of 8 seats is complete" in page.inner_text("[role=alert]")
    assert "GitLab Duo Pro: 8 seats" in page.inner_text("#add-ons")
    assert [m["to"] for m in mails(portal_app, "purchase_confirmation")] == ["contact@example.com"]


def test_r8_activation_code_page_in_the_browser(
    portal_app: Flask, live_server: Any, page: Any
) -> None:
    name = make_subscription(portal_app, make_account(portal_app, OWNER))
    url = live_server(portal_app).url
    _sign_in(page, url)
    page.goto(f"{url}/subscriptions/{name}")
    assert page.inner_text("[data-testid=subscription-badge]") == name
    click_to_page(page, page.locator("button:has-text('Generate activation code')"))
    code = page.inner_text("[data-testid=activation-code]")
    assert re.fullmatch(r"[A-Za-z0-9]{24}", code)
    click_to_page(page, page.locator("button:has-text('Show activation code')"))
    assert page.inner_text("[data-testid=activation-code]") == code


def test_r20_r22_trial_form_in_the_browser(portal_app: Flask, live_server: Any, page: Any) -> None:
    name = make_subscription(
        portal_app, make_account(portal_app, OWNER), contact_email="contact@example.com"
    )
    url = live_server(portal_app).url
    for country in ("Germany", "Iran"):
        page.goto(f"{url}/trials/duo")
        page.fill("#subscription_name", name)
        page.fill("#email", "contact@example.com")
        page.fill("#first_name", "Ada")
        page.fill("#last_name", "Lovelace")
        page.fill("#company", "Example Corp")
        page.select_option("#country", label=country)
        click_to_page(page, page.locator("button:has-text('Submit')"))
        assert "trial request was received" in page.inner_text("[data-testid=trial-success]")
    run_jobs_until(portal_app, "2026-03-02T05:00:00Z")
    (trial,) = add_ons(portal_app, name)  # the German request; the Iranian one fails silently
    assert trial["trial"]
