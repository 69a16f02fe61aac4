"""GitLab.com fixtures: the instance app in GitLab.com mode, a group hierarchy, signed pushes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from instance.gitlab_com.groups import add_member as add_membership
from instance.gitlab_com.groups import (
    create_group,
    create_project,
    find_group,
    find_project,
    role_level,
)
from instance.gitlab_com.provisioning import group_duo_purchase
from instance.identity import instance_key
from instance.models import User, UserAddOnAssignment, db
from instance.namespace_models import Namespace
from protocol.envelope import open_response, parse_message, seal_request
from protocol.license import AddOnTier, Plan
from protocol.messages import ErrorAnswer
from protocol.provisioning import (
    MainPlan,
    NamespaceAddOnPurchase,
    NamespaceProvision,
    ProvisionAnswer,
)
from protocol.signing import KeySet
from tests.instance.conftest import add_user, sign_in
from tests.instance.fake_portal import FakePortal
from webcore.clock import app_clock

TERM = (dt.date(2026, 3, 1), dt.date(2027, 3, 1))


@pytest.fixture
def app(make_wired_instance: Callable[..., Flask]) -> Flask:
    return make_wired_instance(GITLAB_COM=True)


def group(app: Flask, path: str, parent: str | None = None) -> int:
    with app.app_context():
        now = app_clock(app).now()
        above = (
            db.session.execute(
                db.select(Namespace).where(Namespace.full_path == parent)
            ).scalar_one()
            if parent
            else None
        )
        made = create_group(path.title(), path, now, parent=above)
        db.session.commit()
        return made.id


def project(app: Flask, path: str, parent: str) -> int:
    with app.app_context():
        above = db.session.execute(
            db.select(Namespace).where(Namespace.full_path == parent)
        ).scalar_one()
        made = create_project(above, path.title(), path, app_clock(app).now())
        db.session.commit()
        return made.id


def member(app: Flask, username: str, full_path: str, role: str) -> None:
    with app.app_context():
        user = db.session.execute(db.select(User).where(User.username == username)).scalar_one()
        source = find_group(full_path) or find_project(full_path)
        assert source is not None, full_path
        add_membership(source, user, role_level(role), app_clock(app).now())
        db.session.commit()


def provision(
    plan: Plan = Plan.PREMIUM, seats: int = 10, duo: int | None = None, **duo_fields: Any
) -> Callable[[int], NamespaceProvision]:
    def make(namespace_id: int) -> NamespaceProvision:
        purchases = ()
        if duo is not None:
            purchases = (
                NamespaceAddOnPurchase(
                    duo_fields.get("add_on", AddOnTier.DUO_PRO),
                    duo,
                    duo_fields.get("started_on", TERM[0]),
                    duo_fields.get("expires_on", TERM[1]),
                    "A-S00000042",
                    duo_fields.get("trial", False),
                ),
            )
        return NamespaceProvision(namespace_id, MainPlan(plan, *TERM, seats), purchases)

    return make


@dataclass
class Pushed:
    status: int
    body: dict[str, Any]
    answer: ProvisionAnswer | ErrorAnswer | None


def push(
    app: Flask, portal: FakePortal, message: NamespaceProvision, path_id: int | None = None
) -> Pushed:
    """Send ``message`` as the portal does, and open the answer with GitLab.com's key."""
    clock = app_clock(app)
    token, nonce = seal_request(message, portal.key, clock)
    return send(app, token, nonce, path_id or message.namespace_id)


def send(app: Flask, token: str, nonce: str, namespace_id: int) -> Pushed:
    response = app.test_client().post(
        f"/api/v4/internal/gitlab_subscriptions/namespaces/{namespace_id}/provision",
        json={"request": token},
    )
    body = response.get_json()
    answer: ProvisionAnswer | ErrorAnswer | None = None
    if "response" in body:
        with app.app_context():
            keys = KeySet((instance_key().verifying_key(),))
        opened = open_response(body["response"], keys, app_clock(app), nonce)
        kind = ErrorAnswer if opened.type == ErrorAnswer.TYPE else ProvisionAnswer
        answer = parse_message(opened, kind)
    return Pushed(response.status_code, body, answer)


@pytest.fixture
def hierarchy(app: Flask) -> dict[str, int]:
    """gitlab-org with a subgroup and projects; members in several places, bots and a Guest."""
    ids = {"root": group(app, "acme"), "sub": group(app, "platform", "acme")}
    ids["project"] = project(app, "api", "acme/platform")
    ids["other"] = group(app, "rivals")
    for username in ("owner", "dev", "reporter", "guest", "projdev", "blocked", "outsider"):
        add_user(app, username, state="blocked" if username == "blocked" else "active")
    add_user(app, "support-bot", bot_type="support_bot")
    add_user(app, "svc", bot_type="service_account")
    member(app, "owner", "acme", "owner")
    member(app, "dev", "acme", "developer")
    member(app, "dev", "acme/platform", "maintainer")  # twice in the hierarchy: counted once
    member(app, "dev", "acme/platform/api", "developer")  # three times, still one
    member(app, "reporter", "acme/platform", "reporter")
    member(app, "guest", "acme", "guest")
    member(app, "projdev", "acme/platform/api", "developer")
    member(app, "blocked", "acme", "developer")
    member(app, "support-bot", "acme", "reporter")
    member(app, "svc", "acme/platform", "developer")
    member(app, "outsider", "rivals", "owner")
    return ids


def group_seat_holders(app: Flask, root_id: int) -> list[str]:
    """The usernames holding a seat of the group's GitLab Duo purchase, sorted."""
    with app.app_context():
        purchase = group_duo_purchase(root_id)
        assert purchase is not None
        return sorted(
            db.session.scalars(
                db.select(User.username)
                .join(UserAddOnAssignment, UserAddOnAssignment.user_id == User.id)
                .where(UserAddOnAssignment.add_on_purchase_id == purchase.id)
            )
        )


def signed_in(app: Flask, username: str) -> FlaskClient:
    client = app.test_client()
    sign_in(client, username)
    return client
