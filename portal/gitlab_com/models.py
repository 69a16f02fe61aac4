"""The link between a subscription and the GitLab.com top-level group it belongs to."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models import Subscription, db


class NamespaceLink(db.Model):  # type: ignore[name-defined]
    """A subscription for a GitLab.com top-level group (one each way), what was last pushed to
    GitLab.com and the seat usage it reported back (R31, R32), and the trial it replaced."""

    __tablename__ = "namespace_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(sa.ForeignKey("subscriptions.id"), unique=True)
    namespace_id: Mapped[int] = mapped_column(unique=True)  # the group's id on GitLab.com
    namespace_path: Mapped[str] = mapped_column(sa.String(255))
    linked_at: Mapped[dt.datetime]
    # The last push GitLab.com accepted, and the usage it answered with.
    last_provisioned_at: Mapped[dt.datetime | None]
    seats_in_use: Mapped[int | None]
    max_seats_used: Mapped[int | None]
    # GitLab.com's refusal of the last push (an unknown group, a subgroup), shown to support;
    # a push that could not get through is retried from the job table instead.
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    # The group's Ultimate trial that a purchase replaced (``namespaces``): the group had its
    # trial, and a GitLab Duo trial started on it runs on to its own end (``provisioning``).
    trial_subscription_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("subscriptions.id"), unique=True
    )

    subscription: Mapped[Subscription] = relationship(foreign_keys=[subscription_id])
    trial: Mapped[Subscription | None] = relationship(foreign_keys=[trial_subscription_id])


class GitlabComIdentity(db.Model):  # type: ignore[name-defined]
    """A portal account's linked GitLab.com account (one each way) and its OAuth tokens, kept
    encrypted (``portal.gitlab_com.oauth_client``): the portal lists that account's groups."""

    __tablename__ = "gitlab_com_identities"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(
        sa.ForeignKey("accounts.id", ondelete="CASCADE"), unique=True
    )
    gitlab_user_id: Mapped[int] = mapped_column(unique=True)  # the user's id on GitLab.com
    gitlab_username: Mapped[str] = mapped_column(sa.String(255))
    access_token_sealed: Mapped[str] = mapped_column(sa.Text)
    refresh_token_sealed: Mapped[str | None] = mapped_column(sa.Text)
    linked_at: Mapped[dt.datetime]
