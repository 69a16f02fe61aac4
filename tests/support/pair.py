"""A portal and an instance talking to each other over HTTP on loopback, as in production."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from instance.models import AccessLevel
from portal.keys import published_keys
from tests.instance.conftest import add_user


def http_pair(
    make_portal: Callable[..., Flask],
    make_instance: Callable[..., Flask],
    live_server: Callable[[Flask], Any],
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[Flask, Flask]:
    """A real portal server, and an instance (its administrator "root" added) that trusts the
    portal's published keys and reaches it over HTTP, not through any proxy of the environment."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    portal = make_portal()
    portal_server = live_server(portal)
    with portal.app_context():
        keys = json.dumps(published_keys(portal).to_jwks())
    instance = make_instance(
        PORTAL_URL=portal_server.url, PORTAL_TRANSPORT="http", PORTAL_PUBLIC_KEYS=keys
    )
    add_user(instance, "root", admin=True, highest_access_level=AccessLevel.OWNER)
    return portal, instance
