"""Security headers on both apps: nosniff everywhere, pages never framed, no-store on secrets."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask, Response

from tests.portal.helpers import activation_code, customer_subscription, sign_in
from webcore.headers import REFERRER_POLICY, shows_secret


def _assert_page_headers(response: Any) -> None:
    assert response.mimetype == "text/html"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert (
        response.headers["Referrer-Policy"] == REFERRER_POLICY == "strict-origin-when-cross-origin"
    )


@pytest.mark.parametrize("app_name", ["portal", "instance"])
def test_pages_and_json_answers_carry_the_security_headers(
    app_name: str, make_portal: Any, make_instance: Any
) -> None:
    app: Flask = make_portal() if app_name == "portal" else make_instance()
    client = app.test_client()

    page = client.get("/users/sign_in")
    assert page.status_code == 200
    _assert_page_headers(page)
    assert "no-store" not in page.headers.get("Cache-Control", "")  # no secret on it

    missing = client.get("/no/such/page")  # error pages too
    assert missing.status_code == 404
    _assert_page_headers(missing)

    health = client.get("/-/health")
    assert health.mimetype == "application/json"
    assert health.headers["X-Content-Type-Options"] == "nosniff"
    assert "X-Frame-Options" not in health.headers  # a frame policy only means something on pages


def test_the_page_showing_the_activation_code_is_never_stored(portal_app: Flask) -> None:
    name = customer_subscription(portal_app, "owner@example.com")
    client = sign_in(portal_app, "owner@example.com")

    code = activation_code(portal_app, client, name)
    page = client.get(f"/subscriptions/{name}?code=1")
    assert code in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"
    _assert_page_headers(page)
    # The license file download is marked too (whatever method it answers to).
    assert portal_app.view_functions["customer.license_download"].shows_secret
    assert "no-store" not in client.get("/subscriptions").headers.get("Cache-Control", "")


def test_a_header_the_view_set_itself_is_kept(portal_app: Flask) -> None:
    @shows_secret
    def own_headers() -> Response:
        return Response(
            "<p>framed on purpose</p>",
            mimetype="text/html",
            headers={
                "X-Frame-Options": "SAMEORIGIN",
                "Content-Security-Policy": "frame-ancestors 'self'",
                "Referrer-Policy": "no-referrer",
                "Cache-Control": "private, max-age=0",
            },
        )

    portal_app.add_url_rule("/test-own-headers", view_func=own_headers)
    response = portal_app.test_client().get("/test-own-headers")
    assert response.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert response.headers["Content-Security-Policy"] == "frame-ancestors 'self'"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "private, max-age=0"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
