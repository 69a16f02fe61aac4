"""Helpers for the billing tests: subscriptions with Seat Link and a history of daily counts."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from flask import Flask

from portal.models import Invoice, SeatReview, Subscription, UsageReport, db
from tests.portal.helpers import (
    OWNER,
    FakeInstance,
    activation_code,
    customer_subscription,
    sign_in,
)

# Worked example 1 of docs/billing.md: (from, users), each count holding until the next.
EXAMPLE_1 = [
    ("2026-01-01", 100),
    ("2026-02-16", 112),
    ("2026-03-20", 108),
    ("2026-05-04", 120),
    ("2026-06-01", 115),
    ("2026-08-03", 118),
    ("2026-10-12", 130),
    ("2026-12-01", 128),
]
EXAMPLE_2 = [
    ("2027-03-01", 48),
    ("2027-06-14", 57),
    ("2027-09-20", 63),
    ("2027-11-02", 58),
    ("2028-02-01", 61),
]


def daily_counts(changes: list[tuple[str, int]], until: dt.date) -> list[tuple[dt.date, int]]:
    """Each day's count from a table of changes (each count holds until the next change)."""
    days = [(dt.date.fromisoformat(day), users) for day, users in changes]
    out, day = [], days[0][0]
    while day < until:
        out.append((day, [u for c, u in days if c <= day][-1]))
        day += dt.timedelta(days=1)
    return out


def store_daily_usage(app: Flask, name: str, counts: list[tuple[dt.date, int]]) -> None:
    """What a year of daily syncs leaves on the portal: one report a day, the last days' counts."""
    with app.app_context():
        subscription = db.session.execute(
            sa.select(Subscription).where(Subscription.name == name)
        ).scalar_one()
        for index, (day, users) in enumerate(counts):
            window = counts[max(0, index - 2) : index + 1]
            db.session.add(
                UsageReport(
                    subscription_id=subscription.id,
                    instance_id="instance-1",
                    received_at=dt.datetime.combine(day, dt.time(3, 30), tzinfo=dt.UTC),
                    gitlab_version="17.5.0",
                    billable_users=users,
                    max_historical_users=users,
                    add_on_usage=[],
                    daily_usage=[{"day": d.isoformat(), "billable_users": u} for d, u in window],
                )
            )
        db.session.commit()


def customer_with_seat_link(app: Flask, email: str, **options: Any) -> tuple[str, Any]:
    """A customer's subscription, activated by a (fake) instance: it shares usage by Seat Link."""

    name = customer_subscription(app, email, **options)
    client = sign_in(app, email)
    instance = FakeInstance(app, instance_id=f"instance-{name}")
    status, _ = instance.activate(activation_code(app, client, name))
    assert status == 200
    return name, client


def customer_with_usage(
    app: Flask, changes: list[tuple[str, int]], reported_until: dt.date, **options: Any
) -> tuple[str, Any]:
    """``OWNER``'s ``customer_with_seat_link`` on a subscription that starts on the first day of
    ``changes``, its instance having reported them every day before ``reported_until``
    (``daily_counts``): the subscription's name and the customer's client."""
    options.setdefault("starts_on", dt.date.fromisoformat(changes[0][0]))
    name, client = customer_with_seat_link(app, OWNER, **options)
    store_daily_usage(app, name, daily_counts(changes, reported_until))
    return name, client


def _of_subscription(model: Any, name: str, *order_by: Any) -> Any:
    """The rows of ``model`` (invoices, seat reviews) of subscription ``name``, in order."""
    query = sa.select(model).join(Subscription).where(Subscription.name == name)
    return db.session.execute(query.order_by(*order_by)).scalars()


def invoices(app: Flask, name: str) -> list[dict[str, Any]]:
    with app.app_context():
        rows = _of_subscription(Invoice, name, Invoice.issued_on, Invoice.id)
        return [
            {
                "kind": r.kind,
                "issued_on": r.issued_on.isoformat(),
                "state": r.state,
                "total_cents": r.total_cents,
                "lines": [
                    (line.seats, line.unit_price_cents, line.proration_label, line.amount_cents)
                    for line in r.lines
                ],
                "id": r.id,
            }
            for r in rows
        ]


def reviews(app: Flask, name: str) -> list[tuple[str, str, int | None, int, str]]:
    with app.app_context():
        rows = _of_subscription(SeatReview, name, SeatReview.period_starts_on, SeatReview.id)
        return [(r.kind, r.label, r.measured_maximum, r.overage, r.outcome) for r in rows]
