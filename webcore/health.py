"""``GET /-/health``: the app is up and its database answers."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue
from flask_sqlalchemy import SQLAlchemy

from protocol.clock import format_utc
from webcore.clock import app_clock, is_simulated


def make_health_blueprint(db: SQLAlchemy) -> Blueprint:
    blueprint = Blueprint("health", __name__)

    @blueprint.get("/-/health")
    def health() -> ResponseReturnValue:
        try:
            db.session.execute(sa.text("SELECT 1"))
            database = "ok"
        except sa.exc.SQLAlchemyError:
            current_app.logger.exception("health check: database unreachable")
            database = "unreachable"
        body = {
            "status": "ok" if database == "ok" else "error",
            "app": current_app.name,
            "database": database,
            "clock": "simulated" if is_simulated() else "real",
            "now": format_utc(app_clock().now()),
        }
        return jsonify(body), 200 if database == "ok" else 503

    return blueprint
