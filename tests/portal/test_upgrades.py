"""*Upgrade plan*, Premium to Ultimate (``portal.upgrades``): the price for the rest of the term,
what changes and what stays, the refusals that leave nothing behind, and the upgrade reaching a
self-managed instance at its next sync and a GitLab.com group at once (R4, R7, R13, R31)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from instance.gitlab_com.billable import group_subscription
from portal import upgrades
from portal.errors import Refused
from portal.idempotency import place_once
from portal.models import Account, Invoice, InvoiceLine, Order, PaymentMethod, Subscription, db
from portal.orders import OrderTerms
from portal.payments import PaymentDeclined
from portal.purchases import buy_duo_pro
from portal.subscriptions import find_subscription
from tests.portal.gitlab_com_pair import Pair
from tests.portal.helpers import (
    OWNER,
    FakeInstance,
    activation_code,
    add_ons,
    count,
    customer_order,
    mails,
    make_account,
    make_customer,
    make_subscription,
    payment_method_ids,
    sign_in,
)
from webcore.clock import app_clock

# 2026-03-02, a subscription started 30 days before: [2026-01-31, 2027-01-31), 335 days left.
# 50 seats x ($1,188 - $348) x 335/365 = 4,200,000 x 335 / 365 = 3,854,794.52 → 3,854,795 cents.
FIFTY_SEATS_FOR_335_DAYS = 3_854_795


def _upgrade(
    app: Flask,
    customer_id: int,
    name: str,
    card: int,
    plan: str = "ultimate",
    key: str | None = None,
) -> Order:
    """The operation as the page calls it, committed like a request."""
    with app.app_context():
        subscription = find_subscription(name)
        assert subscription is not None
        buyer = db.session.get(Account, customer_id)
        now = app_clock(app).now()
        try:
            order = place_once(
                subscription,
                key,
                "plan_upgrade",
                lambda k: upgrades.upgrade_plan(
                    OrderTerms(
                        subscription=subscription, placed_by=buyer, now=now, idempotency_key=k
                    ),
                    plan,
                    db.session.get(PaymentMethod, card),
                ),
            )
        except Exception:
            db.session.rollback()
            raise
        db.session.commit()
        db.session.refresh(order)
        db.session.expunge(order)
        return order


def _state(app: Flask, name: str) -> dict[str, Any]:
    with app.app_context():
        s = find_subscription(name)
        assert s is not None
        return {"plan": s.plan, "seats": s.seats, "starts_on": s.starts_on, "ends_on": s.ends_on}


@pytest.mark.all_backends
def test_r7_premium_to_ultimate_charges_the_price_difference_for_the_rest_of_the_term(
    portal_app: Flask,
) -> None:
    customer_id, name, card, _ = make_customer(portal_app)
    before = _state(portal_app, name)
    order = _upgrade(portal_app, customer_id, name, card)
    assert order.kind == "plan_upgrade" and order.channel == "self_serve"
    assert order.quantity == 50 and order.amount_cents == FIFTY_SEATS_FOR_335_DAYS
    assert order.payment_reference  # the card was charged
    # Seats and term stay; only the plan changes.
    assert _state(portal_app, name) == {**before, "plan": "ultimate"}
    with portal_app.app_context():
        invoice = db.session.execute(
            sa.select(Invoice).where(Invoice.order_id == order.id)
        ).scalar_one()
        (line,) = db.session.execute(
            sa.select(InvoiceLine).where(InvoiceLine.invoice_id == invoice.id)
        ).scalars()
        assert invoice.total_cents == FIFTY_SEATS_FOR_335_DAYS
        assert "Upgrade from Premium to Ultimate" in line.description
        assert (line.seats, line.unit_price_cents) == (50, 118_800 - 34_800)
        assert (line.period_starts_on, line.period_ends_on) == (
            dt.date(2026, 3, 2),
            dt.date(2027, 1, 31),
        )
    (receipt,) = mails(portal_app, "purchase_confirmation")
    assert receipt["to"] == "contact@example.com"  # R7
    assert "upgrade from Premium to Ultimate (50 seats)" in receipt["body"]
    assert "$38,547.95" in receipt["body"]
    assert "The new tier takes effect on the next subscription sync" in receipt["body"]
    assert "GitLab Duo purchases" not in receipt["body"]


@pytest.mark.all_backends
def test_r4_the_add_ons_stay_with_the_upgrade(portal_app: Flask) -> None:
    customer_id, name, card, _ = make_customer(portal_app, seats=20)
    with customer_order(portal_app, customer_id, name) as (terms, paying):
        buy_duo_pro(terms, 5, paying)
    before = add_ons(portal_app, name)
    _upgrade(portal_app, customer_id, name, card)
    assert add_ons(portal_app, name) == before and before[0]["quantity"] == 5


REFUSALS: list[tuple[str, dict[str, Any], Callable[[Subscription], None] | None, str]] = [
    ("already Ultimate", {"plan": "ultimate"}, None, "already on Ultimate"),
    ("Free", {"plan": "free"}, None, "has no plan to upgrade"),
    ("a plan trial", {"plan": "ultimate", "kind": "plan_trial"}, None, "A trial can't be"),
    ("community", {"kind": "community_program"}, None, "Community-program"),
    (
        "expired",
        {"starts_on": dt.date(2025, 1, 1), "ends_on": dt.date(2026, 1, 1)},
        None,
        "has expired",
    ),
    (
        "ended",
        {},
        lambda s: setattr(s, "ended_on", dt.date(2026, 3, 1)),
        "has expired",
    ),
    (
        "cancelled",
        {},
        lambda s: (
            setattr(s, "cancellation_notified_on", dt.date(2026, 3, 1)),
            setattr(s, "auto_renew", False),
        ),
        "is cancelled and ends on 2027-01-31",
    ),
    (
        "a renewal booked",
        {},
        lambda s: (
            setattr(s, "renewal_seats", 50),
            setattr(s, "renewal_ends_on", dt.date(2028, 1, 31)),
        ),
        "renewal is booked with sales",
    ),
]


@pytest.mark.all_backends
@pytest.mark.parametrize(
    ("subscription", "change", "message"),
    [
        pytest.param(options, change, message, id=label)
        for label, options, change, message in REFUSALS
    ],
)
def test_r7_refused_upgrades_change_and_charge_nothing(
    portal_app: Flask,
    subscription: dict[str, Any],
    change: Callable[[Subscription], None] | None,
    message: str,
) -> None:
    customer_id, name, card, _ = make_customer(portal_app, **subscription)
    if change is not None:
        with portal_app.app_context():
            row = find_subscription(name)
            assert row is not None
            change(row)
            db.session.commit()
    before = _state(portal_app, name)
    with pytest.raises(Refused, match=message):
        _upgrade(portal_app, customer_id, name, card)
    assert _state(portal_app, name) == before
    assert count(portal_app, Order) == 0 and count(portal_app, Invoice) == 0
    assert mails(portal_app) == []


@pytest.mark.all_backends
def test_r7_a_declined_card_or_a_wrong_choice_leaves_the_plan_as_it_was(portal_app: Flask) -> None:
    customer_id, name, card, declined = make_customer(portal_app)
    with pytest.raises(PaymentDeclined):
        _upgrade(portal_app, customer_id, name, declined)
    with pytest.raises(Refused, match="Choose the upgrade: Ultimate"):
        _upgrade(portal_app, customer_id, name, card, plan="premium")
    other = make_account(portal_app, "someone@example.com")
    other_card, _ = payment_method_ids(portal_app, other)
    with pytest.raises(Refused, match="Choose one of your payment methods"):
        _upgrade(portal_app, customer_id, name, other_card)
    assert _state(portal_app, name)["plan"] == "premium"
    assert count(portal_app, Order) == 0 and count(portal_app, Invoice) == 0
    assert mails(portal_app) == []


@pytest.mark.all_backends
def test_r7_the_same_upgrade_form_submitted_twice_is_charged_once(portal_app: Flask) -> None:
    customer_id, name, card, _ = make_customer(portal_app)
    first = _upgrade(portal_app, customer_id, name, card, key="upgrade-form-1")
    again = _upgrade(portal_app, customer_id, name, card, key="upgrade-form-1")
    assert again.id == first.id and count(portal_app, Order) == 1


def test_r13_r14_a_self_managed_instance_gets_ultimate_at_its_next_sync(portal_app: Flask) -> None:
    customer_id, name, card, _ = make_customer(portal_app)
    client = sign_in(portal_app, OWNER)
    instance = FakeInstance(portal_app)
    status, answer = instance.activate(activation_code(portal_app, client, name))
    assert status == 200 and instance.license(answer.license_token).plan.value == "premium"
    _upgrade(portal_app, customer_id, name, card)
    status, synced = instance.sync()
    assert status == 200
    upgraded = instance.license(synced.license_token)
    assert (upgraded.plan.value, upgraded.seats) == ("ultimate", 50)
    # An online cloud license reaches the instance by sync: no license file is mailed.
    assert mails(portal_app, "license") == []


def test_r7_an_offline_subscription_is_mailed_its_ultimate_license(portal_app: Flask) -> None:
    customer_id, name, card, _ = make_customer(portal_app, license_type="offline_cloud")
    _upgrade(portal_app, customer_id, name, card)
    (license_mail,) = mails(portal_app, "license")
    assert license_mail["to"] == "contact@example.com" and license_mail["attachment"]


def test_r31_a_linked_group_gets_ultimate_at_once_and_its_guest_stops_counting(pair: Pair) -> None:
    customer_id = make_account(pair.portal, "buyer@example.com")
    name = make_subscription(pair.portal, customer_id, seats=10)
    pair.link(name)
    pair.run_jobs()
    # Premium: owner, dev and the Guest are billable.
    assert pair.link_row(name).seats_in_use == 3
    card, _ = payment_method_ids(pair.portal, customer_id)
    _upgrade(pair.portal, customer_id, name, card)
    runs = pair.run_jobs()  # the push due at once, no daily wait
    assert "provision_namespace" in [run["name"] for run in runs]
    with pair.gitlab_com.app_context():
        provisioned = group_subscription(pair.group_id)
        assert provisioned is not None
        assert (provisioned.plan_code, provisioned.seats) == ("ultimate", 10)
    assert pair.link_row(name).seats_in_use == 2
    (receipt,) = mails(pair.portal, "purchase_confirmation")
    assert "GitLab.com applies Ultimate to acme now." in receipt["body"]
