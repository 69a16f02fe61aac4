"""The daily sync's cost does not grow with history: a bounded number of queries per sync, and a
license signed only when its content changed (issue 15)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from portal.models import Activation, AddOnPurchase, IssuedLicense, Subscription, db
from protocol.envelope import seal_request
from tests.portal.helpers import (
    FakeInstance,
    activated_instance,
    count,
)
from webcore.clock import app_clock

pytestmark = pytest.mark.all_backends

# BEGIN, the activation with its subscription, add-ons and current license, the nonce, the usage
# report, the activation's sync state (and the commit, which is not a statement).
MAX_QUERIES_PER_UNCHANGED_SYNC = 5


@contextmanager
def _statements(app: Flask) -> Iterator[list[str]]:
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", note)


def _sync(app: Flask, instance: FakeInstance) -> tuple[int, list[str]]:
    """One sync over HTTP an hour after the last; its status and every statement the portal
    issued for it."""
    app_clock(app).advance(dt.timedelta(hours=1))
    token, _ = seal_request(instance.sync_request(), instance.key, app_clock(app))
    client = app.test_client()
    with _statements(app) as seen:
        response = client.post("/api/v1/seat_links", json={"request": token})
    return response.status_code, seen


def _activated(app: Flask) -> tuple[FakeInstance, str]:
    instance, name, _, _ = activated_instance(app, seats=30)
    return instance, name


def _grow_history(app: Flask, name: str, instance: FakeInstance, licenses: int) -> None:
    """Many ended add-on purchases, one in force, and ``licenses`` past licenses."""
    with app.app_context():
        subscription = db.session.execute(sa.select(Subscription).filter_by(name=name)).scalar_one()
        today = app_clock(app).now().date()
        for months in range(1, 13):
            starts = today - dt.timedelta(days=31 * months + 30)
            db.session.add(
                AddOnPurchase(
                    subscription_id=subscription.id,
                    tier="duo_pro",
                    quantity=months,
                    starts_on=starts,
                    ends_on=starts + dt.timedelta(days=30),
                    created_at=app_clock(app).now(),
                )
            )
        db.session.add(
            AddOnPurchase(
                subscription_id=subscription.id,
                tier="duo_pro",
                quantity=5,
                starts_on=today,
                ends_on=today + dt.timedelta(days=200),
                created_at=app_clock(app).now(),
            )
        )
        db.session.commit()
    for seats in range(31, 31 + licenses):
        with app.app_context():
            db.session.execute(sa.update(Subscription).filter_by(name=name).values(seats=seats))
            db.session.commit()
        assert _sync(app, instance)[0] == 200  # each one a new license: its seats changed


def test_a_sync_of_an_unchanged_subscription_issues_a_bounded_number_of_queries(
    portal_app: Flask,
) -> None:
    instance, name = _activated(portal_app)
    status, first = _sync(portal_app, instance)
    assert status == 200
    assert len(first) <= MAX_QUERIES_PER_UNCHANGED_SYNC, first

    _grow_history(portal_app, name, instance, licenses=8)
    assert count(portal_app, IssuedLicense) == 9
    status, later = _sync(portal_app, instance)
    assert status == 200
    # The same statements, however many add-ons and past licenses the subscription has.
    assert len(later) == len(first), later
    assert count(portal_app, IssuedLicense) == 9  # nothing re-signed


def test_a_license_is_signed_again_only_when_its_content_changed(portal_app: Flask) -> None:
    instance, name = _activated(portal_app)
    first = instance.sync()[1].license_token
    assert instance.sync()[1].license_token == first
    assert count(portal_app, IssuedLicense) == 1

    with portal_app.app_context():
        db.session.execute(sa.update(Subscription).filter_by(name=name).values(seats=31))
        db.session.commit()
    second = instance.sync()[1].license_token
    assert second != first and instance.license(second).seats == 31
    assert instance.sync()[1].license_token == second
    with portal_app.app_context():
        activation = db.session.execute(sa.select(Activation)).scalar_one()
        assert activation.license is not None and activation.license.token == second
    assert count(portal_app, IssuedLicense) == 2


def test_a_license_signed_again_is_stored_with_its_own_contents_fingerprint(
    portal_app: Flask,
) -> None:
    """The sync reads the fingerprint of the license its columns make from a cache of such
    fingerprints (issue 15): a change, and a change back to content answered before, are each
    signed again, and every stored fingerprint is that of the license stored with it."""
    from portal.licensing import fingerprint_of

    instance, name = _activated(portal_app)
    tokens = [instance.sync()[1].license_token]
    for seats in (31, 30):
        with portal_app.app_context():
            db.session.execute(sa.update(Subscription).filter_by(name=name).values(seats=seats))
            db.session.commit()
        tokens.append(instance.sync()[1].license_token)
        assert instance.license(tokens[-1]).seats == seats
    assert len(set(tokens)) == 3  # back at 30 seats, yet not the first answer: signed again
    with portal_app.app_context():
        stored = db.session.execute(sa.select(IssuedLicense.token, IssuedLicense.fingerprint)).all()
    assert len(stored) == 3
    for token, fingerprint in stored:
        assert fingerprint == fingerprint_of(instance.license(token)), token
