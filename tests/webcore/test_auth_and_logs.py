"""Sign-in, sign-out and CSRF on both apps; request logs with ids and without secrets."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.support.auth import count_password_checks
from webcore.requestlog import redact

PASSWORD_IN_QUERY = "Hunter2-query-password"
PAT = "glpat-AbCdEfGhIjKlMnOpQrSt"
ACTIVATION_CODE = "Ab12Cd34Ef56Gh78Ij90Kl12"
PEM = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIBVzZXJzZWNyZXRrZXltYXRlcmlhbDEyMzQ1Njc4\n-----END PRIVATE KEY-----"


@dataclass(frozen=True)
class Login:
    app: Flask
    login: str
    password: str
    home: str
    name: str


@pytest.fixture(params=["portal", "instance"])
def signed_up(request: pytest.FixtureRequest, make_portal: Any, make_instance: Any) -> Login:
    """A user who can sign in to the app (portal: a customer; instance: an administrator)."""
    if request.param == "portal":
        from portal import views as portal_views
        from portal.models import db as portal_db
        from portal.setup import DEMO_CUSTOMER, create_account

        app = make_portal()
        with app.app_context():
            account = create_account(
                DEMO_CUSTOMER.email,
                "Casey Customer",
                DEMO_CUSTOMER.password,
                DEMO_CUSTOMER.role,
                app,
            )
            portal_db.session.commit()
            home = _home(app, portal_views.home_endpoint(account))
        return Login(app, DEMO_CUSTOMER.email, DEMO_CUSTOMER.password, home, "Casey Customer")
    from instance import views as instance_views
    from instance.models import db as instance_db
    from tests.instance.conftest import ADMINISTRATOR, new_user

    app = make_instance()
    with app.app_context():
        admin = new_user(app, **ADMINISTRATOR)
        instance_db.session.commit()
        home = _home(app, instance_views.home_endpoint(admin))
    return Login(app, "root", "admin-demo-password", home, "Administrator")


def _home(app: Flask, endpoint: str) -> str:
    from flask import url_for

    with app.test_request_context():
        return url_for(endpoint)


_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


def csrf_token(client: FlaskClient, path: str = "/users/sign_in") -> str:
    page = client.get(path).get_data(as_text=True)
    match = _CSRF.search(page)
    assert match, f"no csrf_token field on {path}"
    return match.group(1) or match.group(2)


def sign_in(client: FlaskClient, login: str, password: str, query: str = "") -> Any:
    token = csrf_token(client)
    return client.post(
        f"/users/sign_in{query}", data={"csrf_token": token, "login": login, "password": password}
    )


def is_signed_in(client: FlaskClient, who: Login) -> bool:
    response = client.get(who.home)
    return response.status_code == 200 and who.name in response.get_data(as_text=True)


# -- sign-in and sign-out --------------------------------------------------------------------------


def test_sign_in_with_the_right_password_opens_the_home_page(signed_up: Login) -> None:
    client = signed_up.app.test_client()
    response = sign_in(client, signed_up.login, signed_up.password)
    assert response.status_code == 302
    assert response.headers["Location"] == signed_up.home
    with client.session_transaction() as session:
        assert session["_user_id"]
    assert is_signed_in(client, signed_up)


def test_sign_in_ignores_the_case_of_the_login(signed_up: Login) -> None:
    client = signed_up.app.test_client()
    assert sign_in(client, signed_up.login.upper(), signed_up.password).status_code == 302


@pytest.mark.parametrize("which", ["wrong-password", "unknown-login", "empty-password"])
def test_sign_in_with_wrong_credentials_is_401_and_signs_nobody_in(
    signed_up: Login, which: str
) -> None:
    client = signed_up.app.test_client()
    login, password = {
        "wrong-password": (signed_up.login, "not-the-password"),
        "unknown-login": ("nobody@example.com", signed_up.password),
        "empty-password": (signed_up.login, ""),
    }[which]
    response = sign_in(client, login, password)
    if which == "empty-password":  # the form itself is invalid: shown again
        assert response.status_code == 200
    else:
        assert response.status_code == 401
        assert "Invalid login or password." in response.get_data(as_text=True)
    with client.session_transaction() as session:
        assert "_user_id" not in session
    assert not is_signed_in(client, signed_up)
    assert client.get(signed_up.home).status_code == 302  # sent to sign in


def test_blocked_instance_user_cannot_sign_in(make_instance: Any) -> None:
    from tests.instance.conftest import instance_with_user

    app = instance_with_user(
        make_instance,
        username="blocked",
        email="b@example.com",
        name="Blocked",
        password="blocked-password",
        state="blocked",
    )
    client = app.test_client()
    assert sign_in(client, "blocked", "blocked-password").status_code == 401
    assert client.get("/dashboard").status_code == 302


def test_sign_out_needs_post_with_a_csrf_token(signed_up: Login) -> None:
    client = signed_up.app.test_client()
    sign_in(client, signed_up.login, signed_up.password)

    assert client.get("/users/sign_out").status_code == 405
    assert client.post("/users/sign_out").status_code == 400
    assert client.post("/users/sign_out", data={"csrf_token": "forged"}).status_code == 400
    assert is_signed_in(client, signed_up)

    response = client.post(
        "/users/sign_out", data={"csrf_token": csrf_token(client, signed_up.home)}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/users/sign_in"
    assert not is_signed_in(client, signed_up)


def test_sign_in_without_a_csrf_token_is_refused(signed_up: Login) -> None:
    client = signed_up.app.test_client()
    response = client.post(
        "/users/sign_in", data={"login": signed_up.login, "password": signed_up.password}
    )
    assert response.status_code == 400
    assert not is_signed_in(client, signed_up)


def _post_form_paths(app: Flask) -> list[str]:
    paths = []
    for rule in app.url_map.iter_rules():
        if "POST" not in (rule.methods or set()) or rule.rule.startswith(
            ("/-/", "/api/", "/static")
        ):
            continue
        if rule.rule == "/oauth/token":  # an OAuth client's call, authenticated by its secret
            continue
        paths.append(re.sub(r"<(?:[^:>]+:)?[^>]+>", "1", rule.rule))
    return sorted(paths)


def test_every_post_form_without_a_csrf_token_is_refused(signed_up: Login) -> None:
    client = signed_up.app.test_client()
    sign_in(client, signed_up.login, signed_up.password)
    paths = _post_form_paths(signed_up.app)
    assert "/users/sign_in" in paths and "/users/sign_out" in paths
    refused = {path: client.post(path, data={"anything": "x"}).status_code for path in paths}
    assert refused == dict.fromkeys(paths, 400)
    assert is_signed_in(client, signed_up)


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example",
        "\\\\evil.example",
        "/\t/evil.example",
        "javascript:alert(1)",
        "http:/evil.example",
        "evil.example",
    ],
)
def test_sign_in_refuses_an_open_redirect_in_next(signed_up: Login, target: str) -> None:
    from urllib.parse import quote

    client = signed_up.app.test_client()
    response = sign_in(client, signed_up.login, signed_up.password, f"?next={quote(target)}")
    assert response.status_code == 302
    assert response.headers["Location"] == signed_up.home


def test_sign_in_follows_a_local_next_path(signed_up: Login) -> None:
    client = signed_up.app.test_client()
    response = sign_in(client, signed_up.login, signed_up.password, "?next=/-/health%3Fx%3D1")
    assert response.headers["Location"] == "/-/health?x=1"


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


def test_roles_required_sends_anonymous_users_to_sign_in_and_refuses_other_roles(
    make_portal: Any,
) -> None:
    from portal.models import db
    from portal.setup import DEMO_CUSTOMER, DEMO_SUPPORT, create_account
    from webcore.auth import roles_required

    app = make_portal()

    @app.get("/test/support-only")
    @roles_required("support")
    def support_only() -> str:
        return "support console"

    with app.app_context():
        for login in (DEMO_CUSTOMER, DEMO_SUPPORT):
            create_account(login.email, login.role.title(), login.password, login.role, app)
        db.session.commit()

    anonymous = app.test_client()
    response = anonymous.get("/test/support-only")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/users/sign_in?next=/test/support-only")

    customer = app.test_client()
    sign_in(customer, DEMO_CUSTOMER.email, DEMO_CUSTOMER.password)
    assert customer.get("/test/support-only").status_code == 403

    support = app.test_client()
    signed = sign_in(support, DEMO_SUPPORT.email, DEMO_SUPPORT.password, "?next=/test/support-only")
    assert signed.headers["Location"] == "/test/support-only"
    assert support.get("/test/support-only").get_data(as_text=True) == "support console"


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


def test_a_user_without_a_password_cannot_sign_in_and_gets_a_clear_401(make_instance: Any) -> None:
    from tests.instance.conftest import instance_with_user

    app = instance_with_user(
        make_instance,
        username="support-bot",
        email="bot@example.com",
        name="Support Bot",
        bot_type="support_bot",
    )
    client = app.test_client()
    response = sign_in(client, "support-bot", "anything")
    assert response.status_code == 401
    assert "Invalid login or password." in response.get_data(as_text=True)


def test_an_unknown_login_costs_a_password_check_too(
    signed_up: Login, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Answering an unknown login faster than a wrong password would tell who has an account.
    checks = count_password_checks(monkeypatch)
    client = signed_up.app.test_client()
    assert sign_in(client, "nobody@example.com", "guess-1").status_code == 401
    assert sign_in(client, signed_up.login, "guess-2").status_code == 401
    assert checks == ["guess-1", "guess-2"]
