"""How the instance reads what comes back from the portal (R16, issue 9 point 8).

- It never follows a redirect: the request would go wherever a proxy or captive portal points.
- Any 5xx (and 407/408/429) is a connectivity problem, whatever its body.
- An unsigned error answer proves nothing: shown as unverified, never as advice to reactivate.
"""

from __future__ import annotations

import pytest
import requests
import responses
from flask import Flask
from flask.testing import FlaskClient

from instance.portal_client import SESSION_HOOK
from tests.instance.fake_portal import PORTAL_URL, FakePortal
from tests.instance.helpers import activate, activated, licenses, sync_now

ELSEWHERE = "http://elsewhere.test/collect"
SEAT_LINKS = f"{PORTAL_URL}/api/v1/seat_links"
ACTIVATIONS = f"{PORTAL_URL}/api/v1/activations"


def _tokens(app: Flask) -> list[str]:
    return [row.token for row in licenses(app)]


def _activated_then_over_http(
    admin_client: FlaskClient, app: Flask, fake_portal: FakePortal
) -> list[str]:
    """Activate through the fake portal, then send what follows over HTTP (where ``responses``
    answers); the license tokens held before."""
    activated(admin_client, fake_portal)
    before = _tokens(app)
    app.extensions[SESSION_HOOK] = requests.Session()
    return before


@pytest.mark.parametrize("status", [301, 302, 307, 308])
@responses.activate
def test_r16_a_redirect_is_never_followed_and_is_a_connectivity_problem(
    admin_client: FlaskClient, app: Flask, fake_portal: FakePortal, status: int
) -> None:
    before = _activated_then_over_http(admin_client, app, fake_portal)
    responses.add(responses.POST, SEAT_LINKS, status=status, headers={"Location": ELSEWHERE})
    elsewhere = responses.add(responses.POST, ELSEWHERE, json={"response": "x.y.z"})
    also_get = responses.add(responses.GET, ELSEWHERE, json={"response": "x.y.z"})

    answer = sync_now(admin_client)

    assert elsewhere.call_count == 0 and also_get.call_count == 0
    assert answer["success"] is False
    assert "connectivity issue" in str(answer["message"])
    page = admin_client.get("/admin/subscription").get_data(as_text=True)
    assert "redirect" in page and "HTTPS_PROXY" in page
    assert _tokens(app) == before


@pytest.mark.parametrize(
    "body",
    [
        {"error": {"code": "invalid_signature", "message": "upstream"}},
        {"message": "502 Bad Gateway"},
        {"response": "not.a.token"},
    ],
)
@pytest.mark.parametrize("status", [500, 502, 503, 504])
@responses.activate
def test_r16_a_5xx_with_a_json_body_is_a_connectivity_problem(
    admin_client: FlaskClient, app: Flask, fake_portal: FakePortal, status: int, body: object
) -> None:
    before = _activated_then_over_http(admin_client, app, fake_portal)
    responses.add(responses.POST, SEAT_LINKS, status=status, json=body)

    answer = sync_now(admin_client)

    message = str(answer["message"])
    assert answer["success"] is False
    assert "connectivity issue" in message and f"HTTP {status}" in message
    assert "verif" not in message and "Activate" not in message
    assert _tokens(app) == before


@pytest.mark.parametrize(
    "code", ["invalid_signature", "unknown_instance", "stale_request", "made_up"]
)
@responses.activate
def test_an_unsigned_error_answer_is_shown_as_unverified_never_as_advice(
    admin_client: FlaskClient, app: Flask, fake_portal: FakePortal, code: str
) -> None:
    before = _activated_then_over_http(admin_client, app, fake_portal)
    responses.add(
        responses.POST, SEAT_LINKS, status=401, json={"error": {"code": code, "message": "x"}}
    )

    answer = sync_now(admin_client)

    message = str(answer["message"])
    assert answer["success"] is False
    assert "could not be verified" in message
    assert "Activate" not in message and "activation code" not in message
    assert _tokens(app) == before


@responses.activate
def test_an_unsigned_refusal_of_an_activation_is_shown_as_unverified(
    admin_client: FlaskClient, app: Flask
) -> None:
    app.extensions[SESSION_HOOK] = requests.Session()
    responses.add(
        responses.POST,
        ACTIVATIONS,
        status=401,
        json={"error": {"code": "invalid_signature", "message": "x"}},
    )
    status, page = activate(admin_client)
    assert status == 422 and "could not be verified" in page
    assert "Activate the instance again" not in page
    assert licenses(app) == []


@responses.activate
def test_an_activation_redirect_is_not_followed(admin_client: FlaskClient, app: Flask) -> None:
    app.extensions[SESSION_HOOK] = requests.Session()
    responses.add(responses.POST, ACTIVATIONS, status=307, headers={"Location": ELSEWHERE})
    elsewhere = responses.add(responses.POST, ELSEWHERE, json={})
    status, page = activate(admin_client)
    assert status == 422 and "Cannot activate instance due to a connectivity issue" in page
    assert elsewhere.call_count == 0
    assert licenses(app) == []
