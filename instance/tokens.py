"""Personal access tokens, as GitLab has them: shown once at creation, stored as a SHA-256
digest, with scopes, an expiry date and revocation.

A token is refused for what it is (unknown, expired, revoked: ``TokenRefused``) before its user
is looked at; the API answers the user's state (blocked, banned, deactivated) itself, with
GitLab's messages (``instance.api``).
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import secrets
from collections.abc import Sequence

import sqlalchemy as sa

from instance.models import PersonalAccessToken, User, db
from webcore.errors import Refusal

TOKEN_PREFIX = "glpat-"


class Scope(enum.StrEnum):
    """The scopes a personal access token of this instance can carry (GitLab's names)."""

    API = "api"
    READ_API = "read_api"
    READ_USER = "read_user"
    AI_FEATURES = "ai_features"
    # What the token and OAuth pages say of each scope; a nonmember, so iterating Scope gives
    # the scopes alone.
    LABELS = enum.nonmember(
        {
            API: "Grants complete read/write access to the API.",
            READ_API: "Grants read access to the API.",
            READ_USER: "Grants read-only access to your profile through the /user API endpoint.",
            AI_FEATURES: "Grants access to GitLab Duo related API endpoints.",
        }
    )


# GitLab's maximum (and default, when none is given) lifetime of a personal access token.
MAX_LIFETIME_DAYS = 365
# A rotated token's lifetime unless the rotation names an expiry (RotateService::EXPIRATION_PERIOD).
ROTATED_LIFETIME_DAYS = 7
ALREADY_REVOKED = "Token already revoked"
# GitLab's answers (``error_description``) for a token that was revoked, or has expired.
TOKEN_REVOKED = "Token was revoked. You have to re-authorize from the user."
TOKEN_EXPIRED = "Token is expired. You can either do re-authorization or token refresh."
MAX_NAME_LENGTH = 255


class TokenRefused(Refusal):
    """A presented token that authenticates nobody: ``code`` is ``unknown``, ``expired`` or
    ``revoked`` (GitLab answers each with its own 401 text)."""


class TokenInvalid(Refusal):
    """A token that cannot be created as asked; ``field`` names the parameter at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message, code=f"invalid_{field}")
        self.field = field


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def expiry_datetime(day: dt.date) -> dt.datetime:
    """A token with expiry date D stops working when D begins (UTC), as in GitLab."""
    return dt.datetime.combine(day, dt.time(0), tzinfo=dt.UTC)


def check_token_fields(
    name: str, scopes: Sequence[str], expires_on: dt.date | None, today: dt.date
) -> None:
    if not name.strip() or len(name) > MAX_NAME_LENGTH:
        raise TokenInvalid("name", "name is missing" if not name.strip() else "name is too long")
    if not scopes or not set(scopes) <= set(Scope):
        raise TokenInvalid("scopes", "scopes does not have a valid value")
    if expires_on is not None:
        latest = today + dt.timedelta(days=MAX_LIFETIME_DAYS)
        if expires_on <= today:
            raise TokenInvalid("expires_at", "must be in the future")
        if expires_on > latest:
            raise TokenInvalid("expires_at", f"must be before {latest.isoformat()}")


def issue_token(
    user: User,
    name: str,
    scopes: Sequence[str],
    now: dt.datetime,
    *,
    expires_on: dt.date | None = None,
    default_expiry: bool = True,
    previous: PersonalAccessToken | None = None,
) -> tuple[PersonalAccessToken, str]:
    """Create a token for ``user``; returns the row and the secret (the only time it is seen).

    Without ``expires_on`` the token expires after GitLab's maximum lifetime, unless
    ``default_expiry`` is off (the administrator's token ``provlab up`` prints). ``previous``:
    the token a rotation replaces with this one."""
    check_token_fields(name, scopes, expires_on, now.date())
    if expires_on is None and default_expiry:
        expires_on = now.date() + dt.timedelta(days=MAX_LIFETIME_DAYS)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(20)
    row = db.inserted(
        PersonalAccessToken(
            user_id=user.id,
            name=name.strip(),
            token_digest=_digest(secret),
            scopes=[Scope(scope).value for scope in dict.fromkeys(scopes)],
            created_at=now,
            expires_at=expiry_datetime(expires_on) if expires_on else None,
            revoked=False,
            previous_personal_access_token_id=previous.id if previous else None,
        )
    )
    return row, secret


def create_token(user: User, name: str, scopes: list[str], now: dt.datetime) -> str:
    """A token that does not expire (set-up and tests); see ``issue_token``."""
    return issue_token(user, name, scopes, now, default_expiry=False)[1]


def is_expired(token: PersonalAccessToken, now: dt.datetime) -> bool:
    return token.expires_at is not None and token.expires_at <= now


def is_active(token: PersonalAccessToken, now: dt.datetime) -> bool:
    return not token.revoked and not is_expired(token, now)


def find_token(secret: str) -> PersonalAccessToken | None:
    """The personal access token this secret is, whatever its state."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    return db.find(PersonalAccessToken, PersonalAccessToken.token_digest == _digest(secret))


def authenticate(secret: str, now: dt.datetime) -> PersonalAccessToken:
    """The token this secret is, if it may be used now; else ``TokenRefused``."""
    found = find_token(secret)
    if found is None:
        raise TokenRefused("401 Unauthorized", code="unknown")
    # Expiry first, as GitLab's AccessTokenValidationService checks it.
    if is_expired(found, now):
        raise TokenRefused(TOKEN_EXPIRED, code="expired")
    if found.revoked:
        raise TokenRefused(TOKEN_REVOKED, code="revoked")
    return found


def user_for_token(token: str, now: dt.datetime) -> User | None:
    """The active user a valid, unexpired, unrevoked token belongs to."""
    try:
        found = authenticate(token, now)
    except TokenRefused:
        return None
    return found.user if found.user.is_active else None


def tokens_of(user_id: int | None = None) -> sa.Select[tuple[PersonalAccessToken]]:
    query = sa.select(PersonalAccessToken).order_by(PersonalAccessToken.id)
    if user_id is not None:
        query = query.where(PersonalAccessToken.user_id == user_id)
    return query


def revoke(token: PersonalAccessToken) -> None:
    token.revoked = True
    db.session.flush()


def rotate(
    token: PersonalAccessToken, now: dt.datetime, *, expires_on: dt.date | None = None
) -> tuple[PersonalAccessToken, str]:
    """GitLab's ``PersonalAccessTokens::RotateService``: revoke ``token`` and issue its owner a
    token of the same name and scopes, expiring on ``expires_on`` or a week from today; the new
    row and its secret. A revoked token is not rotated (``Refusal`` "Token already revoked");
    an expired one is."""
    if token.revoked:
        raise Refusal(ALREADY_REVOKED, code="already_revoked")
    if expires_on is None:
        expires_on = now.date() + dt.timedelta(days=ROTATED_LIFETIME_DAYS)
    check_token_fields(token.name, token.scopes, expires_on, now.date())
    revoke(token)
    return issue_token(
        token.user, token.name, token.scopes, now, expires_on=expires_on, previous=token
    )


def revoke_token_family(token: PersonalAccessToken) -> None:
    """GitLab's ``RevokeTokenFamilyService``: revoke every token rotated from ``token``, however
    many rotations later (a family has one active token at most)."""
    family = (
        sa.select(PersonalAccessToken.id)
        .where(PersonalAccessToken.previous_personal_access_token_id == token.id)
        .cte("family", recursive=True)
    )
    family = family.union_all(
        sa.select(PersonalAccessToken.id).where(
            PersonalAccessToken.previous_personal_access_token_id == family.c.id
        )
    )
    db.session.execute(
        sa.update(PersonalAccessToken)
        .where(
            PersonalAccessToken.id.in_(sa.select(family.c.id)),
            PersonalAccessToken.revoked.is_(False),
        )
        .values(revoked=True)
        .execution_options(synchronize_session=False)
    )
