"""GitLab.com over GraphQL: a group's add-on purchase by ``namespaceId`` and the seat mutations
scoped to it, for the group's owners; the self-managed seat errors (R2, R26, R27)."""

from __future__ import annotations

from typing import Any

from flask import Flask

from instance.models import User, db
from instance.tokens import create_token
from tests.instance.conftest import user_id
from tests.instance.fake_portal import FakePortal
from tests.instance.gitlab_com.conftest import provision, push
from webcore.clock import app_clock

PURCHASES = "query($ns: NamespaceID) { addOnPurchases(namespaceId: $ns) { id purchasedQuantity } }"
CREATE = """mutation($p: GitlabSubscriptionsAddOnPurchaseID!, $u: UserID!) {
  userAddOnAssignmentCreate(input: {addOnPurchaseId: $p, userId: $u}) {
    errors addOnPurchase { assignedQuantity } } }"""


def _graphql(app: Flask, username: str, query: str, **variables: Any) -> dict[str, Any]:
    with app.app_context():
        user = db.session.execute(db.select(User).where(User.username == username)).scalar_one()
        token = create_token(user, "t", ["api"], app_clock(app).now())
        db.session.commit()
    response = app.test_client().post(
        "/api/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
    )
    body: dict[str, Any] = response.get_json()
    return body


def test_an_owner_reads_the_groups_purchase_and_assigns_its_seats(
    app: Flask, fake_portal: FakePortal, hierarchy: dict[str, int]
) -> None:
    push(app, fake_portal, provision(duo=1)(hierarchy["root"]))
    namespace = f"gid://gitlab/Group/{hierarchy['root']}"
    [purchase] = _graphql(app, "owner", PURCHASES, ns=namespace)["data"]["addOnPurchases"]
    assert purchase["purchasedQuantity"] == 1
    dev = f"gid://gitlab/User/{user_id(app, 'dev')}"
    created = _graphql(app, "owner", CREATE, p=purchase["id"], u=dev)["data"]
    assert created["userAddOnAssignmentCreate"] == {
        "errors": [],
        "addOnPurchase": {"assignedQuantity": 1},
    }
    reporter = f"gid://gitlab/User/{user_id(app, 'reporter')}"
    full = _graphql(app, "owner", CREATE, p=purchase["id"], u=reporter)["data"]
    assert full["userAddOnAssignmentCreate"]["errors"] == ["NO_SEATS_AVAILABLE"]


def test_a_non_owner_sees_no_purchase_and_changes_no_seat(
    app: Flask, fake_portal: FakePortal, hierarchy: dict[str, int]
) -> None:
    push(app, fake_portal, provision(duo=2)(hierarchy["root"]))
    namespace = f"gid://gitlab/Group/{hierarchy['root']}"
    refused = _graphql(app, "dev", PURCHASES, ns=namespace)
    assert refused["data"]["addOnPurchases"] is None and refused["errors"]
    [purchase] = _graphql(app, "owner", PURCHASES, ns=namespace)["data"]["addOnPurchases"]
    dev = f"gid://gitlab/User/{user_id(app, 'dev')}"
    body = _graphql(app, "dev", CREATE, p=purchase["id"], u=dev)
    assert body["data"]["userAddOnAssignmentCreate"] is None
    assert "don't have permission" in body["errors"][0]["message"]
