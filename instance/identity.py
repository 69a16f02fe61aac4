"""The instance's identity: its id, its daily sync slot, its own signing key."""

from __future__ import annotations

import datetime as dt
import secrets
import uuid

import sqlalchemy as sa
from flask import Flask, current_app

from instance.models import InstanceIdentity, db
from protocol.signing import SigningKey
from webcore.keys import app_signing_key

SYNC_WINDOW_START = dt.time(3, 0)
SYNC_WINDOW_MINUTES = 120  # 03:00 to 04:59 UTC


# Built once: read by every sync and clean-up (a statement costs more to build than to run).
_IDENTITY = sa.select(InstanceIdentity)


def identity() -> InstanceIdentity:
    found = db.session.execute(_IDENTITY).scalar_one_or_none()
    if found is None:
        raise LookupError("the instance has no identity yet: run its preparation step first")
    return found


def ensure_identity(now: dt.datetime) -> InstanceIdentity:
    """Create the identity on first start: a random id and a random minute in 03:00-04:59."""
    found = db.find(InstanceIdentity)
    if found is None:
        found = db.inserted(
            InstanceIdentity(
                instance_id=str(uuid.UUID(bytes=secrets.token_bytes(16), version=4)),
                sync_minute=secrets.randbelow(SYNC_WINDOW_MINUTES),
                created_at=now,
            )
        )
    return found


def next_sync_slot(sync_minute: int, after: dt.datetime) -> dt.datetime:
    """The first daily slot strictly after ``after``."""
    start = dt.datetime.combine(after.date(), SYNC_WINDOW_START, tzinfo=dt.UTC)
    slot = start + dt.timedelta(minutes=sync_minute)
    return slot if slot > after else slot + dt.timedelta(days=1)


def load_instance_key(app: Flask) -> SigningKey:
    """The instance's own key (generated on first start), cached on the app."""
    return app_signing_key(
        app, setting="KEY_FILE", file_name="instance.pem", extension="instance.key"
    )


def instance_key() -> SigningKey:
    return load_instance_key(current_app)
