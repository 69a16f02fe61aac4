"""``in_process_session``: requests calls served by a WSGI app in this process, no sockets."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from flask import Flask, jsonify, redirect, request

BASE = "http://portal.inprocess.test"


@pytest.fixture
def app() -> Flask:
    app = Flask("transport_test")

    @app.get("/api/v1/echo")
    def echo() -> Any:
        return jsonify(
            method=request.method,
            path=request.path,
            args=request.args.to_dict(flat=False),
            host=request.host,
            user_agent=request.headers.get("User-Agent"),
            custom=request.headers.get("X-Custom"),
            authorization=request.headers.get("Authorization"),
        )

    @app.post("/api/v1/items")
    def create_item() -> Any:
        body = request.get_json()
        response = jsonify(received=body, content_type=request.content_type)
        response.status_code = 201
        response.headers["Location"] = f"{BASE}/api/v1/items/7"
        response.headers["X-Request-Id"] = "abc12345"
        return response

    @app.post("/api/v1/form")
    def form() -> Any:
        return jsonify(form=request.form.to_dict(), raw=request.get_data(as_text=True))

    @app.put("/api/v1/raw")
    def raw() -> Any:
        return request.get_data(), 200, {"Content-Type": "application/octet-stream"}

    @app.get("/api/v1/refused")
    def refused() -> Any:
        return jsonify(error="license expired"), 422

    @app.get("/old")
    def old() -> Any:
        return redirect("/api/v1/echo?moved=yes")

    @app.get("/api/v1/links")
    def links() -> Any:
        response = jsonify(ok=True)
        response.headers.add("Link", "<a>; rel=first")
        response.headers.add("Link", "<b>; rel=next")
        return response

    @app.post("/session")
    def start_session() -> Any:
        response = jsonify(ok=True)
        response.set_cookie("who", "root", httponly=True)
        response.set_cookie("theme", "dark")
        return response

    @app.get("/whoami")
    def whoami() -> Any:
        return jsonify(who=request.cookies.get("who"), theme=request.cookies.get("theme"))

    return app


@pytest.fixture
def session(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[requests.Session]:
    from webcore.transport import in_process_session

    def no_sockets(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("in-process transport opened a socket")

    monkeypatch.setattr(socket, "socket", no_sockets)
    monkeypatch.setattr(socket, "create_connection", no_sockets)
    with in_process_session(app, BASE) as session:
        yield session


def test_get_round_trips_query_headers_and_json(session: requests.Session) -> None:
    response = session.get(
        f"{BASE}/api/v1/echo",
        params={"a": ["1", "2"], "q": "two words"},
        headers={"X-Custom": "yes", "Authorization": "Bearer t0ken"},
    )
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {
        "method": "GET",
        "path": "/api/v1/echo",
        "args": {"a": ["1", "2"], "q": ["two words"]},
        "host": "portal.inprocess.test",
        "user_agent": requests.utils.default_user_agent(),
        "custom": "yes",
        "authorization": "Bearer t0ken",
    }
    assert response.url == f"{BASE}/api/v1/echo?a=1&a=2&q=two+words"
    assert response.ok and response.reason == "OK"


def test_post_round_trips_a_json_body_status_and_response_headers(
    session: requests.Session,
) -> None:
    payload = {"activation_code": "x" * 24, "nested": {"seats": [1, 2]}, "text": "é ✓"}
    response = session.post(f"{BASE}/api/v1/items", json=payload)
    assert response.status_code == 201
    assert response.json() == {"received": payload, "content_type": "application/json"}
    assert response.headers["location"] == f"{BASE}/api/v1/items/7"
    assert response.headers["X-Request-Id"] == "abc12345"
    assert response.request.method == "POST"


def test_form_and_raw_bytes_bodies_arrive_unchanged(session: requests.Session) -> None:
    form = session.post(f"{BASE}/api/v1/form", data={"login": "root", "next": "/a b&c"}).json()
    assert form["form"] == {"login": "root", "next": "/a b&c"}
    blob = bytes(range(256))
    raw = session.put(f"{BASE}/api/v1/raw", data=blob)
    assert raw.content == blob


def test_error_statuses_come_back_as_responses_not_exceptions(session: requests.Session) -> None:
    refused = session.get(f"{BASE}/api/v1/refused")
    assert refused.status_code == 422 and refused.json() == {"error": "license expired"}
    with pytest.raises(requests.HTTPError):
        refused.raise_for_status()
    missing = session.get(f"{BASE}/nowhere")
    assert missing.status_code == 404


def test_redirects_are_followed_in_process(session: requests.Session) -> None:
    response = session.get(f"{BASE}/old")
    assert response.status_code == 200
    assert response.json()["args"] == {"moved": ["yes"]}
    assert [r.status_code for r in response.history] == [302]


def test_repeated_response_headers_are_all_kept(session: requests.Session) -> None:
    response = session.get(f"{BASE}/api/v1/links")
    assert (
        "<a>; rel=first" in response.headers["Link"] and "<b>; rel=next" in response.headers["Link"]
    )


def test_the_session_ignores_proxy_settings_from_the_environment(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    from webcore.transport import in_process_session

    monkeypatch.setenv("HTTP_PROXY", "http://proxy.invalid:3128")
    monkeypatch.setenv("http_proxy", "http://proxy.invalid:3128")
    with in_process_session(app, BASE) as session:
        assert session.get(f"{BASE}/api/v1/echo").status_code == 200


def test_cookies_set_by_the_app_are_kept_by_the_session(session: requests.Session) -> None:
    session.post(f"{BASE}/session")
    assert session.cookies.get("who") == "root" and session.cookies.get("theme") == "dark"
    assert session.get(f"{BASE}/whoami").json() == {"who": "root", "theme": "dark"}
