"""Request logs with ids and without secrets, on both apps: the request log, the app's
logger and every module's (``webcore.requestlog.redact``)."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from tests.webcore.sign_in_helpers import Login, csrf_token, sign_in
from webcore.requestlog import redact

PASSWORD_IN_QUERY = "Hunter2-query-password"
PAT = "glpat-AbCdEfGhIjKlMnOpQrSt"
ACTIVATION_CODE = "Ab12Cd34Ef56Gh78Ij90Kl12"
PEM = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIBVzZXJzZWNyZXRrZXltYXRlcmlhbDEyMzQ1Njc4\n-----END PRIVATE KEY-----"


# -- request logs ----------------------------------------------------------------------------------


def _log_text(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(record.getMessage() + (record.exc_text or "") for record in caplog.records)


def test_request_log_lines_carry_the_request_id_echoed_in_x_request_id(
    signed_up: Login, caplog: pytest.LogCaptureFixture
) -> None:
    app = signed_up.app
    client = app.test_client()
    with caplog.at_level(logging.INFO, logger=f"provlab.{app.name}.requests"):
        first = client.get("/-/health")
        second = client.get("/-/health")
        chosen = client.get("/-/health", headers={"X-Request-Id": "upstream-id-1234"})
        unsafe = client.get("/-/health", headers={"X-Request-Id": "bad id;status=200 forged"})
    ids = [r.headers["X-Request-Id"] for r in (first, second, chosen, unsafe)]
    assert ids[0] != ids[1] and all(ids)
    assert ids[2] == "upstream-id-1234"
    assert "forged" not in ids[3] and " " not in ids[3]
    lines = [r.getMessage() for r in caplog.records if r.name == f"provlab.{app.name}.requests"]
    assert len(lines) == 4
    for request_id, line in zip(ids, lines, strict=True):
        assert line.startswith(f"request_id={request_id} ")
        assert "path=/-/health" in line and "status=200" in line


def test_request_logs_never_contain_secrets_from_the_query_string_or_form(
    signed_up: Login, caplog: pytest.LogCaptureFixture
) -> None:
    from urllib.parse import urlencode

    app = signed_up.app
    client = app.test_client()
    query = "?" + urlencode(
        {
            "password": PASSWORD_IN_QUERY,
            "private_token": PAT,
            "activation_code": ACTIVATION_CODE,
            "key": PEM,
        }
    )
    with caplog.at_level(logging.INFO):
        client.get(f"/users/sign_in{query}")
        client.get(f"/-/health{query}", headers={"Authorization": f"Bearer {PAT}"})
        sign_in(client, signed_up.login, signed_up.password, query)
        token = csrf_token(client)
        client.post(
            f"/users/sign_in{query}",
            data={
                "csrf_token": token,
                "login": signed_up.login,
                "password": PASSWORD_IN_QUERY,
                "activation_code": ACTIVATION_CODE,
                "pem": PEM,
                "token": PAT,
            },
        )
    text = _log_text(caplog)
    assert f"provlab.{app.name}.requests" in {r.name for r in caplog.records}
    for secret in (
        signed_up.password,
        PASSWORD_IN_QUERY,
        PAT,
        ACTIVATION_CODE,
        "BEGIN PRIVATE KEY",
        "MC4CAQAwBQYDK2VwBCIEIBVzZXJz",
    ):
        assert secret not in text


def test_app_logger_redacts_secrets_in_messages_and_tracebacks(
    signed_up: Login, caplog: pytest.LogCaptureFixture
) -> None:
    app = signed_up.app

    @app.get("/-/test-boom")
    def boom() -> str:
        raise RuntimeError(
            f"failed with password={PASSWORD_IN_QUERY} token {PAT} code {ACTIVATION_CODE}"
        )

    app.testing = False  # let Flask log the exception instead of raising it into the test
    app.config["PROPAGATE_EXCEPTIONS"] = False
    with caplog.at_level(logging.INFO):
        app.logger.warning("activating with activation_code=%s and key %s", ACTIVATION_CODE, PEM)
        app.logger.info("calling with Authorization: Bearer %s", PAT)
        response = app.test_client().get("/-/test-boom")
    assert response.status_code == 500
    text = _log_text(caplog)
    assert "Exception on /-/test-boom" in text and "RuntimeError" in text
    assert text.count("[REDACTED]") >= 5
    for secret in (PASSWORD_IN_QUERY, PAT, ACTIVATION_CODE, "BEGIN PRIVATE KEY"):
        assert secret not in text


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("password=hunter2", "hunter2"),
        ('{"password": "hunter2"}', "hunter2"),
        ("login=root&password=hunter2&next=/", "hunter2"),
        ("PASSWORD: hunter2", "hunter2"),
        (f"token is {PAT}", PAT),
        (f"private_token={PAT}", PAT),
        ("Authorization: Bearer abc.def-ghi", "abc.def-ghi"),
        ("authorization=Basic-c2VjcmV0", "Basic-c2VjcmV0"),
        (f"activation_code={ACTIVATION_CODE}", ACTIVATION_CODE),
        (f"the code {ACTIVATION_CODE} was refused", ACTIVATION_CODE),
        (f"key:\n{PEM}\nend", "MC4CAQAwBQYDK2VwBCIEIBVzZXJz"),
        ("secret='s3cr3t-value'", "s3cr3t-value"),
        (
            "eyJhbGciOiJFZERTQSJ9abc.eyJzdWIiOiJpbnN0YW5jZSJ9xyz.c2lnbmF0dXJlc2lnbmF0dXJlc2ln",
            "eyJzdWIiOiJpbnN0YW5jZSJ9xyz",
        ),
    ],
)
def test_redact_removes_secret_looking_strings(text: str, secret: str) -> None:
    cleaned = redact(text)
    assert secret not in cleaned
    assert "[REDACTED]" in cleaned


@pytest.mark.parametrize(
    "text",
    [
        "request_id=3f2a9c1d0b8e7f6a method=GET path=/home status=200 duration_ms=1.2 user=4",
        "synced 12 users at 2026-03-02T03:41:00Z",
        "instance 6a1f6c52-6c6e-4b57-9c55-0c5f3f4b2d11 activated",
        # A key id (base64url) holding a run of 24 letters and digits is not an activation code.
        "generated a new signing key CaIFowMamUysGXAvI--OUwcqz44NiHZjsOUaEaItKSM",
    ],
)
def test_redact_leaves_ordinary_log_lines_alone(text: str) -> None:
    assert redact(text) == text


def test_feature_module_and_job_logs_are_redacted_too(
    signed_up: Login, caplog: pytest.LogCaptureFixture
) -> None:
    # Module loggers ("instance.sync", "webcore.jobs") are children of no filtered logger: a
    # filter on the app logger alone would not see their records.
    from tests.support.jobs import install_registry
    from webcore.job_declarations import JobRegistry

    app = signed_up.app
    registry = JobRegistry()

    @registry.job("leaky")
    def leaky(context: Any, args: dict[str, Any]) -> None:
        raise RuntimeError(f"the portal refused activation code {ACTIVATION_CODE} with {PAT}")

    scheduler = install_registry(app, registry)
    with caplog.at_level(logging.INFO):
        logging.getLogger(f"{app.name}.feature").warning(
            "retrying with password=%s", PASSWORD_IN_QUERY
        )
        logging.getLogger("webcore.anything").error("key material %s", PEM)
        try:
            raise ValueError(f"token {PAT}")
        except ValueError:
            logging.getLogger(f"{app.name}.feature").exception("failed")
        with app.app_context():
            scheduler.schedule("leaky", scheduler._clock().now(), key="leaky")
            app.extensions["sqlalchemy"].session.commit()
            [run] = scheduler.run_due(scheduler._clock().now())
    assert run.outcome == "failed"
    text = caplog.text + _log_text(caplog)
    assert "leaky failed" in text and "retrying with password=" in text
    for secret in (PASSWORD_IN_QUERY, PAT, ACTIVATION_CODE, "BEGIN PRIVATE KEY"):
        assert secret not in text
