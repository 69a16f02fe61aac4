"""Shared fixtures: databases on SQLite and PostgreSQL, both apps, live servers, a real browser.

Every test that needs an app gets its own database, copied from a template migrated once per test
session (a file copy on SQLite, ``CREATE DATABASE … TEMPLATE`` on PostgreSQL). Tests thus commit
as the servers do, run real concurrent requests, and never see each other's data.

PostgreSQL (127.0.0.1:5432, trust auth) and Debian's chromium are optional locally: their tests
skip without them. CI sets PROVLAB_REQUIRE_POSTGRES=1 and PROVLAB_REQUIRE_BROWSER=1, which turn
those skips into failures.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from instance.models import AccessLevel
from portal.keys import published_keys
from provlab.liveserver import LiveServer
from tests.instance.conftest import add_user
from tests.support import databases

SIMULATED_START = "2026-03-02T00:00:00Z"
SIMULATION_TOKEN = "test-simulation-token"

BACKENDS = ("sqlite", "postgres")


def _required(variable: str) -> bool:
    return os.environ.get(variable, "").strip().lower() in {"1", "true", "yes"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Longest first: pytest-xdist hands tests to the workers in this order, and a multi-year
    # scenario handed out last would keep one core busy alone at the end of the run.
    items.sort(key=lambda item: item.get_closest_marker("long") is None)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Database tests run once per backend: those that take ``db_backend`` themselves or are
    marked ``all_backends``. Other tests that use an app run on SQLite, unless
    PROVLAB_TEST_ALL_BACKENDS=1 runs every one of them on PostgreSQL too."""
    if "db_backend" not in metafunc.fixturenames:
        return
    direct = "db_backend" in metafunc.definition._fixtureinfo.argnames
    marked = metafunc.definition.get_closest_marker("all_backends") is not None
    if direct or marked or _required("PROVLAB_TEST_ALL_BACKENDS"):
        metafunc.parametrize("db_backend", BACKENDS, indirect=True)


@pytest.fixture(scope="session")
def database_pool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[databases.Pool]:
    pool = databases.Pool(tmp_path_factory.mktemp("databases"))
    yield pool
    pool.close()


@pytest.fixture
def db_backend(request: pytest.FixtureRequest, database_pool: databases.Pool) -> str:
    backend: str = getattr(request, "param", "sqlite")
    if backend == "postgres" and not database_pool.postgres_available():
        message = f"PostgreSQL is not reachable at {databases.POSTGRES_ADMIN_URL}"
        if _required("PROVLAB_REQUIRE_POSTGRES"):
            pytest.fail(message + " (PROVLAB_REQUIRE_POSTGRES is set)")
        pytest.skip(message)
    return backend


_app_numbers = itertools.count()

AppMaker = Callable[..., Flask]


def _app_config(
    tmp_path: Path, name: str, url: str, clock: str, start: str, extra: dict[str, Any]
) -> dict[str, Any]:
    return {
        "INSTANCE_PATH": str(tmp_path / f"{name}-{next(_app_numbers)}"),
        "DATABASE_URL": url,
        "CLOCK": clock,
        "SIMULATED_START": start,
        "SIMULATION_TOKEN": SIMULATION_TOKEN,
        "TESTING": True,
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",  # scrypt's cost buys nothing in tests
        **extra,
    }


def _app_maker(
    app_name: str, tmp_path: Path, pool: databases.Pool, backend: str
) -> Iterator[AppMaker]:
    """Each call: a fresh database copied from the migrated template, and the app prepared."""
    import importlib

    create_app = importlib.import_module(app_name).create_app
    prepare = importlib.import_module(f"{app_name}.setup").prepare
    apps: list[Flask] = []
    urls: list[str] = []

    def make(*, clock: str = "simulated", start: str = SIMULATED_START, **config: Any) -> Flask:
        url = pool.new_database(app_name, backend)
        urls.append(url)
        app = create_app(_app_config(tmp_path, app_name, url, clock, start, config), environ={})
        prepare(app)
        apps.append(app)
        return app

    yield make
    _dispose(apps)
    for url in urls:
        pool.release(url)


@pytest.fixture
def make_portal(
    tmp_path: Path, database_pool: databases.Pool, db_backend: str
) -> Iterator[AppMaker]:
    yield from _app_maker("portal", tmp_path, database_pool, db_backend)


@pytest.fixture
def make_instance(
    tmp_path: Path, database_pool: databases.Pool, db_backend: str
) -> Iterator[AppMaker]:
    yield from _app_maker("instance", tmp_path, database_pool, db_backend)


def _dispose(apps: list[Flask]) -> None:
    for app in apps:
        with app.app_context():
            app.extensions["sqlalchemy"].session.remove()
            app.extensions["sqlalchemy"].engine.dispose()


@pytest.fixture
def portal_app(make_portal: AppMaker) -> Flask:
    return make_portal()


@pytest.fixture
def instance_app(make_instance: AppMaker) -> Flask:
    return make_instance()


# -- live servers ----------------------------------------------------------------------------------


@pytest.fixture
def live_server() -> Iterator[Callable[[Flask], LiveServer]]:
    servers: list[LiveServer] = []

    def serve(app: Flask) -> LiveServer:
        server = LiveServer(app).start()
        servers.append(server)
        return server

    yield serve
    for server in servers:
        server.stop()


@pytest.fixture
def http_pair(
    make_portal: AppMaker,
    make_instance: AppMaker,
    live_server: Callable[[Flask], LiveServer],
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[Flask, Flask]:
    """A portal and an instance talking to each other over HTTP on loopback, as in production:
    a real portal server, and an instance (its administrator "root" added) that trusts the
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


# -- browser ---------------------------------------------------------------------------------------

CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    return (
        os.environ.get("PROVLAB_CHROMIUM")
        or shutil.which("chromium")
        or shutil.which("chromium-browser")
    )


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    executable = chromium_path()
    if executable is None:
        message = "Debian's chromium is not installed (apt-get install chromium)"
        if _required("PROVLAB_REQUIRE_BROWSER"):
            pytest.fail(message + " (PROVLAB_REQUIRE_BROWSER is set)")
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
    yield browser
    browser.close()
    playwright.stop()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def unique_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def scalar(app: Flask, statement: Any) -> Any:
    with app.app_context():
        return app.extensions["sqlalchemy"].session.execute(statement).scalar()


__all__ = ["sa", "scalar", "unique_name"]
