"""Waitress's limits on both apps' servers: idle keep-alive connections never silence them."""

from __future__ import annotations

import socket
from typing import Any

import pytest
import requests
from flask import Flask

from provlab import serve
from provlab.liveserver import LiveServer

# More than waitress's default connection limit (100), which stopped accepting at that point.
IDLE_CONNECTIONS = 150


def _idle_keep_alive(url: str) -> socket.socket:
    """A connection that made one request and keeps its connection open, as a browser does."""
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    sock.sendall(b"GET /-/health HTTP/1.1\r\nHost: lab\r\nConnection: keep-alive\r\n\r\n")
    received = b""
    while b"\r\n\r\n" not in received:
        received += sock.recv(65536)
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    length = next(
        int(line.split(b":")[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        body += sock.recv(65536)
    return sock


def test_idle_keep_alive_connections_do_not_stop_a_new_request(
    portal_app: Flask, live_server: Any
) -> None:
    server = live_server(portal_app)
    idle = [_idle_keep_alive(server.url) for _ in range(IDLE_CONNECTIONS)]
    try:
        session = requests.Session()
        session.trust_env = False
        # The timeout only ends the test if the server never answers; nothing is timed.
        response = session.get(f"{server.url}/-/health", timeout=20)
        assert response.status_code == 200
    finally:
        for sock in idle:
            sock.close()


def test_an_idle_connection_is_closed_after_the_channel_timeout(portal_app: Flask) -> None:
    server = LiveServer(portal_app, channel_timeout=1, cleanup_interval=1).start()
    try:
        sock = _idle_keep_alive(server.url)
        with sock:
            sock.settimeout(30)
            assert sock.recv(1) == b""  # closed by the server, not by us
    finally:
        server.stop()


def test_provlab_up_servers_use_the_deliberate_limits(
    portal_app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    served: dict[str, Any] = {}
    monkeypatch.setattr(serve, "build", lambda name: portal_app)
    monkeypatch.setattr(serve.waitress, "serve", lambda app, **options: served.update(options))
    monkeypatch.setattr(serve.signal, "signal", lambda *args: None)
    assert serve.main(["portal", "--port", "5999"]) == 0
    assert {key: served[key] for key in serve.SERVER_LIMITS} == serve.SERVER_LIMITS
    assert serve.SERVER_LIMITS["connection_limit"] > IDLE_CONNECTIONS
