"""GitLab's OAuth 2 provider tables (Doorkeeper's): registered applications, the authorization
codes they are given (access grants) and the access tokens a code is exchanged for.

Secrets are stored as SHA-256 digests only (GitLab hashes Doorkeeper's secrets too): an
application's secret is shown once when it is registered, a code or token once when issued.
Registered on ``instance.models``' metadata (imported there).
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from instance.models import User, db


class OauthApplication(db.Model):  # type: ignore[name-defined]
    """An OAuth application: its client id (``uid``), secret, exact redirect URI and scopes."""

    __tablename__ = "oauth_applications"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(255))
    uid: Mapped[str] = mapped_column(sa.String(255), unique=True)
    secret_digest: Mapped[str] = mapped_column(sa.String(64))
    redirect_uri: Mapped[str] = mapped_column(sa.Text)
    scopes: Mapped[str] = mapped_column(sa.String(255))  # space-separated, as Doorkeeper keeps
    confidential: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime]


class IssuedToApplication:
    """What a code and a token share (Doorkeeper's columns): the user who authorized, the
    application it was issued to and for which scopes, the digest of the secret value, when it
    was issued and when it stopped counting."""

    id: Mapped[int] = mapped_column(primary_key=True)

    @declared_attr
    def resource_owner_id(cls) -> Mapped[int]:
        return mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)

    @declared_attr
    def application_id(cls) -> Mapped[int]:
        return mapped_column(sa.ForeignKey("oauth_applications.id", ondelete="CASCADE"), index=True)

    token_digest: Mapped[str] = mapped_column(sa.String(64), unique=True)
    scopes: Mapped[str] = mapped_column(sa.String(255))  # space-separated
    created_at: Mapped[dt.datetime]
    revoked_at: Mapped[dt.datetime | None]  # spent (a code), refreshed or revoked by the user


class OauthAccessGrant(IssuedToApplication, db.Model):  # type: ignore[name-defined]
    """An authorization code: single use, for one redirect URI, valid ten minutes."""

    __tablename__ = "oauth_access_grants"

    expires_in: Mapped[int]  # seconds
    redirect_uri: Mapped[str] = mapped_column(sa.Text)
    code_challenge: Mapped[str | None] = mapped_column(sa.String(128))
    code_challenge_method: Mapped[str | None] = mapped_column(sa.String(10))

    application: Mapped[OauthApplication] = relationship()


class OauthAccessToken(IssuedToApplication, db.Model):  # type: ignore[name-defined]
    """An access token (two hours, as GitLab's) and its refresh token, for a user and an app."""

    __tablename__ = "oauth_access_tokens"

    refresh_token_digest: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    expires_in: Mapped[int | None]  # seconds

    user: Mapped[User] = relationship()
    application: Mapped[OauthApplication] = relationship()

    @property
    def scope_list(self) -> list[str]:
        return self.scopes.split()

    def expires_at(self) -> dt.datetime | None:
        if self.expires_in is None:
            return None
        return self.created_at + dt.timedelta(seconds=self.expires_in)
