"""A purchase is charged once: the same summary or order form submitted twice places one order.

Each *Purchase summary*, *Add seats* summary and sales order form carries an idempotency key; a
second submission with it (a retry, a second tab, a double click) shows the first order and
charges nothing; two submissions at the same moment still place one order.
"""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from flask import Flask

from portal.models import Order
from portal.payments import FakeGateway
from provlab.cli import main
from tests.portal.helpers import (
    OWNER,
    add_ons,
    csrf_token,
    customer_subscription,
    flashes,
    mails,
    make_account,
    make_subscription,
    payment_method_ids,
    sign_in,
    signed_in_customer,
)
from tests.portal.test_concurrency import _signed_in
from tests.support.concurrent import post_all_at_once

SALES = "sales@provlab.example"
_KEY = re.compile(r'name="idempotency_key" value="([^"]+)"')


class CountingGateway(FakeGateway):
    """The fake gateway, counting the charges it accepted."""

    def __init__(self) -> None:
        super().__init__(["0002"])
        self.charges: list[int] = []
        self._lock = threading.Lock()

    def charge(self, method: Any, amount_cents: int, description: str) -> str:
        reference = super().charge(method, amount_cents, description)
        with self._lock:
            self.charges.append(amount_cents)
        return reference


def _gateway(app: Flask) -> CountingGateway:
    gateway = CountingGateway()
    app.extensions["portal.payments"] = gateway
    return gateway


def _orders(app: Flask) -> list[dict[str, Any]]:
    with app.app_context():
        rows = app.extensions["sqlalchemy"].session.execute(sa.select(Order).order_by(Order.id))
        return [
            {"id": o.id, "kind": o.kind, "quantity": o.quantity, "key": o.idempotency_key}
            for o in rows.scalars()
        ]


def _summary(client: Any, name: str, flow: str, seats: int) -> dict[str, str]:
    """The *Purchase summary* as the browser shows it: the form the buyer submits."""
    token = csrf_token(client, "/subscriptions")
    page = client.post(
        f"/subscriptions/{name}/{flow}",
        data={"seats": str(seats), "step": "summary", "csrf_token": token},
    )
    assert page.status_code == 200 and "Purchase summary" in page.get_data(as_text=True)
    key = _KEY.search(page.get_data(as_text=True))
    assert key, "the summary form carries no idempotency key"
    return {
        "seats": str(seats),
        "step": "purchase",
        "idempotency_key": key.group(1),
        "csrf_token": token,
    }


def _submit(client: Any, name: str, flow: str, form: dict[str, str], card: int) -> Any:
    return client.post(f"/subscriptions/{name}/{flow}", data={**form, "payment_method": str(card)})


def test_the_same_purchase_summary_submitted_twice_places_and_charges_one_order(
    portal_app: Flask,
) -> None:
    gateway = _gateway(portal_app)
    client, (_, name, card, _) = signed_in_customer(portal_app)
    form = _summary(client, name, "buy_duo_pro", 10)

    first = _submit(client, name, "buy_duo_pro", form, card)
    second = _submit(client, name, "buy_duo_pro", form, card)  # a retry, a second tab

    assert first.status_code == second.status_code == 302
    assert first.location == second.location
    (order,) = _orders(portal_app)
    assert order["kind"] == "duo_pro" and order["key"] == form["idempotency_key"]
    assert len(gateway.charges) == 1
    assert [a["quantity"] for a in add_ons(portal_app, name)] == [10]
    assert len(mails(portal_app, "purchase_confirmation")) == 1
    message = f"Your purchase of 10 seats is complete (order #{order['id']}"
    assert message in flashes(client.get(second.location))


def test_the_same_add_seats_summary_submitted_twice_adds_the_seats_once(portal_app: Flask) -> None:
    gateway = _gateway(portal_app)
    client, (_, name, card, _) = signed_in_customer(portal_app)
    _submit(client, name, "buy_duo_pro", _summary(client, name, "buy_duo_pro", 10), card)
    form = _summary(client, name, "add_seats", 5)

    first = _submit(client, name, "add_seats", form, card)
    second = _submit(client, name, "add_seats", form, card)

    assert first.status_code == second.status_code == 302
    orders = _orders(portal_app)
    assert [o["kind"] for o in orders] == ["duo_pro", "add_on_seats"]
    assert len(gateway.charges) == 2  # the Duo Pro purchase, then the seats once
    assert [a["quantity"] for a in add_ons(portal_app, name)] == [15]
    assert f"order #{orders[1]['id']}" in flashes(client.get(second.location))


def test_two_summaries_are_two_purchases(portal_app: Flask) -> None:
    gateway = _gateway(portal_app)
    client, (_, name, card, _) = signed_in_customer(portal_app)
    _submit(client, name, "buy_duo_pro", _summary(client, name, "buy_duo_pro", 10), card)
    first, second = _summary(client, name, "add_seats", 5), _summary(client, name, "add_seats", 5)
    assert first["idempotency_key"] != second["idempotency_key"]

    _submit(client, name, "add_seats", first, card)
    _submit(client, name, "add_seats", second, card)

    assert [o["kind"] for o in _orders(portal_app)] == ["duo_pro", "add_on_seats", "add_on_seats"]
    assert len(gateway.charges) == 3
    assert [a["quantity"] for a in add_ons(portal_app, name)] == [20]


def test_a_declined_summary_can_be_paid_with_another_card_under_the_same_key(
    portal_app: Flask,
) -> None:
    gateway = _gateway(portal_app)
    customer_id = make_account(portal_app, OWNER)
    name = make_subscription(portal_app, customer_id)
    client = sign_in(portal_app, OWNER)
    card, declined = payment_method_ids(portal_app, customer_id)
    form = _summary(client, name, "buy_duo_pro", 10)

    refused = _submit(client, name, "buy_duo_pro", form, declined)
    assert refused.status_code == 422 and "declined" in flashes(refused)
    assert _KEY.search(refused.get_data(as_text=True)).group(1) == form["idempotency_key"]  # type: ignore[union-attr]
    assert _orders(portal_app) == [] and gateway.charges == []

    assert _submit(client, name, "buy_duo_pro", form, card).status_code == 302
    assert len(_orders(portal_app)) == 1 and len(gateway.charges) == 1


def test_a_malformed_key_is_refused_and_nothing_is_bought(portal_app: Flask) -> None:
    gateway = _gateway(portal_app)
    client, (_, name, card, _) = signed_in_customer(portal_app)
    form = {**_summary(client, name, "buy_duo_pro", 10), "idempotency_key": "x" * 65}
    refused = _submit(client, name, "buy_duo_pro", form, card)
    assert refused.status_code == 302
    assert "idempotency key" in flashes(client.get(refused.location))
    assert _orders(portal_app) == [] and gateway.charges == []


def test_the_same_sales_order_form_submitted_twice_places_one_order(portal_app: Flask) -> None:
    name = customer_subscription(portal_app, OWNER, seats=40)
    make_account(portal_app, SALES, role="sales")
    sales = sign_in(portal_app, SALES)
    page = sales.get(f"/sales/subscriptions/{name}").get_data(as_text=True)
    forms = re.findall(
        r'name="kind" value="([a-z_]+)">\s*<input type="hidden" name="idempotency_key" value="([^"]+)"',
        page,
    )
    keys = dict(forms)
    assert set(keys) >= {"duo_enterprise", "subscription_seats", "renewal"}
    assert len(set(keys.values())) == len(keys)  # one key per form
    token = csrf_token(sales, "/sales")
    form = {
        "kind": "subscription_seats",
        "seats": "5",
        "idempotency_key": keys["subscription_seats"],
    }

    first = sales.post(f"/sales/subscriptions/{name}/orders", data={**form, "csrf_token": token})
    second = sales.post(f"/sales/subscriptions/{name}/orders", data={**form, "csrf_token": token})

    (order,) = _orders(portal_app)
    assert order["kind"] == "subscription_seats" and order["quantity"] == 5
    assert f"Order #{order['id']} placed" in flashes(sales.get(second.location))
    assert first.location == second.location
    # Another order with the key of this one is refused: the form was used.
    other = {**form, "kind": "duo_enterprise", "csrf_token": token}
    reused = sales.post(f"/sales/subscriptions/{name}/orders", data=other)
    assert f"already used for order #{order['id']}" in flashes(sales.get(reused.location))
    assert len(_orders(portal_app)) == 1
    fresh = {"kind": "subscription_seats", "seats": "5", "idempotency_key": "another-form-key"}
    sales.post(f"/sales/subscriptions/{name}/orders", data={**fresh, "csrf_token": token})
    assert [o["quantity"] for o in _orders(portal_app)] == [5, 5]


def test_the_cli_places_an_order_once_per_idempotency_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable in ("PORTAL_INSTANCE_PATH", "PORTAL_DATABASE_URL", "PORTAL_CONFIG_FILE"):
        monkeypatch.delenv(variable, raising=False)
    runner = CliRunner()

    def provlab(*args: str) -> Any:
        result = runner.invoke(main, ["portal", *args, "--var", str(tmp_path), "--json"])
        assert result.exit_code == 0, result.output
        return json.loads(result.output)

    provlab(
        "create-customer", OWNER, "--name", "O", "--password", "secret123", "--card", "Visa:4242"
    )
    provlab("create-customer", SALES, "--name", "S", "--password", "secret123", "--role", "sales")
    name = provlab(
        "create-subscription",
        "--customer",
        OWNER,
        "--plan",
        "premium",
        "--seats",
        "10",
        "--contact-email",
        "c@example.com",
    )["name"]
    buy = ("buy-duo-pro", name, "--seats", "3", "--card", "4242", "--idempotency-key", "buy-1")
    assert provlab(*buy)["id"] == provlab(*buy)["id"]
    more = ("add-seats", name, "--seats", "2", "--card", "4242", "--idempotency-key", "more-1")
    assert provlab(*more)["id"] == provlab(*more)["id"]
    order = ("order", "subscription_seats", name, "--by", SALES, "--seats", "5")
    first = provlab(*order, "--idempotency-key", "po-4711")
    assert provlab(*order, "--idempotency-key", "po-4711")["id"] == first["id"]
    assert provlab(*order, "--idempotency-key", "po-4712")["id"] != first["id"]
    shown = provlab("show", name)
    assert shown["seats"] == 20
    assert [a["quantity"] for a in shown["add_ons"]] == [5]


@pytest.mark.all_backends
def test_the_same_summary_submitted_at_the_same_moment_places_one_order(
    db_backend: str, make_portal: Any, live_server: Any
) -> None:
    app: Flask = make_portal()
    gateway = _gateway(app)
    customer_id = make_account(app, OWNER)
    name = make_subscription(app, customer_id, seats=50)
    card = payment_method_ids(app, customer_id)[0]
    url = live_server(app).url
    clients = [_signed_in(url, OWNER) for _ in range(4)]
    session, token = clients[0]
    page = session.post(
        f"{url}/subscriptions/{name}/buy_duo_pro",
        data={"seats": "10", "step": "summary", "csrf_token": token},
        timeout=30,
    ).text
    key = _KEY.search(page).group(1)  # type: ignore[union-attr]
    form = {"seats": "10", "step": "purchase", "payment_method": str(card), "idempotency_key": key}
    responses = post_all_at_once(
        f"{url}/subscriptions/{name}/buy_duo_pro",
        clients,
        [form] * len(clients),
        timeout=60,
        allow_redirects=False,
    )
    # Each shown the order, no 5xx.
    assert [response.status_code for response in responses] == [302] * 4
    assert len(_orders(app)) == 1 and len(gateway.charges) == 1
    assert [a["quantity"] for a in add_ons(app, name)] == [10]


@pytest.mark.all_backends
def test_a_second_claim_of_a_key_that_slips_past_the_lookup_fails_before_charging(
    db_backend: str, make_portal: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The unique key is the last guard: were the look-up to miss the first order (a race the
    subscription lock normally prevents), the second insert fails before its charge, and the
    buyer is shown the first order, not an error."""
    from portal import idempotency

    app: Flask = make_portal()
    gateway = _gateway(app)
    client, (_, name, card, _) = signed_in_customer(app, seats=50)
    _submit(client, name, "buy_duo_pro", _summary(client, name, "buy_duo_pro", 10), card)
    form = _summary(client, name, "add_seats", 5)
    assert _submit(client, name, "add_seats", form, card).status_code == 302

    looked_up = idempotency.replayed
    misses = iter([True, True])  # the route's look-up and the one under the lock both miss

    def blind_once(*args: Any) -> Any:
        return None if next(misses, False) else looked_up(*args)

    monkeypatch.setattr(idempotency, "replayed", blind_once)
    again = _submit(client, name, "add_seats", form, card)

    assert again.status_code == 302
    orders = _orders(app)
    assert [o["kind"] for o in orders] == ["duo_pro", "add_on_seats"]
    assert len(gateway.charges) == 2  # Duo Pro, then the seats once
    assert [a["quantity"] for a in add_ons(app, name)] == [15]
    assert f"order #{orders[1]['id']}" in flashes(client.get(again.location))
