"""Personal access tokens: shown once at creation, stored as a SHA-256 digest."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

import sqlalchemy as sa

from instance.models import PersonalAccessToken, User, db

TOKEN_PREFIX = "glpat-"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(user: User, name: str, scopes: list[str], now: dt.datetime) -> str:
    """Create a token for ``user`` and return its secret value (the only time it is seen)."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(20)
    db.session.add(
        PersonalAccessToken(
            user_id=user.id, name=name, token_digest=_digest(token), scopes=scopes, created_at=now
        )
    )
    db.session.flush()
    return token


def user_for_token(token: str, now: dt.datetime) -> User | None:
    """The active user a valid, unexpired, unrevoked token belongs to."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    found = db.session.execute(
        sa.select(PersonalAccessToken).where(PersonalAccessToken.token_digest == _digest(token))
    ).scalar_one_or_none()
    if found is None or found.revoked:
        return None
    if not hmac.compare_digest(found.token_digest, _digest(token)):
        return None
    if found.expires_at is not None and found.expires_at <= now:
        return None
    return found.user if found.user.is_active else None
