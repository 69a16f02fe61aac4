"""The portal's seat reviews and renewals, run by its daily jobs (R32-R36, docs/billing.md)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import Flask

from portal.billing.chart import usage_chart_svg
from portal.models import Subscription, db
from tests.portal.billing_helpers import (
    EXAMPLE_1,
    EXAMPLE_2,
    customer_with_usage,
    invoices,
    reviews,
)
from tests.portal.helpers import OWNER, mails, run_jobs_until, subscription_row


def test_r32_r33_r34_r36_worked_example_1_quarterly_invoices_to_the_cent(
    make_portal, db_backend: str
) -> None:
    app: Flask = make_portal(start="2025-12-31T12:00:00Z")
    name, _ = customer_with_usage(app, EXAMPLE_1, dt.date(2027, 1, 1), seats=100)
    run_jobs_until(app, "2026-04-01T06:00:00Z")
    assert subscription_row(app, name)["seats"] == 112  # R34: licensed count rises
    run_jobs_until(app, "2027-01-01T06:00:00Z")

    found = invoices(app, name)
    assert [(i["kind"], i["issued_on"], i["state"], i["lines"]) for i in found] == [
        ("quarterly_seat_review", "2026-04-01", "invoiced", [(12, 34800, "275/365", 314630)]),
        ("quarterly_seat_review", "2026-07-01", "invoiced", [(8, 34800, "184/365", 140344)]),
        ("renewal", "2027-01-01", "invoiced", [(128, 34800, "365/365", 4454400)]),
    ]
    assert sum(i["total_cents"] for i in found[:2]) == 454974
    assert reviews(app, name) == [
        ("quarterly", "Q1", 112, 12, "charged"),
        ("quarterly", "Q2", 120, 8, "charged"),
        ("quarterly", "Q3", 118, 0, "no_overage"),
        ("quarterly", "Q4", 130, 10, "last_quarter_not_charged"),  # R34: Q4 never charged
    ]
    row = subscription_row(app, name)
    assert row["seats"] == 128 and row["ends_on"] == dt.date(2028, 1, 1)  # R36
    license_mails = [m for m in mails(app, "license") if m["to"] == OWNER]
    assert len(license_mails) == 3  # Q1, Q2 adjustments (R34) and the renewal


def test_r35_r36_worked_example_2_annual_review_invoiced_with_the_renewal(make_portal) -> None:
    app: Flask = make_portal(start="2028-02-28T12:00:00Z")
    name, _ = customer_with_usage(
        app, EXAMPLE_2, dt.date(2028, 3, 1), seats=50, review_cycle="annual"
    )
    run_jobs_until(app, "2028-03-01T06:00:00Z")
    found = invoices(app, name)
    assert [(i["kind"], i["issued_on"], i["lines"], i["total_cents"]) for i in found] == [
        (
            "renewal",
            "2028-03-01",
            [(13, 34800, "366/366", 452400), (61, 34800, "365/365", 2122800)],
            2575200,
        )
    ]
    assert reviews(app, name) == [("annual", "Term", 63, 13, "charged")]
    assert subscription_row(app, name)["seats"] == 61


def test_r35_a_24_month_annual_term_is_reviewed_and_invoiced_at_month_12_and_charted(
    make_portal,
) -> None:
    """26 users on 20 seats in year 1 of a 24-month term: reviewed and invoiced on 2027-01-01,
    at list price for that year (6 x 34,800 = 208,800), not a year later with the renewal."""
    app: Flask = make_portal(start="2026-12-30T12:00:00Z")
    changes = [("2026-01-01", 18), ("2026-03-01", 26), ("2026-12-01", 21)]
    name, _ = customer_with_usage(
        app,
        changes,
        dt.date(2027, 1, 1),
        seats=20,
        ends_on=dt.date(2028, 1, 1),
        review_cycle="annual",
    )
    run_jobs_until(app, "2027-01-01T06:00:00Z")
    found = invoices(app, name)
    assert [(i["kind"], i["issued_on"], i["lines"]) for i in found] == [
        ("annual_seat_review", "2027-01-01", [(6, 34800, "365/365", 208800)])
    ]
    assert reviews(app, name) == [("annual", "Year 1", 26, 6, "charged")]
    assert subscription_row(app, name)["seats"] == 20  # each year pays for its own overage
    with app.app_context():
        subscription = db.session.execute(
            sa.select(Subscription).where(Subscription.name == name)
        ).scalar_one()
        svg = usage_chart_svg(subscription)
    assert svg is not None and "Year 1 max 26, 6 charged" in svg
