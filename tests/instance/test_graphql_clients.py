"""GraphQL as real clients meet it: GitLab's documented Duo seat queries and mutations run
verbatim through python-gitlab's ``gitlab.GraphQL``; ``gql`` loads the schema by introspection;
connections, global ids, the bulk limit, ``currentUser``; activation over GraphQL against a real
portal server; a non-admin token gets 403 on admin calls and Code Suggestions only with a seat."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import gitlab
import pytest
import requests
from flask import Flask
from gql import Client, gql
from gql.transport.requests import RequestsHTTPTransport

from protocol.license import AddOnTier
from tests.instance.conftest import add_user, user_id
from tests.instance.test_api import token_for
from webcore.clock import app_clock

# "Assign GitLab Duo seats by using GraphQL" (docs.gitlab.com/api/graphql/assign_gitlab_duo_seats),
# copied verbatim; the test fills in the placeholders as a reader of the page would.
DOCS_PURCHASE_ID_GITLAB_COM = """query {
 addOnPurchases (namespaceId: "gid://gitlab/Group/YOUR_NAMESPACE_ID")
 {
  name
  purchasedQuantity
  assignedQuantity
  id
 }
}"""
DOCS_PURCHASE_ID_SELF_MANAGED = """query {
 addOnPurchases
 {
  name
  purchasedQuantity
  assignedQuantity
  id
 }
}"""
DOCS_ASSIGN = """mutation {
  userAddOnAssignmentBulkCreate(input: {
    addOnPurchaseId: "gid://gitlab/GitlabSubscriptions::AddOnPurchase/YOUR_ADDON_PURCHASE_ID",
    userIds: [
      "gid://gitlab/User/USER_ID_1",
      "gid://gitlab/User/USER_ID_2",
      "gid://gitlab/User/USER_ID_3"
    ]
  }) {
    addOnPurchase {
      id
      name
      assignedQuantity
      purchasedQuantity
    }
    users {
      nodes {
        id
        username
        }
      }
    errors
  }
}"""

ACTIVATE = """mutation {
  gitlabSubscriptionActivate(input: {activationCode: "CODE"}) {
    errors
    license { plan usersInLicenseCount type }
  }
}"""


def activate(code: str) -> str:
    # python-gitlab passes variables to gql in a way gql 4 deprecates: values go in the text.
    return ACTIVATE.replace("CODE", code)


def bulk(purchase_id: str, user_ids: list[str]) -> str:
    return BULK_LITERAL.replace("PID", purchase_id).replace("UIDS", json.dumps(user_ids))


ELIGIBLE = """query($ids: [GitlabSubscriptionsAddOnPurchaseID!]!, $after: String) {
  selfManagedAddOnEligibleUsers(addOnType: CODE_SUGGESTIONS, addOnPurchaseIds: $ids,
                                first: 2, after: $after) {
    count
    pageInfo { hasNextPage hasPreviousPage endCursor }
    edges { cursor node { id username } }
    nodes { username addOnAssignments(addOnPurchaseIds: $ids) { count nodes { addOnPurchase { id } } } }
  }
}"""
BULK_LITERAL = """mutation {
  userAddOnAssignmentBulkCreate(input: {addOnPurchaseId: "PID", userIds: UIDS}) { errors }
}"""
BULK = """mutation($p: GitlabSubscriptionsAddOnPurchaseID!, $u: [UserID!]!) {
  userAddOnAssignmentBulkCreate(input: {addOnPurchaseId: $p, userIds: $u}) { errors }
}"""


@pytest.fixture
def pair(
    http_pair: tuple[Flask, Flask], live_server: Callable[[Flask], Any]
) -> Iterator[tuple[Flask, Any, Flask]]:
    """A real portal server and an instance server talking to it over HTTP on loopback."""
    portal, instance = http_pair
    yield instance, live_server(instance), portal


def _subscription(portal: Flask, seats: int) -> str:
    """An Ultimate subscription with a Duo Pro trial; its activation code."""
    from portal.leads import start_duo_trial
    from portal.licensing import ensure_activation_code
    from portal.models import Subscription
    from portal.models import db as portal_db
    from tests.portal.helpers import customer_subscription

    name = customer_subscription(portal, "owner@example.com", plan="ultimate", seats=seats)
    with portal.app_context():
        row = portal_db.session.execute(
            portal_db.select(Subscription).where(Subscription.name == name)
        ).scalar_one()
        code = ensure_activation_code(row)
        start_duo_trial(row, AddOnTier.DUO_PRO, app_clock(portal).now())
        portal_db.session.commit()
    return code


def test_docs_duo_seat_queries_run_verbatim_after_activation_over_graphql(
    pair: tuple[Flask, Any, Flask],
) -> None:
    instance, server, portal = pair
    code = _subscription(portal, seats=10)
    with gitlab.GraphQL(server.url, token=token_for(instance, "root")) as gq:
        refused = gq.execute(activate("Xbcdefghijklmnopqrstuvw1"))
        assert refused["gitlabSubscriptionActivate"] == {
            "errors": ["invalid activation code"],
            "license": None,
        }
        done = gq.execute(activate(code))
        assert done["gitlabSubscriptionActivate"] == {
            "errors": [],
            "license": {"plan": "ultimate", "usersInLicenseCount": 10, "type": "online_cloud"},
        }
        [purchase] = gq.execute(DOCS_PURCHASE_ID_SELF_MANAGED)["addOnPurchases"]
        assert purchase["name"] == "CODE_SUGGESTIONS" and purchase["assignedQuantity"] == 0
        assert purchase["id"].startswith("gid://gitlab/GitlabSubscriptions::AddOnPurchase/")
        # The GitLab.com form names a group; a self-managed instance has none to find.
        with pytest.raises(Exception, match="does not exist or you don't have permission"):
            gq.execute(DOCS_PURCHASE_ID_GITLAB_COM)
        ids = [user_id(instance, "root")] + [add_user(instance, n) for n in ("ann", "bob")]
        mutation = DOCS_ASSIGN.replace("YOUR_ADDON_PURCHASE_ID", purchase["id"].rsplit("/", 1)[1])
        for n, uid in enumerate(ids, start=1):
            mutation = mutation.replace(f"USER_ID_{n}", str(uid))
        answer = gq.execute(mutation)["userAddOnAssignmentBulkCreate"]
    assert answer["errors"] == []
    assert answer["addOnPurchase"] == {
        "id": purchase["id"],
        "name": "CODE_SUGGESTIONS",
        "assignedQuantity": 3,
        "purchasedQuantity": purchase["purchasedQuantity"],
    }
    assert {node["username"] for node in answer["users"]["nodes"]} == {"root", "ann", "bob"}
    assert {node["id"] for node in answer["users"]["nodes"]} == {
        f"gid://gitlab/User/{uid}" for uid in ids
    }


def test_gql_loads_the_schema_by_introspection_and_pages_connections(
    pair: tuple[Flask, Any, Flask],
) -> None:
    instance, server, portal = pair
    code = _subscription(portal, seats=10)
    token = token_for(instance, "root")
    transport = RequestsHTTPTransport(
        url=f"{server.url}/api/graphql", headers={"Authorization": f"Bearer {token}"}
    )
    with Client(transport=transport, fetch_schema_from_transport=True) as session:
        assert session.client.schema is not None
        assert "selfManagedAddOnEligibleUsers" in session.client.schema.query_type.fields
        session.execute(gql(activate(code)))
        me = session.execute(gql("query { currentUser { id username } }"))
        assert me == {
            "currentUser": {
                "id": f"gid://gitlab/User/{user_id(instance, 'root')}",
                "username": "root",
            }
        }
        for name in ("ann", "bob", "cyd", "dee"):
            add_user(instance, name)
        purchases = session.execute(gql("query { addOnPurchases { id } }"))["addOnPurchases"]
        pid = purchases[0]["id"]
        seen: list[str] = []
        after = None
        while True:
            request = gql(ELIGIBLE)
            request.variable_values = {"ids": [pid], "after": after}
            page = session.execute(request)
            users = page["selfManagedAddOnEligibleUsers"]
            assert users["count"] == 5 and len(users["edges"]) <= 2
            assert [e["node"]["username"] for e in users["edges"]] == [
                n["username"] for n in users["nodes"]
            ]
            seen += [n["username"] for n in users["nodes"]]
            if not users["pageInfo"]["hasNextPage"]:
                break
            after = users["pageInfo"]["endCursor"]
        assert sorted(seen) == ["ann", "bob", "cyd", "dee", "root"]
        # More users than GitLab's bulk limit: an argument error at the top, a null payload.
        too_many = [f"gid://gitlab/User/{n}" for n in range(1, 52)]
        raw = requests.post(
            f"{server.url}/api/graphql",
            json={"query": BULK, "variables": {"p": pid, "u": too_many}},
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        ).json()
    assert raw["data"] == {"userAddOnAssignmentBulkCreate": None}
    assert raw["errors"][0]["message"] == (
        "The number of users to be assigned in a single API call should be less than 50."
    )


def test_a_regular_users_token_gets_403_on_admin_calls_and_code_suggestions_with_a_seat(
    pair: tuple[Flask, Any, Flask],
) -> None:
    instance, server, portal = pair
    code = _subscription(portal, seats=10)
    add_user(instance, "dev")
    add_user(instance, "other")
    admin = gitlab.Gitlab(server.url, private_token=token_for(instance, "root"))
    dev = gitlab.Gitlab(server.url, private_token=token_for(instance, "dev"))
    try:
        for call in (dev.get_license, lambda: dev.users.create({"username": "x"})):
            with pytest.raises(gitlab.GitlabError) as forbidden:
                call()
            assert forbidden.value.response_code == 403
        with gitlab.GraphQL(server.url, token=token_for(instance, "dev")) as gq:
            with pytest.raises(Exception, match="does not exist or you don't have permission"):
                gq.execute(activate(code))
            assert gq.execute("query { currentUser { username } }") == {
                "currentUser": {"username": "dev"}
            }
        with gitlab.GraphQL(server.url, token=token_for(instance, "root")) as gq:
            gq.execute(activate(code))
            pid = gq.execute(DOCS_PURCHASE_ID_SELF_MANAGED)["addOnPurchases"][0]["id"]
            gq.execute(bulk(pid, [f"gid://gitlab/User/{user_id(instance, 'dev')}"]))

        def suggest(client: gitlab.Gitlab) -> int:
            try:
                client.http_post(
                    "/code_suggestions/completions",
                    post_data={"current_file": {"file_name": "a.py", "content_above_cursor": "x"}},
                )
            except gitlab.GitlabError as refused:
                return refused.response_code or 0
            return 200

        assert suggest(dev) == 200
        other = gitlab.Gitlab(server.url, private_token=token_for(instance, "other"))
        assert suggest(other) == 401  # GitLab's answer to a user without a seat
        other.session.close()
    finally:
        admin.session.close()
        dev.session.close()
