"""Enterprise Agile Planning sold by sales beside GitLab Duo (R3, R4, R5, R6)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from portal.billing_models import Invoice
from portal.licensing import build_license
from portal.models import Order, Subscription, db
from protocol.license import AddOnTier, LicenseType
from tests.portal.helpers import (
    add_ons,
    customer_subscription,
    flashes,
    now,
    place_order,
    sign_in_staff,
)


def _sold(app: Flask, plan: str, *orders: tuple[str, int]) -> tuple[str, FlaskClient]:
    """A 30-seat subscription on ``plan`` and sales, signed in, having placed ``orders`` (kind,
    seats) on it: its name and sales' client."""
    name = customer_subscription(app, "owner@example.com", plan=plan, seats=30)
    sales = sign_in_staff(app, "sales")
    for kind, seats in orders:
        place_order(sales, name, {"kind": kind, "seats": str(seats)})
    return name, sales


def test_r6_r3_sales_adds_agile_planning_beside_duo_and_the_license_carries_both(
    portal_app: Flask,
) -> None:
    name, sales = _sold(
        portal_app, "ultimate", ("duo_enterprise", 20), ("enterprise_agile_planning", 10)
    )
    # More seats later add to the same purchase (R5), never above the 30 subscription seats.
    place_order(sales, name, {"kind": "enterprise_agile_planning", "seats": "5"})
    too_many = place_order(sales, name, {"kind": "enterprise_agile_planning", "seats": "16"})
    assert "can't exceed" in flashes(sales.get(too_many.location))
    # Selling Duo Enterprise again on top would end the Duo tier only, never the EAP purchase.
    duo, eap = add_ons(portal_app, name)
    assert duo["tier"] == "duo_enterprise" and duo["quantity"] == 20
    assert eap["tier"] == "enterprise_agile_planning" and eap["quantity"] == 15
    page = sales.get(f"/sales/subscriptions/{name}").get_data(as_text=True)
    assert "Enterprise Agile Planning: 15 seats" in page
    with portal_app.app_context():
        subscription = db.session.execute(
            sa.select(Subscription).where(Subscription.name == name)
        ).scalar_one()
        # The Duo rules never see the EAP row (R6: one Duo tier at a time, not one add-on).
        assert [p.tier for p in subscription.add_on_purchases] == ["duo_enterprise"]
        license = build_license(subscription, now(portal_app), LicenseType.OFFLINE_CLOUD)
        tiers = {p.tier: p.quantity for p in license.add_on_products}
        assert tiers == {AddOnTier.DUO_ENTERPRISE: 20, AddOnTier.ENTERPRISE_AGILE_PLANNING: 15}
        orders = db.session.execute(
            sa.select(Order.kind, Order.amount_cents).where(
                Order.subscription_id == subscription.id
            )
        ).all()
        # 10 and 5 seats at $180 a seat-year for the 335 days left of the term:
        # 18000 * 10 * 335 / 365 = 165,205.48 -> 165205; 18000 * 5 * 335 / 365 -> 82603.
        eap_orders = [amount for kind, amount in orders if kind == "enterprise_agile_planning"]
        assert eap_orders == [165205, 82603]


def test_r6_agile_planning_sits_beside_a_duo_pro_purchase_and_its_replacement(
    portal_app: Flask,
) -> None:
    name, _ = _sold(portal_app, "premium", ("enterprise_agile_planning", 4), ("duo_enterprise", 8))
    eap, duo = add_ons(portal_app, name)
    assert eap["ends_on"] > duo["starts_on"]  # Duo Enterprise did not end it
    assert eap["quantity"] == 4 and duo["tier"] == "duo_enterprise"


def test_r4_agile_planning_is_refused_on_free(portal_app: Flask) -> None:
    name, sales = _sold(portal_app, "free")
    refused = place_order(sales, name, {"kind": "enterprise_agile_planning", "seats": "3"})
    message = flashes(sales.get(refused.location))
    assert "Enterprise Agile Planning is sold on Premium and Ultimate subscriptions only" in message
    assert add_ons(portal_app, name) == []


def test_r6_r5_agile_planning_renews_with_the_subscription_beside_duo(portal_app: Flask) -> None:
    """R6: Enterprise Agile Planning is a product of the subscription as GitLab Duo is, so the
    renewal sales order renews both for the new term (and invoices both); R5: a renewal below
    its seats is refused, as below Duo's."""
    name, sales = _sold(
        portal_app, "ultimate", ("duo_enterprise", 20), ("enterprise_agile_planning", 25)
    )
    too_few = place_order(sales, name, {"kind": "renewal", "seats": "24", "add_on_seats": "20"})
    assert "can't exceed" in flashes(sales.get(too_few.location))
    assert len(add_ons(portal_app, name)) == 2  # nothing written
    place_order(sales, name, {"kind": "renewal", "seats": "30", "add_on_seats": "12"})
    duo, eap, renewed_duo, renewed_eap = add_ons(portal_app, name)
    assert (renewed_duo["tier"], renewed_duo["quantity"]) == ("duo_enterprise", 12)
    assert (renewed_eap["tier"], renewed_eap["quantity"]) == ("enterprise_agile_planning", 25)
    for old, new in ((duo, renewed_duo), (eap, renewed_eap)):
        assert new["starts_on"] == old["ends_on"] and new["ends_on"] > new["starts_on"]
        assert not new["trial"]
    with portal_app.app_context():
        subscription = db.session.execute(
            sa.select(Subscription).where(Subscription.name == name)
        ).scalar_one()
        assert [p.tier for p in subscription.add_on_purchases] == ["duo_enterprise"] * 2
        renewal = db.session.execute(
            sa.select(Invoice)
            .join(Order)
            .where(Order.subscription_id == subscription.id, Order.kind == "renewal")
        ).scalar_one()
        described = [(line.description, line.seats) for line in renewal.lines]
    assert ("Renewal: 25 add-on seats (enterprise agile planning)", 25) in described, described
    assert ("Renewal: 12 add-on seats (duo enterprise)", 12) in described, described
