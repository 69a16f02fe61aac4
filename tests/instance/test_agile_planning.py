"""Enterprise Agile Planning on a self-managed instance: synced from the license beside GitLab
Duo, a purchase of its own, shown on the admin page, seats assigned with Duo's rules (R6, R2)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from instance.add_ons import duo_purchase
from instance.agile_planning import agile_planning_purchase
from instance.models import AddOnPurchase, db
from protocol.license import AddOnProduct, AddOnTier
from tests.instance.conftest import add_user
from tests.instance.fake_portal import FakePortal
from tests.instance.helpers import activated, graphql_as, sync_now

TERM = (dt.date(2026, 1, 1), dt.date(2027, 1, 1))
PURCHASES = "{ addOnPurchases { id name purchasedQuantity assignedQuantity } }"
BULK = """mutation($p: GitlabSubscriptionsAddOnPurchaseID!, $u: [UserID!]!) {
  userAddOnAssignmentBulkCreate(input: {addOnPurchaseId: $p, userIds: $u}) { errors } }"""


def _graphql(app: Flask, query: str, **variables: object) -> dict[str, Any]:
    data: dict[str, Any] = graphql_as(app, "root", query, **variables)["data"]
    return data


def test_r6_the_license_provisions_agile_planning_beside_duo_with_its_own_seats(
    admin_client: FlaskClient, app: Flask, fake_portal: FakePortal
) -> None:
    subscription = activated(admin_client, fake_portal)
    eap = AddOnProduct(AddOnTier.ENTERPRISE_AGILE_PLANNING, 2, *TERM, False, "P-EAP")
    subscription.add_on_products = [AddOnProduct(AddOnTier.DUO_PRO, 3, *TERM, False, "P-1"), eap]
    assert sync_now(admin_client)["success"]
    # Pro -> Enterprise moves the Duo purchase only (R6: one Duo tier, any number of add-ons).
    duo = AddOnProduct(AddOnTier.DUO_ENTERPRISE, 3, *TERM, False, "P-2")
    subscription.add_on_products = [duo, eap]
    assert sync_now(admin_client)["success"]
    with app.app_context():
        assert db.session.execute(db.select(db.func.count(AddOnPurchase.id))).scalar() == 2
        row = agile_planning_purchase()
        assert row is not None and (row.tier, row.quantity) == ("enterprise_agile_planning", 2)
        duo_row = duo_purchase()
        assert duo_row is not None and duo_row.tier == "duo_enterprise"

    listed = _graphql(app, PURCHASES)["addOnPurchases"]
    assert isinstance(listed, list)
    assert [(p["name"], p["purchasedQuantity"]) for p in listed] == [
        ("DUO_ENTERPRISE", 3),
        ("ENTERPRISE_AGILE_PLANNING", 2),
    ]
    ids = [add_user(app, f"planner_{n}") for n in range(3)]
    users = [f"gid://gitlab/User/{user}" for user in ids]
    eap_id = listed[1]["id"]
    refused = _graphql(app, BULK, p=eap_id, u=users)["userAddOnAssignmentBulkCreate"]
    assert refused == {"errors": ["NOT_ENOUGH_SEATS"]}  # R26, all or nothing (R27)
    done = _graphql(app, BULK, p=eap_id, u=users[:2])["userAddOnAssignmentBulkCreate"]
    assert done == {"errors": []}
    page = admin_client.get("/admin/subscription").get_data(as_text=True)
    assert "Enterprise Agile Planning: 2 of 2 seats assigned" in page
    # R32: the Seat Link report lists every add-on purchase's seats, EAP's beside Duo's.
    assert sync_now(admin_client)["success"]
    assert [
        (u.tier, u.purchased_seats, u.assigned_seats) for u in fake_portal.reports[-1].add_on_usage
    ] == [
        (AddOnTier.DUO_ENTERPRISE, 3, 0),
        (AddOnTier.ENTERPRISE_AGILE_PLANNING, 2, 2),
    ]
