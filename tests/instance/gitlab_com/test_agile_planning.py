"""Enterprise Agile Planning on a GitLab.com group: pushed beside GitLab Duo, a purchase of its
own, shown on Usage Quotas, its seats assigned with Duo's rules and errors (R6, R26, R31)."""

from __future__ import annotations

from flask import Flask

from instance.agile_planning import agile_planning_purchase
from instance.gitlab_com.provisioning import group_duo_purchase
from protocol.license import AddOnTier, Plan
from protocol.provisioning import NamespaceAddOnPurchase, NamespaceProvision
from tests.instance.conftest import user_id
from tests.instance.fake_portal import FakePortal
from tests.instance.gitlab_com.conftest import TERM, provision, push, signed_in
from tests.instance.gitlab_com.test_group_graphql import CREATE
from tests.instance.helpers import graphql_as

NAMES = "query($ns: NamespaceID) { addOnPurchases(namespaceId: $ns) { id name purchasedQuantity } }"


def _with_eap(duo: NamespaceProvision, seats: int) -> NamespaceProvision:
    eap = NamespaceAddOnPurchase(
        AddOnTier.ENTERPRISE_AGILE_PLANNING, seats, *TERM, "A-S00000042", False
    )
    return NamespaceProvision(duo.namespace_id, duo.main_plan, (*duo.add_on_purchases, eap))


def test_r6_a_push_provisions_agile_planning_beside_duo_and_owners_assign_its_seats(
    app: Flask, fake_portal: FakePortal, hierarchy: dict[str, int]
) -> None:
    root = hierarchy["root"]
    pushed = push(app, fake_portal, _with_eap(provision(Plan.ULTIMATE, 20, duo=5)(root), 1))
    assert pushed.status == 200
    with app.app_context():
        duo, eap = group_duo_purchase(root), agile_planning_purchase(root)
        assert duo is not None and eap is not None and duo.id != eap.id
        assert (eap.tier, eap.quantity, duo.tier) == ("enterprise_agile_planning", 1, "duo_pro")
    # Duo Pro -> Duo Enterprise changes the Duo purchase only (R6: one Duo tier, not one add-on).
    upgraded = provision(Plan.ULTIMATE, 20, duo=5, add_on=AddOnTier.DUO_ENTERPRISE)(root)
    assert push(app, fake_portal, _with_eap(upgraded, 1)).status == 200
    namespace = f"gid://gitlab/Group/{root}"
    listed = graphql_as(app, "owner", NAMES, ns=namespace)["data"]["addOnPurchases"]
    assert [(p["name"], p["purchasedQuantity"]) for p in listed] == [
        ("DUO_ENTERPRISE", 5),
        ("ENTERPRISE_AGILE_PLANNING", 1),
    ]
    eap_id = listed[1]["id"]
    dev = f"gid://gitlab/User/{user_id(app, 'dev')}"
    created = graphql_as(app, "owner", CREATE, p=eap_id, u=dev)["data"]["userAddOnAssignmentCreate"]
    assert created == {"errors": [], "addOnPurchase": {"assignedQuantity": 1}}
    reporter = f"gid://gitlab/User/{user_id(app, 'reporter')}"
    full = graphql_as(app, "owner", CREATE, p=eap_id, u=reporter)["data"]
    assert full["userAddOnAssignmentCreate"]["errors"] == ["NO_SEATS_AVAILABLE"]
    page = signed_in(app, "owner").get("/groups/acme/-/usage_quotas").get_data(as_text=True)
    assert (
        "Enterprise Agile Planning" in page and 'data-testid="agile-planning-seats">1 / 1' in page
    )
    # A push without it expires it (ends yesterday), the Duo purchase untouched.
    assert push(app, fake_portal, upgraded).status == 200
    with app.app_context():
        eap = agile_planning_purchase(root)
        duo = group_duo_purchase(root)
        assert eap is not None and duo is not None
        assert eap.ends_on < TERM[1] and duo.quantity == 5
