"""GitLab.com over GraphQL: a group's add-on purchase by ``namespaceId`` and the seat mutations
scoped to it, for the group's owners; the self-managed seat errors (R2, R26, R27)."""

from __future__ import annotations

from flask import Flask

from tests.instance.conftest import user_id
from tests.instance.fake_portal import FakePortal
from tests.instance.gitlab_com.conftest import provision, push
from tests.instance.helpers import graphql_as

PURCHASES = "query($ns: NamespaceID) { addOnPurchases(namespaceId: $ns) { id purchasedQuantity } }"
CREATE = """mutation($p: GitlabSubscriptionsAddOnPurchaseID!, $u: UserID!) {
  userAddOnAssignmentCreate(input: {addOnPurchaseId: $p, userId: $u}) {
    errors addOnPurchase { assignedQuantity } } }"""


def test_an_owner_reads_the_groups_purchase_and_assigns_its_seats(
    app: Flask, fake_portal: FakePortal, hierarchy: dict[str, int]
) -> None:
    push(app, fake_portal, provision(duo=1)(hierarchy["root"]))
    namespace = f"gid://gitlab/Group/{hierarchy['root']}"
    [purchase] = graphql_as(app, "owner", PURCHASES, ns=namespace)["data"]["addOnPurchases"]
    assert purchase["purchasedQuantity"] == 1
    dev = f"gid://gitlab/User/{user_id(app, 'dev')}"
    created = graphql_as(app, "owner", CREATE, p=purchase["id"], u=dev)["data"]
    assert created["userAddOnAssignmentCreate"] == {
        "errors": [],
        "addOnPurchase": {"assignedQuantity": 1},
    }
    reporter = f"gid://gitlab/User/{user_id(app, 'reporter')}"
    full = graphql_as(app, "owner", CREATE, p=purchase["id"], u=reporter)["data"]
    assert full["userAddOnAssignmentCreate"]["errors"] == ["NO_SEATS_AVAILABLE"]


def test_a_non_owner_sees_no_purchase_and_changes_no_seat(
    app: Flask, fake_portal: FakePortal, hierarchy: dict[str, int]
) -> None:
    push(app, fake_portal, provision(duo=2)(hierarchy["root"]))
    namespace = f"gid://gitlab/Group/{hierarchy['root']}"
    refused = graphql_as(app, "dev", PURCHASES, ns=namespace)
    assert refused["data"]["addOnPurchases"] is None and refused["errors"]
    [purchase] = graphql_as(app, "owner", PURCHASES, ns=namespace)["data"]["addOnPurchases"]
    dev = f"gid://gitlab/User/{user_id(app, 'dev')}"
    body = graphql_as(app, "dev", CREATE, p=purchase["id"], u=dev)
    assert body["data"]["userAddOnAssignmentCreate"] is None
    assert "don't have permission" in body["errors"][0]["message"]
