"""Bad input gets a clear 4xx, never a 5xx (issue 9, point 3): one test per way it used to crash.

Non-ASCII digits ("²" passes str.isdigit() and crashes int()), integers past the database's signed
64 bits (in URLs, forms and GraphQL ids), JSON nested a thousand levels deep, oversized bodies,
and GraphQL answers carrying internal exception text.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from protocol.encoding import parse_json
from tests.support import hostile
from tests.support.hostile import World
from tests.test_fuzz_endpoints import activate_with_duo, wired_instance  # noqa: F401
from webcore.params import INT64_MAX, InvalidNumber, int_arg, loads_bounded, parse_int

TOO_BIG = str(INT64_MAX + 1)
GRAPHQL_CREATE = (
    "mutation($p: GitlabSubscriptionsAddOnPurchaseID!, $u: UserID!) { userAddOnAssignmentCreate(input: "
    "{addOnPurchaseId: $p, userId: $u}) { errors } }"
)

# -- webcore.params -------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["²", "①", "٣", "１２", "7²", "1e3", "0x10", "1_000", "", "+5"])
def test_parse_int_takes_only_ascii_digits(text: str) -> None:
    with pytest.raises(InvalidNumber):
        parse_int(text)


def test_parse_int_bounds_to_int64_and_the_field() -> None:
    assert parse_int(str(INT64_MAX)) == INT64_MAX
    assert parse_int(" 42 ") == 42
    assert parse_int("-1", minimum=-5) == -1
    for text, options in [(TOO_BIG, {}), ("-1", {}), ("11", {"maximum": 10}), ("9" * 41, {})]:
        with pytest.raises(InvalidNumber):
            parse_int(text, **options)
    with pytest.raises(InvalidNumber):
        parse_int(True)
    assert int_arg({"page": ""}, "page", 1) == 1
    with pytest.raises(InvalidNumber, match="per_page is invalid"):
        int_arg({"per_page": "²"}, "per_page", 20)


def test_loads_bounded_refuses_deep_json_as_a_value_error() -> None:
    assert loads_bounded(hostile.deep_json(10)) == loads_bounded(hostile.deep_json(10))
    for text in (hostile.deep_json(33), hostile.deep_list(5000), hostile.deep_json(100_000)):
        with pytest.raises(ValueError, match="nested deeper"):
            loads_bounded(text)


def test_protocol_json_refuses_deep_documents_that_parse() -> None:
    with pytest.raises(ValueError, match="too deeply"):
        parse_json(hostile.deep_list(100).encode())
    assert parse_json(hostile.deep_list(20).encode())


# -- the portal ----------------------------------------------------------------------------------


@pytest.fixture
def portal_world(portal_app: Flask) -> World:
    return hostile.portal_world(portal_app)


def _post(world: World, role: str, path: str, **kwargs: Any) -> Any:
    headers = hostile.request_headers(world, role, path)
    return world.clients[role].post(path, headers=headers, **kwargs)


def _orders(app: Flask) -> int:
    from portal.models import Order, db

    with app.app_context():
        return db.session.execute(sa.select(sa.func.count(Order.id))).scalar_one()


@pytest.mark.parametrize("seats", ["²", "①", "٣", TOO_BIG])
def test_purchase_seats_in_strange_digits_are_refused(portal_world: World, seats: str) -> None:
    name = portal_world.path_values["name"][0]
    for flow in ("add_seats", "buy_duo_pro"):
        response = _post(
            portal_world,
            "customer",
            f"/subscriptions/{name}/{flow}",
            data={"seats": seats, "step": "summary"},
        )
        assert response.status_code == 422, (flow, seats)
        assert "Enter a number of seats" in response.get_data(as_text=True)


def test_a_payment_method_past_int64_buys_nothing(portal_world: World) -> None:
    name = portal_world.path_values["name"][0]
    response = _post(
        portal_world,
        "customer",
        f"/subscriptions/{name}/buy_duo_pro",
        data={"seats": "5", "step": "purchase", "payment_method": TOO_BIG},
    )
    assert response.status_code == 422
    assert "Choose one of your payment methods." in response.get_data(as_text=True)
    assert _orders(portal_world.app) == 0


@pytest.mark.parametrize("seats", ["²", TOO_BIG])
def test_sales_orders_refuse_strange_numbers(portal_world: World, seats: str) -> None:
    name = portal_world.path_values["name"][0]
    response = _post(
        portal_world,
        "sales",
        f"/sales/subscriptions/{name}/orders",
        data={"kind": "subscription_seats", "seats": seats},
        follow_redirects=True,
    )
    assert "Enter a whole number for seats." in response.get_data(as_text=True)
    assert _orders(portal_world.app) == 0


@pytest.mark.parametrize("invoice_id", [TOO_BIG, "٣", "²"])
def test_ids_in_urls_past_int64_or_in_other_digits_are_404(
    portal_world: World, invoice_id: str
) -> None:
    support = portal_world.clients["support"]
    assert support.get(f"/support/invoices/{invoice_id}").status_code == 404
    response = _post(portal_world, "support", f"/support/invoices/{invoice_id}/accept_amendment")
    assert response.status_code == 404


@pytest.mark.parametrize("body", [hostile.deep_json(1000), hostile.deep_list(1000), "[" * 50])
def test_deep_or_malformed_json_is_400_on_portal_apis(portal_world: World, body: str) -> None:
    for path in ("/api/v1/trial_requests", "/api/v1/activations", "/api/v1/seat_links"):
        response = _post(
            portal_world, "anonymous", path, data=body, content_type="application/json"
        )
        assert response.status_code == 400, path
    response = _post(
        portal_world,
        "anonymous",
        "/-/simulation/run-due",
        data=body,
        content_type="application/json",
    )
    assert response.status_code == 400


def test_sign_in_with_a_json_body_is_no_crash(portal_world: World) -> None:
    client = portal_world.app.test_client()
    response = client.post("/users/sign_in", json={"login": 5, "password": ["x"]})
    assert response.status_code < 500


def test_a_body_past_the_limit_is_413_with_a_clear_message(make_portal: Any) -> None:
    app = make_portal(MAX_CONTENT_LENGTH=4096)
    client = app.test_client()
    response = client.post(
        "/api/v1/trial_requests", data="x" * 5000, content_type="application/json"
    )
    assert response.status_code == 413
    assert response.get_json()["error"] == (
        "The request is too large: at most 4096 bytes are accepted."
    )
    page = client.post("/trials/duo", data={"email": "x" * 5000})
    assert page.status_code == 413
    assert "at most 4096 bytes" in page.get_data(as_text=True)


def test_the_default_limit_is_one_mebibyte_and_takes_a_license(portal_app: Flask) -> None:
    assert portal_app.config["MAX_CONTENT_LENGTH"] == 1024 * 1024
    assert portal_app.config["MAX_FORM_MEMORY_SIZE"] >= 64 * 1024


# -- the instance --------------------------------------------------------------------------------


@pytest.fixture
def instance_world(wired_instance: tuple[Flask, Any]) -> World:  # noqa: F811
    app, portal = wired_instance
    return hostile.instance_world(app, activate_with_duo(portal))


def _api(world: World) -> FlaskClient:
    return world.clients["api"]


@pytest.mark.parametrize("name", ["page", "per_page"])
@pytest.mark.parametrize("value", ["²", "٣", "abc", TOO_BIG])
def test_api_pagination_is_validated_as_gitlab_does(
    instance_world: World, name: str, value: str
) -> None:
    headers = instance_world.headers["api"]
    response = _api(instance_world).get(
        "/api/v4/users", query_string={name: value}, headers=headers
    )
    assert response.status_code == 400
    assert response.get_json() == {"error": f"{name} is invalid"}


def test_api_user_ids_past_int64_are_404(instance_world: World) -> None:
    headers = instance_world.headers["api"]
    assert _api(instance_world).get(f"/api/v4/users/{TOO_BIG}", headers=headers).status_code == 404
    response = _api(instance_world).post(f"/api/v4/users/{TOO_BIG}/block", headers=headers)
    assert response.status_code == 404


def test_admin_user_edit_past_int64_is_404(instance_world: World) -> None:
    response = _post(instance_world, "admin", f"/admin/users/{TOO_BIG}/edit", data={"name": "x"})
    assert response.status_code == 404


@pytest.mark.parametrize("value", ["²", "٣", TOO_BIG])
def test_duo_seat_changes_refuse_strange_user_ids(instance_world: World, value: str) -> None:
    response = _post(
        instance_world,
        "admin",
        "/admin/gitlab_duo/seats",
        data={"action": "assign", "user_ids": [value, value]},
    )
    assert response.status_code == 400


def test_duo_page_number_in_strange_digits_shows_page_one(instance_world: World) -> None:
    response = instance_world.clients["admin"].get("/admin/gitlab_duo?page=²")
    assert response.status_code == 200


def _graphql(world: World, body: Any, **kwargs: Any) -> Any:
    return _api(world).post("/api/graphql", json=body, headers=world.headers["api"], **kwargs)


def test_graphql_ids_past_int64_get_a_graphql_error(instance_world: World) -> None:
    purchase = instance_world.field_values["addOnPurchaseId"][0]
    for variables in (
        {"p": purchase, "u": f"gid://gitlab/User/{TOO_BIG}"},
        {"p": f"gid://gitlab/GitlabSubscriptions::AddOnPurchase/{TOO_BIG}", "u": "x"},
        {"p": purchase, "u": "gid://gitlab/User/²"},
    ):
        response = _graphql(instance_world, {"query": GRAPHQL_CREATE, "variables": variables})
        assert response.status_code == 200
        message = response.get_json()["errors"][0]["message"]
        assert "does not exist" in message or "not a valid Global ID" in message, message
        assert "SQLite" not in message and "int" not in message.lower().split()


def test_graphql_global_ids_use_gitlabs_messages(instance_world: World) -> None:
    purchase = instance_world.field_values["addOnPurchaseId"][0]
    for user, expected in (
        ("7", '"7" is not a valid Global ID'),
        ("gid://gitlab/Project/7", "does not represent an instance of User"),
    ):
        body = {"query": GRAPHQL_CREATE, "variables": {"p": purchase, "u": user}}
        message = _graphql(instance_world, body).get_json()["errors"][0]["message"]
        assert expected.strip('"') in message.replace("'", '"'), message


def test_graphql_hides_internal_errors_and_logs_them(
    instance_world: World, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from instance import add_ons

    def broken(*args: object) -> None:
        raise RuntimeError("Python int too large to convert to SQLite INTEGER")

    monkeypatch.setattr(add_ons, "assign_seat", broken)
    victim = instance_world.field_values["userId"][0]
    purchase = instance_world.field_values["addOnPurchaseId"][0]
    with caplog.at_level(logging.ERROR, logger="provlab.instance.graphql"):
        response = _graphql(
            instance_world, {"query": GRAPHQL_CREATE, "variables": {"p": purchase, "u": victim}}
        )
    assert response.status_code == 500
    assert response.get_json() == {"errors": [{"message": "Internal server error"}]}
    assert "SQLite INTEGER" in caplog.text


@pytest.mark.parametrize(
    "query",
    ["query " + "{ a " * 3000 + "}" * 3000, "query { " + "addOnPurchases { id } " * 3000 + "}"],
)
def test_graphql_huge_or_deep_queries_are_graphql_errors(instance_world: World, query: str) -> None:
    response = _graphql(instance_world, {"query": query})
    assert response.status_code == 200
    assert response.get_json()["errors"]


@pytest.mark.parametrize("body", [hostile.deep_json(1000), hostile.deep_list(1000)])
def test_deep_json_is_400_on_instance_apis(instance_world: World, body: str) -> None:
    headers = instance_world.headers["api"]
    for path in ("/api/graphql", "/api/v4/users"):
        response = _api(instance_world).post(
            path, data=body, content_type="application/json", headers=headers
        )
        assert response.status_code == 400, path
