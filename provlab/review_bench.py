"""``provlab bench review``: R34's daily seat review of N Seat Link subscriptions, each with a
year of daily usage, run as the portal's job runs it; the target is under 10 s for 10,000.

The subscriptions are built with bulk inserts (the usage reports as a year of syncs leaves them,
the daily counts kept from them by the database), then the seat review is timed, then its result
checked: every subscription reviewed for its three quarters, and a sample's reviews and invoices
recomputed by the pure policy (``portal.billing.policy``) from the counts the bench generated.
SQLite by default; ``--postgres-url`` runs it on a fresh PostgreSQL database beside that one.
"""

from __future__ import annotations

import datetime as dt
import random
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from portal import create_app
from portal.billing.jobs import run_seat_reviews
from portal.billing.policy.calendar import Period, term_quarters
from portal.billing.policy.reviews import (
    Collection,
    ReviewOutcome,
    quarterly_review_invoice,
    review_quarter_utilization,
)
from portal.billing.policy.utilization import SubscriptionTerm, seat_utilization
from portal.billing.usage import DailyCount
from portal.models import (
    Account,
    Activation,
    Invoice,
    SeatReview,
    Subscription,
    UsageReport,
)
from portal.pricing import yearly_price
from portal.setup import prepare
from provlab.bench import START, Measurement
from provlab.fleet_bench import postgres_database
from webcore.transaction import unit_of_work

REVIEW_SECONDS_TARGET = 10.0
SEATS = 50
QUARTERS_DUE = 3  # the review day ends the third quarter of every subscription's second term
SAMPLE = 200  # subscriptions whose result is recomputed by the policy


@dataclass(frozen=True)
class ReviewRun:
    measurement: Measurement
    check: str  # what was checked of the result, or what was wrong
    right: bool


def bench_review(subscriptions: int = 10_000, postgres_url: str | None = None) -> ReviewRun:
    """Build ``subscriptions`` with a year of daily usage each, time the daily seat review on
    the day their third quarter ends, and check its result."""
    with _database(postgres_url) as (folder, database_url):
        app = create_app(
            {
                "INSTANCE_PATH": str(Path(folder) / "portal"),
                "CLOCK": "simulated",
                "SIMULATED_START": START.isoformat(),
                "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
                "DATABASE_URL": database_url,
            },
            environ={},
        )
        prepare(app)
        try:
            counts = _seed(app, subscriptions, random.Random(15))
            started, cpu_started = time.perf_counter(), time.process_time()
            with unit_of_work(app):
                reviewed = run_seat_reviews(START)
            seconds = time.perf_counter() - started
            # On a shared machine the wall time counts other processes' turns; this process's
            # CPU time does not (on PostgreSQL it leaves out the database server's).
            cpu_seconds = time.process_time() - cpu_started
            problems = _check(app, counts, reviewed)
        finally:
            with app.app_context():
                app.extensions["sqlalchemy"].session.remove()
                app.extensions["sqlalchemy"].engine.dispose()
    engine = "PostgreSQL" if postgres_url else "SQLite"
    measurement = Measurement(
        f"seat review, {subscriptions} subs ({engine})",
        seconds,
        "s",
        f"< {REVIEW_SECONDS_TARGET:g} s for 10,000",
        seconds < REVIEW_SECONDS_TARGET,
        f"({reviewed} subscriptions reviewed, {QUARTERS_DUE} quarters each, a year of daily usage; "
        f"{cpu_seconds:.2f} s of CPU in this process)",
    )
    sample = min(SAMPLE, subscriptions)
    check = "; ".join(problems) or (
        f"result right: {QUARTERS_DUE * subscriptions} reviews; {sample} subscriptions' reviews, "
        "seats and invoice amounts as the policy recomputes them"
    )
    return ReviewRun(measurement, check, not problems)


@contextmanager
def _database(postgres_url: str | None) -> Iterator[tuple[str, str]]:
    with tempfile.TemporaryDirectory(prefix="provlab-bench-review-") as folder:
        if postgres_url is None:
            yield folder, f"sqlite:///{Path(folder) / 'portal.db'}"
            return
        with postgres_database(postgres_url) as url:
            yield folder, url


def _dates() -> tuple[dt.date, dt.date, dt.date, dt.date]:
    # The second term [term_starts_on, ends_on) is 273 days in: its third quarter ends today.
    starts_on = (START - dt.timedelta(days=365 + 273)).date()
    term_starts_on = starts_on + dt.timedelta(days=365)
    return (
        starts_on,
        term_starts_on,
        term_starts_on + dt.timedelta(days=365),
        (term_starts_on + dt.timedelta(days=273 - 12 * 31)),
    )


def _seed(app: Flask, count: int, rng: random.Random) -> dict[int, list[tuple[dt.date, int]]]:
    """Bulk rows: a customer, its subscriptions, their activations, and a year of usage reports
    (one every 31 days carrying its 31 daily counts; about one subscription in six over its
    seats). Returns the daily counts generated, by subscription id."""
    starts_on, term_starts_on, ends_on, first_report_on = _dates()
    created = dt.datetime.combine(starts_on, dt.time(), tzinfo=dt.UTC) - dt.timedelta(days=1)
    generated: dict[int, list[tuple[dt.date, int]]] = {}
    with unit_of_work(app) as session:
        connection = session.connection()
        customer = connection.execute(
            sa.insert(Account.__table__).returning(Account.__table__.c.id),
            {
                "email": "owner@bench.test",
                "name": "Bench Owner",
                "password_hash": "-",
                "role": "customer",
                "created_at": created,
            },
        ).scalar_one()
        connection.execute(
            sa.insert(Subscription.__table__),
            [
                {
                    "name": f"A-S{10_000_000 + n:08d}",
                    "customer_id": customer,
                    "plan": "premium",
                    "seats": SEATS,
                    "starts_on": starts_on,
                    "ends_on": ends_on,
                    "kind": "paid",
                    "license_type": "online_cloud",
                    "review_terms": "quarterly",
                    "auto_renew": True,
                    "contact_name": "Bench Owner",
                    "contact_email": "owner@bench.test",
                    "contact_company": "",
                    "contact_country": "DE",
                    "activation_code": None,
                    "created_at": created,
                    "term_starts_on": term_starts_on,
                    "cancellation_notified_on": None,
                    "ended_on": None,
                }
                for n in range(count)
            ],
        )
        ids = list(
            connection.execute(
                sa.select(Subscription.__table__.c.id).order_by(Subscription.__table__.c.id)
            ).scalars()
        )
        connection.execute(
            sa.insert(Activation.__table__),
            [
                {
                    "subscription_id": sid,
                    "instance_id": f"instance-{sid}",
                    "key_id": f"key-{sid}",
                    "public_key": {"kty": "OKP", "crv": "Ed25519", "x": "-"},
                    "gitlab_version": "17.5.0-ee",
                    "hostname": f"gitlab-{sid}.bench.test",
                    "activated_at": created,
                    "last_sync_at": None,
                }
                for sid in ids
            ],
        )
        reports = []
        for sid in ids:
            peak = SEATS + (rng.randrange(12) if rng.random() < 1 / 6 else -rng.randrange(20))
            generated[sid] = []
            for month in range(12):
                first = first_report_on + dt.timedelta(days=31 * month)
                days = [(first + dt.timedelta(days=d), peak - rng.randrange(3)) for d in range(31)]
                generated[sid].extend(days)
                reports.append(
                    {
                        "subscription_id": sid,
                        "instance_id": f"instance-{sid}",
                        "received_at": dt.datetime.combine(days[-1][0], dt.time(3), tzinfo=dt.UTC),
                        "gitlab_version": "17.5.0-ee",
                        "billable_users": peak,
                        "max_historical_users": peak,
                        "add_on_usage": [],
                        "daily_usage": [
                            {"day": day.isoformat(), "billable_users": users} for day, users in days
                        ],
                    }
                )
            if len(reports) >= 12_000:
                connection.execute(sa.insert(UsageReport.__table__), reports)
                reports = []
        if reports:
            connection.execute(sa.insert(UsageReport.__table__), reports)
    return generated


def _check(app: Flask, counts: dict[int, list[tuple[dt.date, int]]], reviewed: int) -> list[str]:
    """What is wrong with the review's result, recomputed by the pure policy for a sample."""
    _, term_starts_on, ends_on, _ = _dates()
    term = Period(starts_on=term_starts_on, ends_on=ends_on)
    ids = sorted(counts)
    sample = ids[:: max(1, len(ids) // SAMPLE)][:SAMPLE]
    problems: list[str] = []
    with unit_of_work(app) as session:
        if reviewed != len(ids):
            problems.append(f"{reviewed} of {len(ids)} subscriptions reviewed")
        reviews = session.execute(sa.select(sa.func.count()).select_from(SeatReview)).scalar_one()
        if reviews != QUARTERS_DUE * len(ids):
            problems.append(f"{reviews} reviews, expected {QUARTERS_DUE * len(ids)}")
        for sid in sample:
            expected_seats, expected_totals, expected_maxima = _expected(term, counts[sid])
            seats = session.get(Subscription, sid).seats  # type: ignore[union-attr]
            maxima = _of_subscription(
                session, sid, SeatReview.measured_maximum, SeatReview.period_starts_on
            )
            totals = _of_subscription(session, sid, Invoice.total_cents, Invoice.id)
            if (seats, totals, maxima) != (expected_seats, expected_totals, expected_maxima):
                problems.append(
                    f"subscription {sid}: seats {seats}, invoices {totals}, maxima {maxima}; "
                    f"the policy says {expected_seats}, {expected_totals}, {expected_maxima}"
                )
    return problems


def _of_subscription(session: Session, sid: int, column: Any, order: Any) -> list[Any]:
    """``column`` of the rows of its table that belong to subscription ``sid``, by ``order``."""
    owned = sa.select(column).where(column.class_.subscription_id == sid)
    return list(session.scalars(owned.order_by(order)))


def _expected(
    term: Period, counts: list[tuple[dt.date, int]]
) -> tuple[int, list[int], list[int | None]]:
    readings = [DailyCount(day, users) for day, users in counts]
    sub_term = SubscriptionTerm(term=term, seats=SEATS, list_price_cents=yearly_price("premium"))
    seats, totals, maxima = SEATS, [], []
    for quarter in term_quarters(term)[:QUARTERS_DUE]:
        review = review_quarter_utilization(
            sub_term,
            quarter,
            seat_utilization(quarter, readings),
            licensed_seats=seats,
            collection=Collection.AUTOMATIC,
        )
        maxima.append(review.utilization.maximum)
        invoice = quarterly_review_invoice("bench", review)
        if invoice is not None:
            totals.append(invoice.total_cents)
        if review.outcome is ReviewOutcome.CHARGED:
            seats = review.licensed_seats_after
    return seats, totals, maxima
