"""Walk the whole route table as anonymous, customer, support and sales users."""

from __future__ import annotations

import re

import pytest
from flask import Flask

from tests.portal.helpers import csrf_token, make_account, make_subscription, sign_in

# Pages anyone may open (sign-in, the public trial form, health, the protocol's own endpoints).
PUBLIC = {
    "/",
    "/-/health",
    "/users/sign_in",
    "/support/sign_in",
    "/trials/duo",
    "/api/v1/keys",
    "/static/<path:filename>",
    "/-/static/<path:filename>",  # the one stylesheet (webcore)
}
PUBLIC_POST = {
    "/users/sign_in",
    "/users/sign_out",
    "/support/sign_in",
    "/trials/duo",
    "/api/v1/trial_requests",
    "/api/v1/activations",
    "/api/v1/seat_links",
    "/api/v1/namespaces/<int:namespace_id>/duo_trials",  # GitLab.com's signed trial requests
    "/api/v1/namespaces/<int:namespace_id>/trials",  # and its Ultimate trial's
}
SIMULATION = {"/-/simulation/next-job", "/-/simulation/run-due"}
ROLE_PREFIXES = {
    "/subscriptions": "customer",
    "/gitlab/namespaces": "customer",  # GitLab.com's links into the portal for a group
    "/customers": "customer",  # linking a GitLab.com account (OAuth)
    "/support": "support",
    "/sales": "sales",
}


def _routes(app: Flask, name: str) -> list[tuple[str, str, str]]:
    routes = []
    for rule in app.url_map.iter_rules():
        if str(rule) in SIMULATION or str(rule).startswith(("/static", "/-/static")):
            continue
        path = re.sub(r"<id:\w+>", "1", str(rule))
        path = re.sub(r"<(?:\w+:)?\w+>", name, path)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            routes.append((method, str(rule), path))
    return routes


def _role_of(rule: str) -> str | None:
    for prefix, role in ROLE_PREFIXES.items():
        if rule.startswith(prefix) and rule not in PUBLIC and rule != "/support/sign_in":
            return role
    return None


@pytest.fixture
def world(portal_app: Flask) -> tuple[Flask, str, str]:
    owner = make_account(portal_app, "owner@example.com")
    other = make_account(portal_app, "other@example.com")
    make_account(portal_app, "support@provlab.example", role="support")
    make_account(portal_app, "sales@provlab.example", role="sales")
    return portal_app, make_subscription(portal_app, owner), make_subscription(portal_app, other)


def test_anonymous_users_reach_only_public_pages(world: tuple[Flask, str, str]) -> None:
    app, name, _ = world
    client = app.test_client()
    token = csrf_token(client)
    for method, rule, path in _routes(app, name):
        response = client.open(path, method=method, data={"csrf_token": token})
        if (method == "GET" and rule in PUBLIC) or (method == "POST" and rule in PUBLIC_POST):
            continue
        assert response.status_code in (302, 401, 403), (method, path, response.status_code)
        if response.status_code == 302:
            assert "/sign_in" in response.location, (method, path)


@pytest.mark.parametrize(
    "who", ["owner@example.com", "support@provlab.example", "sales@provlab.example"]
)
def test_each_role_reaches_only_its_own_pages(world: tuple[Flask, str, str], who: str) -> None:
    app, name, _ = world
    path = "/support/sign_in" if who.startswith("support") else "/users/sign_in"
    client = sign_in(app, who, path=path)
    role = {"owner": "customer", "support": "support", "sales": "sales"}[who.split("@")[0]]
    token = csrf_token(client, "/trials/duo")
    for method, rule, url in _routes(app, name):
        owner_role = _role_of(rule)
        if owner_role is None or owner_role == role:
            continue
        response = client.open(url, method=method, data={"csrf_token": token})
        assert response.status_code == 403, (who, method, url, response.status_code)


def test_a_customer_sees_and_changes_only_their_own_subscriptions(
    world: tuple[Flask, str, str],
) -> None:
    app, mine, theirs = world
    client = sign_in(app, "owner@example.com")
    assert client.get(f"/subscriptions/{mine}").status_code == 200
    listing = client.get("/subscriptions").get_data(as_text=True)
    assert mine in listing and theirs not in listing
    token = csrf_token(client, "/subscriptions")
    for method, rule, url in _routes(app, theirs):
        if rule.startswith("/subscriptions/") and "<name>" in rule:  # not /subscriptions/new
            response = client.open(
                url,
                method=method,
                data={
                    "csrf_token": token,
                    "seats": "1",
                    "step": "purchase",
                    "payment_method": "1",
                    "name": "X",
                    "email": "x@example.com",
                    "country": "DE",
                },
            )
            assert response.status_code == 404, (method, url)


def test_forms_without_a_csrf_token_are_refused(world: tuple[Flask, str, str]) -> None:
    app, name, _ = world
    client = sign_in(app, "owner@example.com")
    response = client.post(f"/subscriptions/{name}/activation_code")
    assert response.status_code == 400


BILLING_ROUTES = {
    ("GET", "/subscriptions/<name>/invoices"): "customer",
    ("GET", "/subscriptions/<name>/invoices/<id:invoice_id>"): "customer",
    ("POST", "/subscriptions/<name>/cancel_renewal"): "customer",
    ("POST", "/subscriptions/<name>/invoices/<id:invoice_id>/accept_amendment"): "customer",
    ("GET", "/support/invoices"): "support",
    ("GET", "/support/invoices/<id:invoice_id>"): "support",
    ("POST", "/support/invoices/<id:invoice_id>/accept_amendment"): "support",
    ("POST", "/support/subscriptions/<name>/check_ins"): "support",
}


def test_r34_r36_billing_routes_are_walked_and_owned_by_their_role(
    world: tuple[Flask, str, str],
) -> None:
    """The walks above cover the billing pages: each is in the table under its role's prefix."""
    app, name, _ = world
    table = {(method, rule) for method, rule, _ in _routes(app, name)}
    for (method, rule), role in BILLING_ROUTES.items():
        assert (method, rule) in table, rule
        assert _role_of(rule) == role, rule
    client = sign_in(app, "owner@example.com")
    assert client.get(f"/subscriptions/{name}/invoices").status_code == 200
    support = sign_in(app, "support@provlab.example", path="/support/sign_in")
    assert support.get("/support/invoices").status_code == 200
    assert support.get("/support/invoices/1").status_code == 404
