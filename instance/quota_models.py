"""GitLab.com's consumption tables (R6): compute-minute packs, a group's monthly compute usage,
its purchased storage, and each project's storage size.

Named as GitLab's own: ``ci_minutes_additional_packs``, ``ci_namespace_monthly_usages``,
``namespace_limits`` and ``project_statistics``. Registered on ``instance.models``' metadata
(imported there), empty on self-managed.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from instance.models import db


class AdditionalPack(db.Model):  # type: ignore[name-defined]
    """A pack of additional compute minutes the portal provisioned, and how much of it the
    group's pipelines used (kept across months: unused minutes roll over until they expire)."""

    __tablename__ = "ci_minutes_additional_packs"
    __table_args__ = (
        sa.UniqueConstraint(
            "namespace_id", "purchase_xid", name="uq_ci_minutes_additional_packs_namespace_xid"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    namespace_id: Mapped[int] = mapped_column(
        sa.ForeignKey("namespaces.id", ondelete="CASCADE"), index=True
    )
    purchase_xid: Mapped[str] = mapped_column(sa.String(100))
    number_of_minutes: Mapped[int]
    expires_at: Mapped[dt.date]  # exclusive
    used_minutes: Mapped[int] = mapped_column(default=0)

    @property
    def remaining(self) -> int:
        return max(0, self.number_of_minutes - self.used_minutes)


class MonthlyUsage(db.Model):  # type: ignore[name-defined]
    """The compute minutes a top-level group used in one calendar month (UTC, the app clock);
    a new month has no row yet, which is the monthly reset."""

    __tablename__ = "ci_namespace_monthly_usages"
    __table_args__ = (
        sa.UniqueConstraint("namespace_id", "date", name="uq_ci_namespace_monthly_usages_month"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    namespace_id: Mapped[int] = mapped_column(
        sa.ForeignKey("namespaces.id", ondelete="CASCADE"), index=True
    )
    date: Mapped[dt.date]  # the first day of the month
    amount_used: Mapped[int] = mapped_column(default=0)
    additional_amount_used: Mapped[int] = mapped_column(default=0)


class NamespaceLimit(db.Model):  # type: ignore[name-defined]
    """Storage the portal provisioned for a top-level group, usable until it ends (exclusive)."""

    __tablename__ = "namespace_limits"

    namespace_id: Mapped[int] = mapped_column(
        sa.ForeignKey("namespaces.id", ondelete="CASCADE"), primary_key=True
    )
    additional_purchased_storage_size: Mapped[int] = mapped_column(default=0)  # MiB
    additional_purchased_storage_ends_on: Mapped[dt.date | None]


class ProjectStatistics(db.Model):  # type: ignore[name-defined]
    """A project's repository storage (repository and LFS objects), in MiB."""

    __tablename__ = "project_statistics"

    project_id: Mapped[int] = mapped_column(
        sa.ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    namespace_id: Mapped[int] = mapped_column(  # the project's top-level group
        sa.ForeignKey("namespaces.id", ondelete="CASCADE"), index=True
    )
    storage_size: Mapped[int] = mapped_column(default=0)
