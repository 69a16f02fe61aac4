"""The wire contract, end to end: the instance's own client talks to the real portal app.

No sockets: ``webcore.transport.in_process_session`` serves the client's requests from the portal
app, so these tests pin that both parties read the same JSON, envelopes and error codes.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from instance.portal_client import PortalClient, PortalError
from portal.keys import published_keys
from protocol.license import verify_license
from protocol.messages import ActivationRequest, SyncRequest
from protocol.signing import SigningKey
from tests.portal.helpers import (
    activation_code,
    buy,
    customer_subscription,
    payment_method_ids,
    sign_in,
)
from webcore.clock import app_clock
from webcore.transport import in_process_session

PORTAL_URL = "http://portal.test"


def _client(app: Flask, key: SigningKey) -> PortalClient:
    with app.app_context():
        keys = published_keys(app)
    return PortalClient(in_process_session(app, PORTAL_URL), PORTAL_URL, keys, app_clock(app), key)


def _request(code: str, instance_id: str, key: SigningKey) -> ActivationRequest:
    return ActivationRequest(
        code, instance_id, "17.5.0-ee", f"{instance_id}.example.com", key.verifying_key().to_jwk()
    )


@pytest.fixture
def subscription(portal_app: Flask) -> tuple[str, str, Any]:
    name = customer_subscription(portal_app, "owner@example.com", seats=25)
    client = sign_in(portal_app, "owner@example.com")
    return name, activation_code(portal_app, client, name), client


def test_r8_r13_instance_client_activates_and_syncs_against_the_portal(
    portal_app: Flask, subscription: tuple[str, str, Any]
) -> None:
    name, code, customer = subscription
    key = SigningKey.generate()
    client = _client(portal_app, key)
    answer = client.activate(_request(code, "i-1", key))
    with portal_app.app_context():
        keys = published_keys(portal_app)
    license = verify_license(answer.license_token, keys)
    assert answer.subscription_name == name and license.instance_id == "i-1"

    buy(customer, name, 9, payment_method_ids(portal_app, 1)[0])
    synced = client.sync(
        SyncRequest("i-1", license.license_id, "17.5.0-ee", "i-1.example.com", 18, 20, ())
    )
    (product,) = verify_license(synced.license_token, keys).add_on_products
    assert product.quantity == 9


def test_r8_instance_client_reads_the_portals_refusals(
    portal_app: Flask, subscription: tuple[str, str, Any]
) -> None:
    _, code, _ = subscription
    first, second = SigningKey.generate(), SigningKey.generate()
    _client(portal_app, first).activate(_request(code, "i-1", first))
    with pytest.raises(PortalError) as refused:
        _client(portal_app, second).activate(_request(code, "i-2", second))
    assert refused.value.code == "activation_code_in_use"
    with pytest.raises(PortalError) as invalid:
        _client(portal_app, second).activate(_request("Z" * 24, "i-2", second))
    assert invalid.value.code == "invalid_activation_code"
    with pytest.raises(PortalError) as unknown:  # never activated: its key is unknown
        _client(portal_app, second).sync(SyncRequest("i-2", "x", "17.5.0-ee", "h", 1, 1, ()))
    # Unsigned (the portal could not verify the request): shown as unverified, never as advice.
    assert unknown.value.code == "unverified_answer"
    assert unknown.value.detail == "unsigned invalid_signature"
