"""The instance's tables. Feature tables join this module as the features arrive."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask_login import UserMixin
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, registry, relationship

from webcore.db import NAMING_CONVENTION, TYPE_ANNOTATION_MAP
from webcore.jobs import JobMixin


class Base(DeclarativeBase):
    registry = registry(
        metadata=sa.MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map=TYPE_ANNOTATION_MAP,
    )


db = SQLAlchemy(model_class=Base)


class UserState:
    ACTIVE = "active"
    BLOCKED = "blocked"
    BANNED = "banned"
    DEACTIVATED = "deactivated"
    ALL = (ACTIVE, BLOCKED, BANNED, DEACTIVATED)


class AccessLevel:
    """GitLab's access levels; a user's highest role across groups and projects."""

    NONE = 0
    GUEST = 10
    REPORTER = 20
    DEVELOPER = 30
    MAINTAINER = 40
    OWNER = 50
    NAMES = {NONE: "No access", GUEST: "Guest", REPORTER: "Reporter", DEVELOPER: "Developer",
             MAINTAINER: "Maintainer", OWNER: "Owner"}


class User(UserMixin, db.Model):  # type: ignore[name-defined,misc]
    """A user of the self-managed GitLab instance."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(255), unique=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(255))
    password_hash: Mapped[str | None] = mapped_column(sa.String(300))
    admin: Mapped[bool] = mapped_column(default=False)
    state: Mapped[str] = mapped_column(sa.String(20), default=UserState.ACTIVE)
    # None for humans; "service_account" for service bots (billable); GitLab's own bots are
    # "support_bot", "alert_bot", ... (never billable, R30).
    bot_type: Mapped[str | None] = mapped_column(sa.String(40))
    highest_access_level: Mapped[int] = mapped_column(default=AccessLevel.NONE)
    created_at: Mapped[dt.datetime]
    last_sign_in_at: Mapped[dt.datetime | None]

    @property
    def display_name(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:  # Flask-Login: only active users may sign in
        return self.state == UserState.ACTIVE

    @property
    def role(self) -> str:
        return "admin" if self.admin else "user"


class PersonalAccessToken(db.Model):  # type: ignore[name-defined,misc]
    """A personal access token; only its SHA-256 digest is stored."""

    __tablename__ = "personal_access_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(255))
    token_digest: Mapped[str] = mapped_column(sa.String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(sa.JSON)
    created_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime | None]
    revoked: Mapped[bool] = mapped_column(default=False)

    user: Mapped[User] = relationship()


class InstanceIdentity(db.Model):  # type: ignore[name-defined,misc]
    """Who this instance is to the portal: a stable id and its daily sync slot (single row)."""

    __tablename__ = "instance_identity"

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[str] = mapped_column(sa.String(36), unique=True)
    # Minutes after 03:00 UTC (0..119): the real product syncs at a random minute 03:00-04:59.
    sync_minute: Mapped[int]
    created_at: Mapped[dt.datetime]


class Job(JobMixin, db.Model):  # type: ignore[name-defined,misc]
    """The instance's scheduled work (see webcore.jobs)."""
