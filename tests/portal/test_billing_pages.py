"""Billing over HTTP: invoices, the usage chart, cancelling renewal, sales check-ins (R32-R36)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from flask import Flask

from portal.models import SalesCheckIn
from tests.portal.billing_helpers import (
    EXAMPLE_1,
    customer_with_usage,
    invoices,
    reviews,
)
from tests.portal.helpers import (
    count,
    csrf_token,
    flashes,
    mails,
    make_account,
    make_subscription,
    run_jobs_until,
    sign_in,
    subscription_row,
)

SUPPORT = "support@provlab.example"


def _support(app: Flask):  # type: ignore[no-untyped-def]
    make_account(app, SUPPORT, role="support")
    return sign_in(app, SUPPORT, path="/support/sign_in")


def _post(client, path: str, page: str, **data: str):  # type: ignore[no-untyped-def]
    return client.post(path, data={**data, "csrf_token": csrf_token(client, page)})


@pytest.fixture
def quarterly(make_portal) -> tuple[Flask, str, object]:  # type: ignore[no-untyped-def]
    app: Flask = make_portal(start="2025-12-31T12:00:00Z")
    name, client = customer_with_usage(app, EXAMPLE_1, dt.date(2026, 7, 2), seats=100)
    run_jobs_until(app, "2026-07-01T06:00:00Z")
    return app, name, client


def test_r34_customer_sees_own_invoices_with_line_items_and_others_get_404(quarterly) -> None:  # type: ignore[no-untyped-def]
    app, name, client = quarterly
    listing = client.get(f"/subscriptions/{name}/invoices").get_data(as_text=True)
    assert listing.count('data-testid="invoice-row"') == 2
    first = invoices(app, name)[0]
    page = client.get(f"/subscriptions/{name}/invoices/{first['id']}").get_data(as_text=True)
    assert "275/365" in page and "$3,146.30" in page and "$348.00" in page
    assert "2026-04-01 .. 2026-12-31" in page

    make_account(app, "other@example.com")
    other = sign_in(app, "other@example.com")
    assert other.get(f"/subscriptions/{name}/invoices").status_code == 404
    theirs = make_subscription(app, make_account(app, "third@example.com"))
    assert client.get(f"/subscriptions/{theirs}/invoices/{first['id']}").status_code == 404
    assert client.get(f"/subscriptions/{name}/invoices/99999").status_code == 404


def test_r34_support_sees_every_invoice(quarterly) -> None:  # type: ignore[no-untyped-def]
    app, name, _ = quarterly
    support = _support(app)
    listing = support.get("/support/invoices").get_data(as_text=True)
    assert listing.count('data-testid="invoice-row"') == 2 and name in listing
    second = invoices(app, name)[1]
    page = support.get(f"/support/invoices/{second['id']}").get_data(as_text=True)
    assert "184/365" in page and "$1,403.44" in page


def test_r33_usage_chart_is_server_side_svg_on_customer_and_support_pages(quarterly) -> None:  # type: ignore[no-untyped-def]
    app, name, client = quarterly
    page = client.get(f"/subscriptions/{name}").get_data(as_text=True)
    chart = re.search(r'data-testid="usage-chart">(.*?)</figure>', page, re.S)
    assert chart and chart.group(1).lstrip().startswith("<svg")
    assert "Q1 max 112, 12 charged" in chart.group(1)
    assert "Q2 max 120, 8 charged" in chart.group(1)
    assert "<script" not in chart.group(1)
    assert "reviewed quarterly: an overage in the last quarter is not charged" in page
    support_page = _support(app).get(f"/support/subscriptions/{name}").get_data(as_text=True)
    assert 'data-testid="usage-chart"><svg' in support_page.replace("\n", "")
    assert support_page.count('data-testid="seat-review"') == 2


@pytest.mark.parametrize(("days_before", "renews"), [(30, False), (29, True)])
def test_r36_cancel_renewal_at_least_30_days_before_or_it_renews(
    make_portal, days_before: int, renews: bool
) -> None:  # type: ignore[no-untyped-def]
    ends_on = dt.date(2027, 1, 1)
    notice = ends_on - dt.timedelta(days=days_before)
    app: Flask = make_portal(start=f"{notice.isoformat()}T09:00:00Z")
    owner = make_account(app, "owner@example.com")
    name = make_subscription(app, owner, seats=10, starts_on=dt.date(2026, 1, 1))
    client = sign_in(app, "owner@example.com")
    page = client.get(f"/subscriptions/{name}").get_data(as_text=True)
    assert "at least 30 days before the renewal date" in page and "2026-12-02" in page

    response = _post(client, f"/subscriptions/{name}/cancel_renewal", f"/subscriptions/{name}")
    assert response.status_code == 302
    message = flashes(client.get(response.location))
    assert ("still renews" in message) is renews

    again = _post(client, f"/subscriptions/{name}/cancel_renewal", f"/subscriptions/{name}")
    assert "already given" in flashes(client.get(again.location))

    run_jobs_until(app, "2027-01-01T06:00:00Z")
    row = subscription_row(app, name)
    found = invoices(app, name)
    if renews:
        assert row["ends_on"] == dt.date(2028, 1, 1)
        assert [i["kind"] for i in found] == ["renewal"]
    else:
        assert row["ends_on"] == ends_on and found == []
        assert "ended on 2027-01-01" in client.get(f"/subscriptions/{name}").get_data(as_text=True)


def _support_at_quarter_end(make_portal, license_type: str):  # type: ignore[no-untyped-def]
    """2026-03-31, the last day of Q1: owner@example.com's 100 seats since 2026-01-01, and
    support signed in. Returns (the portal, the subscription, support, its support page)."""
    app: Flask = make_portal(start="2026-03-31T09:00:00Z")
    owner = make_account(app, "owner@example.com")
    name = make_subscription(
        app, owner, seats=100, starts_on=dt.date(2026, 1, 1), license_type=license_type
    )
    return app, name, _support(app), f"/support/subscriptions/{name}"


def test_r32_r34_check_ins_send_an_order_amendment_then_an_invoice(make_portal) -> None:  # type: ignore[no-untyped-def]
    app, name, support, page = _support_at_quarter_end(make_portal, "offline_cloud")
    assert 'data-testid="check-in-form"' in support.get(page).get_data(as_text=True)

    refused = _post(support, f"{page}/check_ins", page, period="Q2", maximum="120")
    assert "report its maximum on or after" in flashes(support.get(refused.location))
    bad = _post(support, f"{page}/check_ins", page, period="Q1", maximum="lots")
    assert "whole number" in flashes(support.get(bad.location))
    assert count(app, SalesCheckIn) == 0

    done = _post(support, f"{page}/check_ins", page, period="Q1", maximum="112")
    assert "Check-in recorded" in flashes(support.get(done.location))
    run_jobs_until(app, "2026-04-01T06:00:00Z")

    (amendment,) = invoices(app, name)
    assert amendment["state"] == "amendment_sent"
    assert amendment["lines"] == [(12, 34800, "275/365", 314630)]
    assert subscription_row(app, name)["seats"] == 112
    assert [m["kind"] for m in mails(app) if m["kind"] in ("order_amendment", "license")] == [
        "order_amendment",
        "license",
    ]
    license_mail = [m for m in mails(app) if m["kind"] == "license"][0]
    assert license_mail["attachment"]  # an offline license file, with the new seats

    late = _post(support, f"{page}/check_ins", page, period="Q1", maximum="200")
    assert "already reviewed" in flashes(support.get(late.location))

    invoice_page = f"/support/invoices/{amendment['id']}"
    accepted = _post(support, f"{invoice_page}/accept_amendment", invoice_page)
    assert "now invoiced" in flashes(support.get(accepted.location))
    assert invoices(app, name)[0]["state"] == "invoiced"
    twice = _post(support, f"{invoice_page}/accept_amendment", invoice_page)
    assert "not waiting" in flashes(support.get(twice.location))
    assert reviews(app, name) == [("quarterly", "Q1", 112, 12, "charged")]


def test_r34_the_customer_accepts_their_own_order_amendment(make_portal) -> None:  # type: ignore[no-untyped-def]
    app, name, support, page = _support_at_quarter_end(make_portal, "legacy")
    _post(support, f"{page}/check_ins", page, period="Q1", maximum="105")
    run_jobs_until(app, "2026-04-01T06:00:00Z")
    (amendment,) = invoices(app, name)
    invoice_page = f"/subscriptions/{name}/invoices/{amendment['id']}"

    other_name = make_subscription(app, make_account(app, "other@example.com"))
    other = sign_in(app, "other@example.com")
    stranger = _post(
        other,
        f"/subscriptions/{other_name}/invoices/{amendment['id']}/accept_amendment",
        f"/subscriptions/{other_name}",
    )
    assert stranger.status_code == 404
    assert invoices(app, name)[0]["state"] == "amendment_sent"

    client = sign_in(app, "owner@example.com")
    assert "Accept the order amendment" in client.get(invoice_page).get_data(as_text=True)
    accepted = _post(client, f"{invoice_page}/accept_amendment", invoice_page)
    assert "amendment accepted" in flashes(client.get(accepted.location))
    assert invoices(app, name)[0]["state"] == "invoiced"
    assert invoices(app, name)[0]["lines"] == [(5, 34800, "275/365", 131096)]
