"""Shared steps of the instance's tests."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from instance.models import AddOnPurchase, License, User, UserAddOnAssignment, db
from instance.tokens import create_token
from protocol.license import AddOnTier
from tests.instance.conftest import csrf_token
from tests.instance.fake_portal import FakePortal, Subscription
from webcore.clock import app_clock

CODE = "Abcdefghijklmnopqrstuvw1"


def activate(client: FlaskClient, code: str = CODE, *, terms: bool = True) -> tuple[int, str]:
    token = csrf_token(client, "/admin/subscription")
    data = {"activation_code": code, "csrf_token": token}
    if terms:
        data["terms"] = "accepted"
    response = client.post("/admin/subscription/activate", data=data, follow_redirects=True)
    return response.status_code, response.get_data(as_text=True)


def activated(client: FlaskClient, portal: FakePortal, **fields: object) -> Subscription:
    subscription = portal.add_subscription(CODE, **fields)  # type: ignore[arg-type]
    status, page = activate(client)
    assert status == 200 and "Your subscription was successfully activated." in page, page
    return subscription


def sync_now(client: FlaskClient) -> dict[str, object]:
    token = csrf_token(client, "/admin/subscription")
    response = client.post(
        "/admin/license/sync_seat_link",
        headers={"X-CSRFToken": token, "Accept": "application/json"},
    )
    assert response.status_code == 200
    return response.get_json()  # type: ignore[no-any-return]


def with_duo(
    client: FlaskClient,
    portal: FakePortal,
    quantity: int,
    *,
    tier: AddOnTier = AddOnTier.DUO_PRO,
    **subscription_fields: Any,
) -> Subscription:
    """An instance activated on a subscription of ``subscription_fields`` that synced a GitLab
    Duo purchase of ``quantity`` seats (Duo Pro unless ``tier``); the subscription."""
    subscription = activated(client, portal, **subscription_fields)
    portal.duo(subscription, quantity, tier=tier)
    assert sync_now(client)["success"] is True
    return subscription


def change_seats(
    client: FlaskClient, action: str, *user_ids: int, json: bool = False
) -> tuple[int, str]:
    token = csrf_token(client, "/admin/subscription")
    headers = {"Accept": "application/json"} if json else {}
    response = client.post(
        "/admin/gitlab_duo/seats",
        data={"action": action, "user_ids": [str(i) for i in user_ids], "csrf_token": token},
        headers=headers,
        follow_redirects=not json,
    )
    return response.status_code, response.get_data(as_text=True)


def licenses(app: Flask) -> list[License]:
    with app.app_context():
        rows = list(db.session.execute(db.select(License).order_by(License.id)).scalars())
        db.session.expunge_all()
        return rows


def purchase(app: Flask) -> AddOnPurchase | None:
    with app.app_context():
        row = db.find(AddOnPurchase)
        db.session.expunge_all()
        return row


def assigned_usernames(app: Flask) -> set[str]:
    with app.app_context():
        return {
            a.user.username for a in db.session.execute(db.select(UserAddOnAssignment)).scalars()
        }


def graphql_as(app: Flask, username: str, query: str, **variables: Any) -> dict[str, Any]:
    """The GraphQL API's answer to ``query`` for ``username``, with a new ``api`` token of theirs."""
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
