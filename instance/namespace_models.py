"""GitLab.com's tables: groups (namespaces), projects, memberships, a group's subscription.

The instance app runs as GitLab.com when ``GITLAB_COM`` is set (see ``instance.gitlab_com``).
These tables exist in every instance database, as in the real product's one schema, and stay
empty on self-managed. They are registered on ``instance.models``' metadata (imported there).
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from instance.models import User, db


class Routable:
    """What GitLab routes a group or a project by (its ``Routable`` concern): a name, the path
    segment, and the full path from the top-level group down, unique in its table."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(255))
    path: Mapped[str] = mapped_column(sa.String(255))
    full_path: Mapped[str] = mapped_column(sa.String(1000), unique=True)


class Namespace(Routable, db.Model):  # type: ignore[name-defined]
    """A group; a top-level group (no parent) is what a GitLab.com subscription belongs to."""

    __tablename__ = "namespaces"

    parent_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("namespaces.id", ondelete="CASCADE"), index=True
    )
    # The top-level group this one belongs to (itself for a top-level group): billing, seats
    # and Duo are all counted per root, so every query starts from it.
    root_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("namespaces.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[dt.datetime]

    @property
    def is_root(self) -> bool:
        return self.parent_id is None


class Project(Routable, db.Model):  # type: ignore[name-defined]
    """A project inside a group (its namespace)."""

    __tablename__ = "projects"

    namespace_id: Mapped[int] = mapped_column(
        sa.ForeignKey("namespaces.id", ondelete="CASCADE"), index=True
    )
    root_id: Mapped[int] = mapped_column(
        sa.ForeignKey("namespaces.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[dt.datetime]

    namespace: Mapped[Namespace] = relationship(foreign_keys=[namespace_id])


class Member(db.Model):  # type: ignore[name-defined]
    """A user's membership of a group or of a project, with a role (``AccessLevel``)."""

    __tablename__ = "members"
    __table_args__ = (
        sa.CheckConstraint(
            "(namespace_id IS NULL) <> (project_id IS NULL)", name="group_or_project"
        ),
        sa.UniqueConstraint("user_id", "namespace_id", name="uq_members_user_id_namespace_id"),
        sa.UniqueConstraint("user_id", "project_id", name="uq_members_user_id_project_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    namespace_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("namespaces.id", ondelete="CASCADE"), index=True
    )
    project_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    # The top-level group of the group or project: "members of the group, its subgroups and
    # projects" (R31) is then one indexed lookup.
    root_id: Mapped[int] = mapped_column(
        sa.ForeignKey("namespaces.id", ondelete="CASCADE"), index=True
    )
    access_level: Mapped[int]
    created_at: Mapped[dt.datetime]
    # The membership ends when this day begins (UTC); the daily job removes it then
    # (``instance.gitlab_com.memberships``), as GitLab's RemoveExpiredMembersWorker does.
    expires_at: Mapped[dt.date | None]

    user: Mapped[User] = relationship()


class GitlabSubscription(db.Model):  # type: ignore[name-defined]
    """A top-level group's plan, as the Customers Portal last provisioned it, and its seat
    usage (GitLab's ``gitlab_subscriptions``)."""

    __tablename__ = "gitlab_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    namespace_id: Mapped[int] = mapped_column(
        sa.ForeignKey("namespaces.id", ondelete="CASCADE"), unique=True
    )
    plan_code: Mapped[str] = mapped_column(sa.String(20))  # protocol.license.Plan values
    start_date: Mapped[dt.date]
    end_date: Mapped[dt.date]  # exclusive
    seats: Mapped[int]
    trial: Mapped[bool] = mapped_column(default=False)
    trial_starts_on: Mapped[dt.date | None]
    trial_ends_on: Mapped[dt.date | None]
    auto_renew: Mapped[bool] = mapped_column(default=False)
    seats_in_use: Mapped[int] = mapped_column(default=0)
    max_seats_used: Mapped[int] = mapped_column(default=0)
    provisioned_at: Mapped[dt.datetime]

    def is_active_on(self, day: dt.date) -> bool:
        return self.start_date <= day < self.end_date


class ReceivedNonce(db.Model):  # type: ignore[name-defined]
    """Nonces of the portal's provisioning requests GitLab.com has accepted, each once."""

    __tablename__ = "received_nonces"

    nonce: Mapped[str] = mapped_column(sa.String(128), primary_key=True)
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)
