"""First-start work for the instance: database, secrets, own key, identity, jobs, demo data."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import dataclass

import sqlalchemy as sa
from flask import Flask

from instance import MIGRATIONS
from instance.gitlab_com.memberships import next_expired_members_run
from instance.identity import ensure_identity, load_instance_key, next_sync_slot
from instance.models import AccessLevel, User, UserState, db
from instance.sync import activate_from_environment, sync_status
from instance.tokens import create_token
from instance.users import create_user
from webcore.app import store_session_secret
from webcore.clock import app_clock
from webcore.db import upgrade_to_head
from webcore.nonces import next_midnight
from webcore.transaction import unit_of_work


def prepare(app: Flask, *, environ: Mapping[str, str] | None = None) -> None:
    """Bring the database to head, store a session secret, load the key, plan the periodic jobs
    of the offering; activate from ``GITLAB_ACTIVATION_CODE`` when it is set (install-time
    activation) and the instance has no license yet.

    Self-managed plans the daily sync and the seat clean-up. GitLab.com plans its own seat
    clean-up (blocked, banned and deactivated members' group seats, R29) and the pruning of the
    portal's push nonces, and no daily sync: it is provisioned by the portal's pushes and has no
    license to sync (a sync planned by an earlier start is cancelled)."""
    upgrade_to_head(app, db, MIGRATIONS)
    store_session_secret(app)
    load_instance_key(app)
    with unit_of_work(app):
        now = app_clock(app).now()
        identity = ensure_identity(now)
        jobs = app.extensions["jobs"]
        if app.config.get("GITLAB_COM"):
            jobs.cancel("daily_sync")
            jobs.ensure("prune_received_nonces", next_midnight(now))
            jobs.ensure("remove_expired_members", next_expired_members_run(now))
        else:
            jobs.ensure("daily_sync", next_sync_slot(identity.sync_minute, now))
        jobs.ensure("seat_cleanup", _next_clean_up(now))
        sync_status()
    environment = os.environ if environ is None else environ
    code = app.config.get("GITLAB_ACTIVATION_CODE") or environment.get("GITLAB_ACTIVATION_CODE")
    if code:
        activate_from_environment(app, code)


def _next_clean_up(now: dt.datetime) -> dt.datetime:
    """The next 00:30 or 12:30 UTC."""
    slot = now.replace(minute=30, second=0, microsecond=0)
    slot = slot.replace(hour=0 if now.hour < 12 else 12)
    while slot <= now:
        slot += dt.timedelta(hours=12)
    return slot


@dataclass(frozen=True)
class DemoAdmin:
    username: str
    password: str
    token: str


DEMO_ADMIN_USERNAME = "root"
DEMO_ADMIN_PASSWORD = "admin-demo-password"


def seed_demo(app: Flask) -> DemoAdmin:
    """The demo administrator (idempotent) and a fresh personal access token for this start.

    Only a token's digest is stored, so an earlier start's token cannot be shown again.
    """
    with unit_of_work(app):
        admin = db.find(User, User.username == DEMO_ADMIN_USERNAME)
        if admin is None:
            admin = create_user(
                username=DEMO_ADMIN_USERNAME,
                now=app_clock(app).now(),
                email="admin@example.com",
                name="Administrator",
                password=DEMO_ADMIN_PASSWORD,
                admin=True,
                highest_access_level=AccessLevel.OWNER,
            )
        _seed_demo_users(app)
        token = create_token(admin, "provlab up", ["api"], app_clock(app).now())
    return DemoAdmin(DEMO_ADMIN_USERNAME, DEMO_ADMIN_PASSWORD, token)


DEMO_USER_PASSWORD = "user-demo-password"
# (username, name, highest role, state, bot type): humans with roles, a guest, a blocked and a
# deactivated user, a service account (billable) and GitLab's own bots (never billable, R30).
DEMO_USERS = [
    ("alice", "Alice Developer", AccessLevel.DEVELOPER, UserState.ACTIVE, None),
    ("bob", "Bob Maintainer", AccessLevel.MAINTAINER, UserState.ACTIVE, None),
    ("carol", "Carol Owner", AccessLevel.OWNER, UserState.ACTIVE, None),
    ("dave", "Dave Reporter", AccessLevel.REPORTER, UserState.ACTIVE, None),
    ("erin", "Erin Newcomer", AccessLevel.NONE, UserState.ACTIVE, None),
    ("gwen", "Gwen Guest", AccessLevel.GUEST, UserState.ACTIVE, None),
    ("blake", "Blake Blocked", AccessLevel.DEVELOPER, UserState.BLOCKED, None),
    ("dora", "Dora Deactivated", AccessLevel.DEVELOPER, UserState.DEACTIVATED, None),
    (
        "ci_service_account",
        "CI service account",
        AccessLevel.DEVELOPER,
        UserState.ACTIVE,
        "service_account",
    ),
    ("support-bot", "GitLab Support Bot", AccessLevel.NONE, UserState.ACTIVE, "support_bot"),
    ("alert-bot", "GitLab Alert Bot", AccessLevel.NONE, UserState.ACTIVE, "alert_bot"),
]


def _seed_demo_users(app: Flask) -> None:
    for username, name, level, state, bot_type in DEMO_USERS:
        exists = db.session.execute(
            sa.select(User.id).where(User.username == username)
        ).scalar_one_or_none()
        if exists is None:
            create_user(
                username=username,
                now=app_clock(app).now(),
                email=f"{username}@example.com",
                name=name,
                password=None if bot_type else DEMO_USER_PASSWORD,
                state=state,
                bot_type=bot_type,
                highest_access_level=level,
            )
