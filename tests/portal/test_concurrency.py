"""Simultaneous purchases on one subscription never break R5 or R6 (real concurrent requests)."""

from __future__ import annotations

import re
from typing import Any

import requests
from flask import Flask

from tests.portal.helpers import (
    PASSWORD,
    add_ons,
    make_account,
    make_subscription,
    payment_method_ids,
)
from tests.support.concurrent import post_all_at_once


def _signed_in(url: str, email: str) -> tuple[requests.Session, str]:
    session = requests.Session()
    session.trust_env = False
    page = session.get(f"{url}/users/sign_in", timeout=10).text
    token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page)
    token = token or re.search(r'value="([^"]+)"[^>]*name="csrf_token"', page)
    assert token
    response = session.post(
        f"{url}/users/sign_in",
        timeout=10,
        allow_redirects=False,
        data={"login": email, "password": PASSWORD, "csrf_token": token.group(1)},
    )
    assert response.status_code == 302
    meta = re.search(
        r'name="csrf-token" content="([^"]+)"', session.get(f"{url}/subscriptions").text
    )
    assert meta
    return session, meta.group(1)


def test_r5_r6_concurrent_duo_pro_purchases_provision_one(
    db_backend: str, make_portal: Any, live_server: Any
) -> None:
    app: Flask = make_portal()
    customer_id = make_account(app, "owner@example.com")
    name = make_subscription(app, customer_id, seats=20)
    card = payment_method_ids(app, customer_id)[0]
    url = live_server(app).url
    clients = [_signed_in(url, "owner@example.com") for _ in range(4)]
    responses = post_all_at_once(
        f"{url}/subscriptions/{name}/buy_duo_pro",
        clients,
        [{"seats": "15", "step": "purchase", "payment_method": str(card)}] * len(clients),
        timeout=30,
        allow_redirects=False,
    )
    assert sorted(response.status_code for response in responses) == [302, 422, 422, 422]
    (purchase,) = add_ons(app, name)
    assert purchase["quantity"] == 15
