"""The instance's tables. Feature tables join this module as the features arrive."""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webcore.auth import SessionUserMixin
from webcore.db import new_database
from webcore.job_declarations import JobMixin
from webcore.lockout import SignInLockoutMixin

db = new_database()


class UserState(enum.StrEnum):
    ACTIVE = "active"
    BLOCKED = "blocked"
    BANNED = "banned"
    DEACTIVATED = "deactivated"


class AccessLevel:
    """GitLab's access levels; a user's highest role across groups and projects."""

    NONE = 0
    GUEST = 10
    REPORTER = 20
    DEVELOPER = 30
    MAINTAINER = 40
    OWNER = 50
    NAMES = {
        NONE: "No access",
        GUEST: "Guest",
        REPORTER: "Reporter",
        DEVELOPER: "Developer",
        MAINTAINER: "Maintainer",
        OWNER: "Owner",
    }


class User(SessionUserMixin, db.Model):  # type: ignore[name-defined]
    """A user of the self-managed GitLab instance."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(255), unique=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(255))
    password_hash: Mapped[str | None] = mapped_column(sa.String(300))
    admin: Mapped[bool] = mapped_column(default=False)
    state: Mapped[str] = mapped_column(sa.String(20), default=UserState.ACTIVE.value)
    # None for humans; "service_account" for service bots (billable); GitLab's own bots are
    # "support_bot", "alert_bot", ... (never billable, R30).
    bot_type: Mapped[str | None] = mapped_column(sa.String(40))
    highest_access_level: Mapped[int] = mapped_column(default=AccessLevel.NONE)
    created_at: Mapped[dt.datetime]
    last_sign_in_at: Mapped[dt.datetime | None]
    # The last Code Suggestions request (R28 orders overage removal by it).
    code_suggestions_last_used_at: Mapped[dt.datetime | None]

    @property
    def display_name(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:  # Flask-Login: only active users may sign in
        return self.state == UserState.ACTIVE

    @property
    def role(self) -> str:
        return "admin" if self.admin else "user"


class PersonalAccessToken(db.Model):  # type: ignore[name-defined]
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
    # The token this one replaced when it was rotated: a chain of them is GitLab's token family.
    previous_personal_access_token_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey(
            "personal_access_tokens.id",
            ondelete="SET NULL",
            name="fk_personal_access_tokens_previous",  # the convention's name is too long
        ),
        index=True,
    )

    user: Mapped[User] = relationship()


class InstanceIdentity(db.Model):  # type: ignore[name-defined]
    """Who this instance is to the portal: a stable id and its daily sync slot (single row)."""

    __tablename__ = "instance_identity"

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[str] = mapped_column(sa.String(36), unique=True)
    # Minutes after 03:00 UTC (0..119): the real product syncs at a random minute 03:00-04:59.
    sync_minute: Mapped[int]
    created_at: Mapped[dt.datetime]


class License(db.Model):  # type: ignore[name-defined]
    """A license the instance received (activation, sync) or had uploaded; history is kept.

    ``token`` is the signed document itself; the other columns are its decoded fields, so that
    pages and rules need not verify it again. Exactly one row is ``current`` once licensed.
    """

    __tablename__ = "licenses"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(sa.Text)
    license_id: Mapped[str] = mapped_column(sa.String(100), index=True)
    license_type: Mapped[str] = mapped_column(sa.String(20))  # protocol.license.LicenseType
    plan: Mapped[str] = mapped_column(sa.String(20))
    seats: Mapped[int]
    starts_on: Mapped[dt.date]
    ends_on: Mapped[dt.date]
    trial: Mapped[bool] = mapped_column(default=False)
    subscription_name: Mapped[str] = mapped_column(sa.String(100))
    licensee_name: Mapped[str] = mapped_column(sa.String(255))
    licensee_email: Mapped[str] = mapped_column(sa.String(254))
    licensee_company: Mapped[str] = mapped_column(sa.String(255), default="")
    instance_id: Mapped[str | None] = mapped_column(sa.String(36))
    issued_at: Mapped[dt.datetime]
    # How it arrived: uploaded as a file, or activated/synced from the portal.
    uploaded_at: Mapped[dt.datetime | None]
    activated_at: Mapped[dt.datetime | None]
    current: Mapped[bool] = mapped_column(default=False, index=True)
    created_at: Mapped[dt.datetime]


class AddOnPurchase(db.Model):  # type: ignore[name-defined]
    """The instance's GitLab Duo add-on, provisioned from the license (one row per instance).

    Moving from Duo Pro to Duo Enterprise changes ``tier`` on this row, so seat assignments stay.
    An add-on missing from a fresh license is expired (``ends_on`` = yesterday), never deleted.
    """

    __tablename__ = "add_on_purchases"
    __table_args__ = (
        # One Duo purchase per instance (self-managed: no namespace) ...
        sa.Index(
            "uq_add_on_purchases_instance_add_on",
            "add_on",
            unique=True,
            sqlite_where=sa.text("namespace_id IS NULL"),
            postgresql_where=sa.text("namespace_id IS NULL"),
        ),
        # ... and on GitLab.com one per top-level group, as the real product's
        # ``subscription_add_on_purchases.namespace_id`` (null on self-managed).
        sa.UniqueConstraint("namespace_id", "add_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Always "duo": with the namespace, the key that makes "one Duo purchase" hold.
    add_on: Mapped[str] = mapped_column(sa.String(20), default="duo")
    namespace_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("namespaces.id", ondelete="CASCADE"), index=True
    )
    tier: Mapped[str] = mapped_column(sa.String(30))  # protocol.license.AddOnTier
    quantity: Mapped[int]
    starts_on: Mapped[dt.date]
    ends_on: Mapped[dt.date]
    trial: Mapped[bool] = mapped_column(default=False)
    purchase_id: Mapped[str] = mapped_column(sa.String(100))
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]

    def is_active_on(self, day: dt.date) -> bool:
        return self.starts_on <= day < self.ends_on


class UserAddOnAssignment(db.Model):  # type: ignore[name-defined]
    """A seat of the Duo add-on assigned to a user (R1, R26)."""

    __tablename__ = "user_add_on_assignments"
    __table_args__ = (sa.UniqueConstraint("user_id", "add_on_purchase_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    add_on_purchase_id: Mapped[int] = mapped_column(
        sa.ForeignKey("add_on_purchases.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[dt.datetime]

    user: Mapped[User] = relationship()
    add_on_purchase: Mapped[AddOnPurchase] = relationship()


class SyncStatus(db.Model):  # type: ignore[name-defined]
    """What the admin sees about syncing with the portal (single row)."""

    __tablename__ = "sync_status"

    id: Mapped[int] = mapped_column(primary_key=True)
    last_attempt_at: Mapped[dt.datetime | None]
    last_success_at: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    next_sync_at: Mapped[dt.datetime | None]
    # The GitLab version this instance ran at its last sync or activation attempt: the
    # diagnostics bundle exported from the database reports it, not the exporting process's.
    gitlab_version: Mapped[str | None] = mapped_column(sa.String(40))
    gitlab_version_at: Mapped[dt.datetime | None]


class BillableUserCount(db.Model):  # type: ignore[name-defined]
    """The billable user count recorded once a day (R30, R33)."""

    __tablename__ = "billable_user_counts"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[dt.date] = mapped_column(unique=True)
    count: Mapped[int]
    recorded_at: Mapped[dt.datetime]


class Job(JobMixin, db.Model):  # type: ignore[name-defined]
    """The instance's scheduled work (see webcore.jobs)."""


class SignInLockout(SignInLockoutMixin, db.Model):  # type: ignore[name-defined]
    """Failed sign-ins per user or unknown login (see webcore.lockout)."""


# GitLab.com's tables (groups, projects, members, a group's subscription) on the same metadata.
from instance import namespace_models as _namespace_models  # noqa: E402, F401
from instance import quota_models as _quota_models  # noqa: E402, F401 - compute minutes, storage
from instance.gitlab_com import oauth_models as _oauth_models  # noqa: E402, F401 - OAuth provider
