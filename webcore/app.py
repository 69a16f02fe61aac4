"""The common part of both app factories: configuration, paths, logs, clock, database, sign-in.

A factory wires; it never acts: no migrations, no key generation, no network here. Those happen in
each app's ``prepare`` step (run by ``provlab up`` and the tests).
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, render_template
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from protocol.clock import parse_utc
from webcore.clock import init_clock
from webcore.config import Setting, load_config, parse_bool, parse_choice
from webcore.db import Database, engine_options, init_db
from webcore.errors import init_error_handler, wants_json
from webcore.headers import init_security_headers
from webcore.health import make_health_blueprint
from webcore.job_declarations import JobRegistry
from webcore.jobs import JobScheduler
from webcore.keys import write_private_file
from webcore.params import (
    DEFAULT_MAX_CONTENT_LENGTH,
    init_request_limits,
    parse_int,
    too_large_message,
)
from webcore.requestlog import init_request_log
from webcore.simulation import blueprint as simulation_blueprint
from webcore.transaction import init_transaction
from webcore.ui import STATIC_URL_PATH, init_ui

log = logging.getLogger(__name__)


def common_settings(app_name: str) -> list[Setting]:
    return [
        Setting(
            "INSTANCE_PATH", f"var/{app_name}", "Folder for the app's database, keys and files."
        ),
        Setting(
            "DATABASE_URL",
            None,
            "SQLAlchemy URL; default a SQLite file in the instance path. "
            "PostgreSQL: postgresql+psycopg://user@host/db",
        ),
        Setting(
            "SECRET_KEY",
            None,
            "Session signing secret; default generated into the instance path.",
            secret=True,
        ),
        Setting(
            "CLOCK",
            "real",
            "'real' (UTC) or 'simulated' (moved only by the orchestrator).",
            parse=parse_choice("real", "simulated"),
        ),
        Setting(
            "SIMULATED_START", "2026-01-05T00:00:00Z", "Start of simulated time.", parse=_utc_text
        ),
        Setting("SIMULATION_TOKEN", None, "Bearer token for /-/simulation endpoints.", secret=True),
        Setting(
            "RUN_WORKER",
            False,
            "Run due jobs in a background thread (real time).",
            parse=parse_bool,
        ),
        Setting("LOG_LEVEL", "INFO", "Log level of the app's loggers.", parse=_log_level),
        Setting(
            "SECURE_COOKIES",
            False,
            "Send the session cookie only over https (turn on behind https; loopback http "
            "needs it off).",
            parse=parse_bool,
        ),
        Setting(
            "MAX_CONTENT_LENGTH",
            DEFAULT_MAX_CONTENT_LENGTH,
            "Largest request body accepted, in bytes; larger ones are answered 413.",
            parse=_positive_int,
        ),
        Setting(
            "PASSWORD_HASH_METHOD",
            "scrypt",
            "Werkzeug password hash method; tests and scenarios use a cheap one.",
        ),
    ]


def _utc_text(value: str) -> str:
    parse_utc(value)  # refuse a bad start at configuration time, naming the variable
    return value.strip()


def _positive_int(value: str) -> int:
    return parse_int(value, minimum=1)  # InvalidNumber is a ValueError: named by load_config


def _log_level(value: str) -> str:
    level = value.strip().upper()
    if level not in logging.getLevelNamesMapping():
        raise ValueError(f"expected a log level such as INFO or DEBUG, got {value!r}")
    return level


def build_app(
    import_name: str,
    app_name: str,
    prefix: str,
    settings: Sequence[Setting],
    config: Mapping[str, Any] | None,
    environ: Mapping[str, str] | None,
) -> Flask:
    values = load_config(
        prefix, settings, environ=os.environ if environ is None else environ, overrides=config
    )
    instance_path = Path(values["INSTANCE_PATH"]).resolve()
    app = Flask(import_name, instance_path=str(instance_path))
    app.name = app_name
    app.config.update(values)
    url = values["DATABASE_URL"] or f"sqlite:///{instance_path / (app_name + '.db')}"
    app.config["DATABASE_URL"] = url
    app.config["SQLALCHEMY_DATABASE_URI"] = url
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(url)
    app.config["SECRET_KEY"] = values["SECRET_KEY"] or _stored_secret(instance_path)
    app.config["SECRET_KEY_CONFIGURED"] = bool(values["SECRET_KEY"])
    # Set, not setdefault: Flask's defaults already hold these keys (SameSite None).
    for cookie in ("SESSION", "REMEMBER"):
        app.config[f"{cookie}_COOKIE_SAMESITE"] = "Lax"
        app.config[f"{cookie}_COOKIE_HTTPONLY"] = True
        app.config[f"{cookie}_COOKIE_SECURE"] = values["SECURE_COOKIES"]
    app.config["SESSION_COOKIE_NAME"] = f"{app_name}_session"
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    logging.getLogger(f"provlab.{app_name}").setLevel(values["LOG_LEVEL"])
    # The shared layout, sign-in and error pages; an app's own templates take precedence.
    app.register_blueprint(
        Blueprint(
            "webcore",
            __name__,
            template_folder="templates",
            static_folder="static",
            static_url_path=STATIC_URL_PATH,
        )
    )
    init_request_limits(app)
    init_request_log(app)
    init_security_headers(app)
    init_clock(app)
    init_ui(app)
    _register_error_pages(app)
    return app


def init_data_layer(
    app: Flask, db: Database, job_model: type[Any], registry: JobRegistry
) -> JobScheduler:
    """Bind the database (one transaction per request), health check, job scheduler and
    simulation endpoints to ``app``."""
    from webcore.clock import app_clock

    init_db(app, db)
    init_transaction(app, db)
    scheduler = JobScheduler(app.name, db, job_model, registry, lambda: app_clock(app))
    app.extensions["jobs"] = scheduler
    app.register_blueprint(make_health_blueprint(db))
    app.register_blueprint(simulation_blueprint)
    from webcore.auth import csrf

    csrf.exempt(simulation_blueprint)
    return scheduler


def secret_path(instance_path: Path) -> Path:
    return instance_path / "secret_key"


def store_session_secret(app: Flask) -> None:
    """First start: keep a session secret in the instance path so sessions survive restarts.

    A configured SECRET_KEY wins and nothing is written; two workers starting together both end
    up with the one file that was written first.
    """
    if app.config.get("SECRET_KEY_CONFIGURED"):
        return
    path = secret_path(Path(app.instance_path))
    try:
        write_private_file(path, secrets.token_hex(32).encode())
    except FileExistsError:
        pass  # an earlier start, or a worker starting beside us, wrote it
    app.config["SECRET_KEY"] = path.read_text().strip()


def _stored_secret(instance_path: Path) -> str:
    path = secret_path(instance_path)
    if path.exists():
        return path.read_text().strip()
    # Not written here (factories never act): ``prepare`` stores one. Until then sessions last
    # as long as the process.
    return secrets.token_hex(32)


def _register_error_pages(app: Flask) -> None:
    init_error_handler(app)  # refusals: flash and redirect for pages, JSON for APIs

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> ResponseReturnValue:
        if isinstance(error, RequestEntityTooLarge):
            error.description = too_large_message(app)
        if wants_json():
            return {"error": error.description, "status": error.code}, error.code or 500
        return render_template("error.html", error=error), error.code or 500
