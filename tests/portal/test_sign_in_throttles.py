"""The portal's guesses are bounded: the support console's sign-in costs one password check and
locks like the customers' sign-in; activation codes can't be guessed at speed (429, Retry later)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from flask import Flask

from portal.models import ThrottleCounter
from protocol.envelope import seal_request
from protocol.signing import SigningKey
from tests.portal.helpers import (
    PASSWORD,
    FakeInstance,
    activation_code,
    count,
    csrf_token,
    customer_subscription,
    make_account,
    sign_in,
)
from tests.support.auth import count_password_checks
from webcore.clock import app_clock

SUPPORT = "support@provlab.example"
CUSTOMER = "owner@example.com"


def _support_sign_in(app: Flask, login: str, password: str) -> Any:
    client = app.test_client()
    token = csrf_token(client, "/support/sign_in")
    return client.post(
        "/support/sign_in", data={"csrf_token": token, "login": login, "password": password}
    )


# -- the support console's sign-in -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("login", "password"),
    [
        ("nobody@example.com", "guess"),  # no such account
        (CUSTOMER, PASSWORD),  # an account, but not support staff
        (CUSTOMER, "guess"),
        (SUPPORT, "guess"),  # support staff, wrong password
    ],
)
def test_support_sign_in_checks_one_password_hash_whether_or_not_the_account_exists(
    portal_app: Flask, monkeypatch: pytest.MonkeyPatch, login: str, password: str
) -> None:
    # Answering an unknown login without a hash check would answer it faster: a timing oracle
    # for who has an account. Counted, never timed.
    make_account(portal_app, SUPPORT, role="support")
    make_account(portal_app, CUSTOMER)
    checks = count_password_checks(monkeypatch)
    response = _support_sign_in(portal_app, login, password)
    assert response.status_code == 401
    assert "Invalid login or password, or not a support engineer." in response.get_data(
        as_text=True
    )
    assert checks == [password]


def test_support_sign_in_locks_after_ten_failures_like_the_customers_sign_in(
    portal_app: Flask,
) -> None:
    make_account(portal_app, SUPPORT, role="support")
    for attempt in range(10):
        assert _support_sign_in(portal_app, SUPPORT, f"wrong-{attempt}").status_code == 401
    locked = _support_sign_in(portal_app, SUPPORT, PASSWORD)
    assert locked.status_code == 401
    assert "Your account is locked." in locked.get_data(as_text=True)
    app_clock(portal_app).advance(dt.timedelta(minutes=10))  # type: ignore[attr-defined]
    assert _support_sign_in(portal_app, SUPPORT, PASSWORD).status_code == 302


def test_support_sign_in_still_lets_support_in(portal_app: Flask) -> None:
    make_account(portal_app, SUPPORT, role="support")
    response = _support_sign_in(portal_app, SUPPORT, PASSWORD)
    assert response.status_code == 302
    assert response.headers["Location"] == "/support"


# -- activation-code guessing ----------------------------------------------------------------------


def _activate_from(app: Flask, address: str, code: str) -> Any:
    instance = FakeInstance(app, instance_id=f"instance-{address}", key=SigningKey.generate())
    token, _ = seal_request(instance.activation_request(code), instance.key, app_clock(app))
    return app.test_client().post(
        "/api/v1/activations", json={"request": token}, environ_base={"REMOTE_ADDR": address}
    )


def _guess(n: int) -> str:
    return f"Guess{n:019d}"[:24]


@pytest.mark.all_backends
def test_activation_code_guessing_is_throttled_per_client(portal_app: Flask) -> None:
    name = customer_subscription(portal_app, CUSTOMER)
    good_code = activation_code(portal_app, sign_in(portal_app, CUSTOMER), name)

    for n in range(10):
        assert _activate_from(portal_app, "203.0.113.7", _guess(n)).status_code == 404, n
    throttled = _activate_from(portal_app, "203.0.113.7", _guess(10))
    assert throttled.status_code == 429
    assert throttled.get_data(as_text=True) == "Retry later\n"
    assert throttled.mimetype == "text/plain"
    retry_after = int(throttled.headers["Retry-After"])
    assert 0 < retry_after <= 3600
    assert throttled.headers["RateLimit-Name"] == "activation_guesses"
    assert throttled.headers["RateLimit-Limit"] == "10"
    # Throttled before the code is even looked at: the right code is refused too.
    assert _activate_from(portal_app, "203.0.113.7", good_code).status_code == 429

    # Another client is unaffected, and can still activate with a real code.
    assert _activate_from(portal_app, "198.51.100.2", _guess(11)).status_code == 404
    assert _activate_from(portal_app, "198.51.100.2", good_code).status_code == 200

    # When the window ends (Retry-After, on the app's clock), the client may try again.
    app_clock(portal_app).advance(dt.timedelta(seconds=retry_after))  # type: ignore[attr-defined]
    assert _activate_from(portal_app, "203.0.113.7", _guess(12)).status_code == 404


def test_good_activations_and_unsigned_junk_do_not_count_as_guesses(portal_app: Flask) -> None:
    name = customer_subscription(portal_app, CUSTOMER)
    good_code = activation_code(portal_app, sign_in(portal_app, CUSTOMER), name)
    client = portal_app.test_client()
    for _ in range(12):
        junk = client.post("/api/v1/activations", json={"request": "not-a-jws"})
        assert junk.status_code in (400, 401)
    status, _ = FakeInstance(portal_app).activate(good_code)
    assert status == 200
    assert count(portal_app, ThrottleCounter) == 0


def test_the_throttle_is_configurable_and_refuses_nonsense(make_portal: Any, tmp_path: Any) -> None:
    app = make_portal(ACTIVATION_GUESS_LIMIT=2, ACTIVATION_GUESS_PERIOD_SECONDS=60)
    for n in range(2):
        assert _activate_from(app, "203.0.113.9", _guess(n)).status_code == 404
    throttled = _activate_from(app, "203.0.113.9", _guess(2))
    assert throttled.status_code == 429
    assert 0 < int(throttled.headers["Retry-After"]) <= 60

    from portal import create_app
    from webcore.config import ConfigError

    for variable in ("PORTAL_ACTIVATION_GUESS_LIMIT", "PORTAL_ACTIVATION_GUESS_PERIOD_SECONDS"):
        with pytest.raises(ConfigError, match=variable):
            create_app({"INSTANCE_PATH": str(tmp_path)}, environ={variable: "0"})
