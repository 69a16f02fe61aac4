"""A diagnostics bundle: what support needs to know about this instance, and no secret.

An administrator exports it (Admin → Subscription, or the command line) and hands it to support,
who read it with ``provlab doctor trial --bundle FILE`` without access to the instance. It never
contains the license token, keys, tokens, passwords, or proxy credentials.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from flask import Flask

from protocol.clock import format_utc

BUNDLE_FORMAT = "provlab-instance-diagnostics/1"
PROXY_VARIABLES = ("HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY", "https_proxy", "http_proxy", "no_proxy")


def _without_credentials(url: str) -> str:
    parts = urlsplit(url)
    if parts.username or parts.password:
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return url


def proxy_settings(environ: dict[str, str] | None = None) -> dict[str, str]:
    """The proxy variables the instance's outbound calls honour (R16), credentials removed."""
    source = os.environ if environ is None else environ
    return {
        name: _without_credentials(source[name]) for name in PROXY_VARIABLES if source.get(name)
    }


def diagnostics_bundle(
    app: Flask, *, running: bool = True, username: str | None = None
) -> dict[str, Any]:
    """Collect the bundle; call inside an app context.

    ``running`` says that ``app`` is the instance's serving process (the admin route), so its
    configuration is the running instance's. Exported by another process over the same database
    (``provlab instance diagnostics``), only what the instance stored is the instance's: the
    version it ran at its last sync attempt, never the exporter's own configured version, and no
    hostname, portal URL or proxy variables (those of the exporting shell mean nothing).

    ``username`` adds that user's part (``instance.diagnostics_user``), for the seat doctor.
    """
    from instance.add_ons import assigned_count, duo_availability, duo_purchase
    from instance.diagnostics_user import user_diagnostics
    from instance.identity import identity
    from instance.licenses import current_license, license_history
    from instance.models import SyncStatus, db
    from instance.sync import sync_report
    from instance.users import billable_user_count
    from webcore.clock import app_clock

    now = app_clock(app).now()
    license_row = current_license()
    purchase = duo_purchase()
    report = sync_report()

    def when(value: Any) -> str | None:
        return format_utc(value) if value is not None else None

    if running:
        version: str | None = app.config["GITLAB_VERSION"]
        version_at: dt.datetime | None = now
        version_source = "running instance"
        settings: dict[str, Any] = {
            "hostname": app.config["HOSTNAME"],
            "portal_url": app.config["PORTAL_URL"],
            "proxy": proxy_settings(),
        }
    else:
        status = db.find(SyncStatus)
        version = status.gitlab_version if status else None
        version_at = status.gitlab_version_at if status else None
        version_source = "last sync attempt" if version else "unknown"
        settings = {"hostname": None, "portal_url": None, "proxy": None}
    availability = duo_availability(now, version) if version else None

    bundle: dict[str, Any] = {
        "format": BUNDLE_FORMAT,
        "generated_at": format_utc(now),
        "instance": {
            "instance_id": identity().instance_id,
            "gitlab_version": version,
            "gitlab_version_source": version_source,
            "gitlab_version_at": when(version_at),
            **settings,
        },
        "license": None
        if license_row is None
        else {
            "license_id": license_row.license_id,
            "type": license_row.license_type,
            "plan": license_row.plan,
            "seats": license_row.seats,
            "starts_on": license_row.starts_on.isoformat(),
            "ends_on": license_row.ends_on.isoformat(),
            "trial": license_row.trial,
            "subscription_name": license_row.subscription_name,
            "activated_at": when(license_row.activated_at),
            "uploaded_at": when(license_row.uploaded_at),
        },
        "license_history": [
            {
                "license_id": row.license_id,
                "type": row.license_type,
                "created_at": when(row.created_at),
            }
            for row in license_history()
        ],
        "sync": {
            "last_success_at": when(report.last_success_at),
            "last_attempt_at": when(report.last_attempt_at),
            "last_error": report.last_error,
            "next_sync_at": when(report.next_sync_at),
        },
        "duo": {
            "available": availability.available if availability else None,
            "reason": availability.reason if availability else "GitLab version unknown",
            "warning": availability.warning if availability else None,
            "purchase": None
            if purchase is None
            else {
                "tier": purchase.tier,
                "quantity": purchase.quantity,
                "starts_on": purchase.starts_on.isoformat(),
                "ends_on": purchase.ends_on.isoformat(),
                "trial": purchase.trial,
                "purchase_id": purchase.purchase_id,
                "assigned_seats": assigned_count(purchase),
            },
        },
        "billable_users": billable_user_count(),
    }
    if username:
        bundle["user"] = user_diagnostics(username)
    return bundle
