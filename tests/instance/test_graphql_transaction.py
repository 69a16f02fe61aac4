"""GraphQL commits once per HTTP request: a mutation with several fields is all or nothing.

GitLab answers a GraphQL request 200 with field errors in ``errors`` (or, for a refused seat
assignment, in the payload's own ``errors``); here, in addition, nothing the request did is kept
when any mutation field failed, and the fields that had succeeded say they were not applied.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from instance.graphql_api import NOT_APPLIED
from tests.instance.conftest import add_user, user_id
from tests.instance.fake_portal import FakePortal
from tests.instance.helpers import activated, assigned_usernames, sync_now
from tests.instance.test_api import PURCHASES, token_for

TWO_CREATES = """mutation($p: GitlabSubscriptionsAddOnPurchaseID!, $a: UserID!, $b: UserID!) {
  first: userAddOnAssignmentCreate(input: {addOnPurchaseId: $p, userId: $a}) { errors }
  second: userAddOnAssignmentCreate(input: {addOnPurchaseId: $p, userId: $b}) { errors } }"""
SWAP = """mutation($p: GitlabSubscriptionsAddOnPurchaseID!, $a: UserID!, $b: UserID!) {
  off: userAddOnAssignmentRemove(input: {addOnPurchaseId: $p, userId: $a}) { errors }
  on: userAddOnAssignmentCreate(input: {addOnPurchaseId: $p, userId: $b}) { errors } }"""


def _post(app: Flask, token: str, query: str, **variables: Any) -> tuple[int, dict[str, Any]]:
    response = app.test_client().post(
        "/api/graphql",
        json={"query": query, "variables": variables},
        headers={"PRIVATE-TOKEN": token},
    )
    return response.status_code, response.get_json()


def _gid(app: Flask, username: str) -> str:
    return f"gid://gitlab/User/{user_id(app, username)}"


def test_r26_a_mutation_whose_second_field_fails_keeps_nothing_of_the_first(
    app: Flask, admin_client: FlaskClient, fake_portal: FakePortal
) -> None:
    subscription = activated(admin_client, fake_portal)
    fake_portal.duo(subscription, 1)
    sync_now(admin_client)
    for name in ("ann", "bob"):
        add_user(app, name)
    token = token_for(app, "root")
    _, answer = _post(app, token, PURCHASES)
    [purchase] = answer["data"]["addOnPurchases"]
    ann, bob = _gid(app, "ann"), _gid(app, "bob")

    # One seat: the first field assigns it, the second is refused, so neither is kept.
    status, answer = _post(app, token, TWO_CREATES, p=purchase["id"], a=ann, b=bob)
    assert status == 200
    assert answer["data"] == {"first": None, "second": {"errors": ["NO_SEATS_AVAILABLE"]}}
    assert answer["errors"] == [{"message": NOT_APPLIED, "path": ["first"]}]
    assert assigned_usernames(app) == set()

    # A field failing with a top-level error (an unknown user) undoes the other field too.
    status, answer = _post(
        app, token, TWO_CREATES, p=purchase["id"], a=ann, b="gid://gitlab/User/999"
    )
    assert status == 200 and answer["data"]["second"] is None
    assert {"message": NOT_APPLIED, "path": ["first"]} in answer["errors"]
    assert assigned_usernames(app) == set()

    # Fields that all succeed commit together, each seeing the one before it.
    status, answer = _post(
        app,
        token,
        "mutation($p: GitlabSubscriptionsAddOnPurchaseID!, $a: UserID!) { one: userAddOnAssignmentCreate(input: "
        "{addOnPurchaseId: $p, userId: $a}) { errors } }",
        p=purchase["id"],
        a=ann,
    )
    assert status == 200 and answer == {"data": {"one": {"errors": []}}}
    status, answer = _post(app, token, SWAP, p=purchase["id"], a=ann, b=bob)
    assert status == 200 and answer == {"data": {"off": {"errors": []}, "on": {"errors": []}}}
    assert assigned_usernames(app) == {"bob"}
