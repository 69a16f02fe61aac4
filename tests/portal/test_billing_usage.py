"""Usage history and the review rules around it: Seat Link, check-ins, idempotence (R32-R35)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import sqlalchemy as sa
from flask import Flask

from portal.billing.jobs import run_seat_reviews
from portal.billing.usage import usage_history
from portal.models import SalesCheckIn, Subscription, db
from protocol.messages import DailyUsage
from tests.portal.billing_helpers import (
    EXAMPLE_1,
    customer_with_usage,
    invoices,
    reviews,
)
from tests.portal.helpers import (
    FakeInstance,
    activation_code,
    make_account,
    make_subscription,
    now,
    run_jobs_until,
    sign_in,
    subscription_row,
)


def _subscription(app: Flask, name: str) -> Subscription:
    return db.session.execute(sa.select(Subscription).where(Subscription.name == name)).scalar_one()


def test_r32_daily_counts_reported_by_sync_build_the_history_latest_report_wins(
    make_portal,
) -> None:  # type: ignore[no-untyped-def]
    app: Flask = make_portal(start="2026-01-10T03:30:00Z")
    make_account(app, "owner@example.com")
    name = make_subscription(app, 1, starts_on=dt.date(2026, 1, 1))
    client = sign_in(app, "owner@example.com")
    instance = FakeInstance(app)
    assert instance.activate(activation_code(app, client, name))[0] == 200

    def sync(*days: tuple[str, int]) -> None:
        request = dataclasses.replace(
            instance.sync_request(billable_users=days[-1][1]),
            daily_usage=tuple(DailyUsage(dt.date.fromisoformat(d), u) for d, u in days),
        )
        status, _ = instance._post("/api/v1/seat_links", request)
        assert status == 200

    sync(("2025-12-30", 4), ("2026-01-08", 10), ("2026-01-09", 11), ("2026-01-10", 11))
    run_jobs_until(app, "2026-01-10T15:00:00Z")
    sync(("2026-01-09", 11), ("2026-01-10", 14))  # the manual sync later in the day
    with app.app_context():
        history = usage_history(_subscription(app, name), dt.date(2026, 1, 9), dt.date(2026, 2, 1))
    assert [(r.day.isoformat(), r.billable_users) for r in history] == [
        ("2026-01-08", 10),  # the last reading before the period, to carry (R33)
        ("2026-01-09", 11),
        ("2026-01-10", 14),  # latest report wins
    ]


def test_r34_a_quarter_is_reviewed_and_charged_once_however_often_the_job_runs(
    make_portal,
) -> None:  # type: ignore[no-untyped-def]
    app: Flask = make_portal(start="2025-12-31T12:00:00Z")
    name, _ = customer_with_usage(app, EXAMPLE_1, dt.date(2026, 4, 2), seats=100)
    run_jobs_until(app, "2026-04-01T06:00:00Z")
    with app.app_context():
        assert run_seat_reviews(now(app)) == 0
        db.session.commit()
    assert len(invoices(app, name)) == 1
    assert subscription_row(app, name)["seats"] == 112
    assert reviews(app, name) == [("quarterly", "Q1", 112, 12, "charged")]


def test_r32_r34_without_seat_link_a_quarter_waits_for_its_check_in_then_has_no_data(
    make_portal,
) -> None:  # type: ignore[no-untyped-def]
    app: Flask = make_portal(start="2025-12-31T12:00:00Z")
    owner = make_account(app, "owner@example.com")
    name = make_subscription(
        app, owner, seats=10, starts_on=dt.date(2026, 1, 1), license_type="legacy"
    )
    run_jobs_until(app, "2026-04-02T06:00:00Z")
    assert reviews(app, name) == []  # Q1 ended: waiting for sales' check-in
    run_jobs_until(app, "2026-07-01T06:00:00Z")
    assert reviews(app, name) == [("quarterly", "Q1", None, 0, "no_data")]  # never reported
    assert invoices(app, name) == []
    assert subscription_row(app, name)["seats"] == 10


def test_r35_a_term_started_before_2020_06_15_is_reviewed_at_renewal_then_quarterly(
    make_portal,
) -> None:  # type: ignore[no-untyped-def]
    app: Flask = make_portal(start="2019-06-30T12:00:00Z")
    changes = [("2019-07-01", 20), ("2019-08-05", 26), ("2020-02-01", 24), ("2020-08-10", 30)]
    name, _ = customer_with_usage(app, changes, dt.date(2020, 10, 2), seats=20)
    run_jobs_until(app, "2020-10-01T06:00:00Z")
    found = invoices(app, name)
    # R35: no quarterly charge in the old term; 6 over 20 at full list price with the renewal
    # (2020 is a leap year: the term holds 2020-02-29). R36: renewed at the 24 active.
    assert [(i["kind"], i["issued_on"], i["lines"]) for i in found] == [
        (
            "renewal",
            "2020-07-01",
            [(6, 34800, "366/366", 208800), (24, 34800, "365/365", 835200)],
        ),
        ("quarterly_seat_review", "2020-10-01", [(6, 34800, "273/365", 156171)]),
    ]
    assert reviews(app, name)[0] == ("annual", "Term", 26, 6, "charged")
    assert reviews(app, name)[-1] == ("quarterly", "Q1", 30, 6, "charged")
    assert subscription_row(app, name)["seats"] == 30


def test_r32_a_check_in_for_a_reviewed_or_unknown_period_changes_nothing(make_portal) -> None:  # type: ignore[no-untyped-def]
    from portal.billing.reviews import record_check_in
    from portal.errors import Refused

    app: Flask = make_portal(start="2026-04-05T12:00:00Z")
    owner = make_account(app, "owner@example.com")
    seller = make_account(app, "sales@example.com", role="sales")
    name = make_subscription(app, owner, seats=10, starts_on=dt.date(2026, 1, 1))
    with app.app_context():
        subscription = _subscription(app, name)
        from portal.models import Account

        entered_by = db.session.get(Account, seller)
        for label, maximum in (("Q9", "12"), ("Q1", "-3"), ("Q1", "1e9"), ("Term", "12")):
            try:
                record_check_in(
                    subscription,
                    period_label=label,
                    reported_maximum=maximum,
                    entered_by=entered_by,
                    now=now(app),
                )
            except Refused:
                db.session.rollback()
            else:
                raise AssertionError(f"{label} {maximum} was accepted")
        assert (
            db.session.execute(sa.select(sa.func.count()).select_from(SalesCheckIn)).scalar() == 0
        )


def test_r36_a_subscription_that_cannot_be_billed_does_not_stop_the_others(
    make_portal, caplog
) -> None:  # type: ignore[no-untyped-def]
    app: Flask = make_portal(start="2026-12-30T12:00:00Z", PRICE_LIST="premium=34800")
    owner = make_account(app, "owner@example.com")
    unpriced = make_subscription(
        app, owner, plan="ultimate", seats=5, starts_on=dt.date(2026, 1, 1)
    )
    priced = make_subscription(app, owner, seats=5, starts_on=dt.date(2026, 1, 1))
    run_jobs_until(app, "2027-01-01T06:00:00Z")
    assert subscription_row(app, priced)["ends_on"] == dt.date(2028, 1, 1)
    assert [i["kind"] for i in invoices(app, priced)] == ["renewal"]
    assert subscription_row(app, unpriced)["ends_on"] == dt.date(2027, 1, 1)
    assert invoices(app, unpriced) == []
    assert f"renewal of {unpriced} failed" in caplog.text
    client = sign_in(app, "owner@example.com")
    assert client.get(f"/subscriptions/{unpriced}").status_code == 200  # the page still shows
