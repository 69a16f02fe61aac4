"""Billing in chromium: the usage chart, an invoice, and cancelling automatic renewal (R33-R36)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tests.browser.screens import click_to_page, sign_in
from tests.portal.billing_helpers import (
    EXAMPLE_1,
    customer_with_usage,
)
from tests.portal.helpers import OWNER, PASSWORD, run_jobs_until

pytestmark = pytest.mark.browser


def test_r33_r34_r36_chart_invoice_and_cancel_renewal_in_the_browser(
    make_portal: Any, live_server: Any, page: Any
) -> None:
    app = make_portal(start="2025-12-31T12:00:00Z")
    name, _ = customer_with_usage(app, EXAMPLE_1, dt.date(2026, 4, 2), seats=100)
    run_jobs_until(app, "2026-04-01T06:00:00Z")
    url = live_server(app).url
    sign_in(page, url, OWNER, PASSWORD)
    page.wait_for_url(f"{url}/subscriptions")
    click_to_page(page, page.locator(f"text={name}"))

    chart = page.locator("[data-testid=usage-chart] svg")
    assert chart.count() == 1 and chart.bounding_box()["width"] > 200
    assert "Q1 max 112, 12 charged" in page.inner_html("[data-testid=usage-chart]")

    click_to_page(page, page.locator("[data-testid=all-invoices]"))
    click_to_page(page, page.locator("text=INV-"))
    assert page.inner_text("[data-testid=invoice-total]") == "$3,146.30"
    assert "275/365" in page.inner_text("[data-testid=invoice-lines]")

    page.goto(f"{url}/subscriptions/{name}")
    click_to_page(page, page.locator("[data-testid=cancel-renewal]"))
    assert "ends on 2027-01-01" in page.inner_text("[role=alert]")
    assert "will not renew" in page.inner_text("[data-testid=renewal-status]")
