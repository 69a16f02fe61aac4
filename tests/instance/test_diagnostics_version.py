"""The diagnostics bundle's GitLab version is the instance's own: live from the serving process,
or, exported by another process from the database, what the instance ran at its last sync."""

from __future__ import annotations

import datetime as dt

from flask import Flask

from instance.diagnostics import diagnostics_bundle
from instance.models import db
from instance.sync import SyncFailed, record_failure


def test_serving_process_reports_its_running_version(app: Flask) -> None:
    app.config["GITLAB_VERSION"] = "16.7.0"
    with app.app_context():
        about = diagnostics_bundle(app)["instance"]
    assert (about["gitlab_version"], about["gitlab_version_source"]) == (
        "16.7.0",
        "running instance",
    )


def test_exported_bundle_never_reports_the_exporters_configured_version(app: Flask) -> None:
    with app.app_context():
        bundle = diagnostics_bundle(app, running=False)
    assert bundle["instance"]["gitlab_version"] is None
    assert bundle["instance"]["gitlab_version_source"] == "unknown"
    assert bundle["duo"]["reason"] == "GitLab version unknown"


def test_a_sync_attempt_records_the_version_the_instance_ran(app: Flask) -> None:
    attempted = dt.datetime(2026, 3, 3, 3, 41, tzinfo=dt.UTC)
    app.config["GITLAB_VERSION"] = "16.7.0"
    with app.app_context():
        record_failure(attempted, SyncFailed("connectivity", "proxy refused"))
        db.session.commit()
    app.config["GITLAB_VERSION"] = "17.5.0-ee"  # now a different process's configuration
    with app.app_context():
        about = diagnostics_bundle(app, running=False)["instance"]
    assert about["gitlab_version"] == "16.7.0"
    assert about["gitlab_version_source"] == "last sync attempt"
    assert about["gitlab_version_at"] == "2026-03-03T03:41:00Z"
