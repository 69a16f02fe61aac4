"""A top-level group's compute minutes and storage on GitLab.com (R6, consumption-based add-ons).

Rules (GitLab's docs on compute minutes and storage for GitLab.com):
- Each calendar month a group's pipelines on instance runners may use its plan's compute quota:
  Free 400, Premium 10,000, Ultimate 50,000 minutes. The month is the app clock's (UTC): usage
  starts again from 0 on the 1st, which is the monthly reset.
- Additional compute minutes (packs bought in the Customers Portal) are used only once the
  monthly quota is used up, the pack expiring first first; unused minutes roll over from month
  to month until the pack expires (12 months after purchase).
- When both are used up, a pipeline cannot run on instance runners: its job fails with
  ``ci_quota_exceeded``, "No more compute minutes available". A pipeline that started with
  minutes left runs to its end, so usage may go past the quota (and a pack past its size is
  not charged: what it lacks is counted on the month).
- Storage: each project's repository may hold 10 GiB free; what projects hold above that is the
  group's excess, which purchased storage (packs of 10 GiB, until their end date) covers. While
  the excess is more than the purchased storage, the projects above the limit are locked
  (read-only): a push to one is refused with GitLab's message.
- The portal's provision is the whole state: packs are upserted by ``purchase_xid`` keeping
  their usage, and a pack no longer sent is removed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa

from instance.gitlab_com.billable import group_subscription
from instance.models import db
from instance.namespace_models import Namespace, Project
from instance.quota_models import AdditionalPack, MonthlyUsage, NamespaceLimit, ProjectStatistics
from protocol.license import Plan
from protocol.provisioning import NamespaceProvision
from webcore.errors import Refusal

MONTHLY_COMPUTE_MINUTES = {Plan.FREE: 400, Plan.PREMIUM: 10_000, Plan.ULTIMATE: 50_000}
PROJECT_STORAGE_LIMIT = 10 * 1024  # MiB: 10 GiB per project, free
NO_MORE_COMPUTE_MINUTES = "No more compute minutes available"
STORAGE_PUSH_ERROR = (
    "You have reached the free storage limit of 10 GiB on one or more projects. To unlock your "
    "projects over the free 10 GiB project limit, you must purchase additional storage. You "
    "can't push to your repository, create pipelines, create issues, or add comments."
)


class QuotaExceeded(Refusal):
    """A pipeline or push refused for want of compute minutes or storage."""

    status = 403


# -- compute minutes ---------------------------------------------------------------------------


def month_of(day: dt.date) -> dt.date:
    return day.replace(day=1)


def monthly_quota(root_id: int, today: dt.date) -> int:
    """The plan's monthly compute quota; a group without an active subscription is Free."""
    subscription = group_subscription(root_id)
    if subscription is None or not subscription.is_active_on(today):
        return MONTHLY_COMPUTE_MINUTES[Plan.FREE]
    return MONTHLY_COMPUTE_MINUTES[Plan(subscription.plan_code)]


def monthly_usage(root_id: int, today: dt.date, *, create: bool = False) -> MonthlyUsage | None:
    month = month_of(today)
    usage = db.find(
        MonthlyUsage,
        MonthlyUsage.namespace_id == root_id,
        MonthlyUsage.date == month,
        lock=True,
    )
    if usage is None and create:
        usage = db.inserted(
            MonthlyUsage(namespace_id=root_id, date=month, amount_used=0, additional_amount_used=0)
        )
    return usage


def active_packs(root_id: int, today: dt.date) -> list[AdditionalPack]:
    """Packs not expired, the one expiring first first (it is used first)."""
    return list(
        db.session.execute(
            sa.select(AdditionalPack)
            .where(AdditionalPack.namespace_id == root_id, AdditionalPack.expires_at > today)
            .order_by(AdditionalPack.expires_at, AdditionalPack.id)
            .with_for_update()
        ).scalars()
    )


@dataclass(frozen=True)
class ComputeQuota:
    """What the *Pipelines* tab of *Usage Quotas* shows."""

    month: dt.date
    monthly_quota: int
    monthly_used: int
    additional_limit: int  # minutes in packs not expired
    additional_used: int
    packs: tuple[AdditionalPack, ...]

    @property
    def monthly_left(self) -> int:
        return max(0, self.monthly_quota - self.monthly_used)

    @property
    def additional_left(self) -> int:
        return max(0, self.additional_limit - self.additional_used)

    @property
    def exhausted(self) -> bool:
        return self.monthly_left == 0 and self.additional_left == 0


def compute_quota(root_id: int, today: dt.date) -> ComputeQuota:
    usage = monthly_usage(root_id, today)
    quota = monthly_quota(root_id, today)
    monthly_used = usage.amount_used - usage.additional_amount_used if usage else 0
    packs = tuple(active_packs(root_id, today))
    return ComputeQuota(
        month=month_of(today),
        monthly_quota=quota,
        monthly_used=monthly_used,
        additional_limit=sum(pack.number_of_minutes for pack in packs),
        additional_used=sum(min(pack.used_minutes, pack.number_of_minutes) for pack in packs),
        packs=packs,
    )


def use_compute_minutes(root: Namespace, minutes: int, now: dt.datetime) -> ComputeQuota:
    """A pipeline of the group runs ``minutes`` on instance runners (R6); refused when the
    monthly quota and every pack are used up."""
    if minutes < 1:
        raise Refusal("A pipeline uses at least one compute minute.", code="invalid")
    today = now.date()
    before = compute_quota(root.id, today)
    if before.exhausted:
        raise QuotaExceeded(NO_MORE_COMPUTE_MINUTES, code="ci_quota_exceeded", rule="R6")
    usage = monthly_usage(root.id, today, create=True)
    assert usage is not None
    from_packs = max(0, minutes - before.monthly_left)
    usage.amount_used += minutes
    left = from_packs
    for pack in before.packs:
        taken = min(left, pack.remaining)
        pack.used_minutes += taken
        left -= taken
    # Past the packs too, the overrun counts on the month's own quota.
    usage.additional_amount_used += from_packs - left
    db.session.flush()
    return compute_quota(root.id, today)


# -- storage -----------------------------------------------------------------------------------


def purchased_storage(root_id: int, today: dt.date) -> int:
    """MiB of purchased storage in force today."""
    limit = db.session.get(NamespaceLimit, root_id)
    if limit is None or limit.additional_purchased_storage_ends_on is None:
        return 0
    if limit.additional_purchased_storage_ends_on <= today:
        return 0
    return limit.additional_purchased_storage_size


@dataclass(frozen=True)
class StorageQuota:
    """What the *Storage* tab of *Usage Quotas* shows (sizes in MiB)."""

    projects: tuple[tuple[str, int], ...]  # full path, storage size
    purchased: int

    @property
    def used(self) -> int:
        return sum(size for _, size in self.projects)

    @property
    def excess(self) -> int:
        return sum(max(0, size - PROJECT_STORAGE_LIMIT) for _, size in self.projects)

    @property
    def locked(self) -> tuple[str, ...]:
        """Projects above the free limit while the excess is more than the purchased storage."""
        if self.excess <= self.purchased:
            return ()
        return tuple(path for path, size in self.projects if size > PROJECT_STORAGE_LIMIT)


def storage_quota(root_id: int, today: dt.date) -> StorageQuota:
    rows = db.session.execute(
        sa.select(Project.full_path, sa.func.coalesce(ProjectStatistics.storage_size, 0))
        .outerjoin(ProjectStatistics, ProjectStatistics.project_id == Project.id)
        .where(Project.root_id == root_id)
        .order_by(Project.full_path)
    ).all()
    return StorageQuota(
        tuple((path, size) for path, size in rows), purchased_storage(root_id, today)
    )


def push_to_repository(project: Project, mib: int, now: dt.datetime) -> StorageQuota:
    """A push adds ``mib`` to the project's repository; refused while the project is locked."""
    if mib < 0:
        raise Refusal("A push adds a size of 0 MiB or more.", code="invalid")
    quota = storage_quota(project.root_id, now.date())
    if project.full_path in quota.locked:
        raise QuotaExceeded(STORAGE_PUSH_ERROR, code="storage_limit_exceeded", rule="R6")
    statistics = db.session.get(ProjectStatistics, project.id, with_for_update=True)
    if statistics is None:
        statistics = ProjectStatistics(
            project_id=project.id, namespace_id=project.root_id, storage_size=0
        )
        db.session.add(statistics)
    statistics.storage_size += mib
    db.session.flush()
    return storage_quota(project.root_id, now.date())


# -- provisioning ------------------------------------------------------------------------------


def provision_consumables(root_id: int, provision: NamespaceProvision) -> None:
    """Apply the pushed packs and purchased storage, keeping each pack's usage (R6)."""
    held = {
        pack.purchase_xid: pack
        for pack in db.session.execute(
            sa.select(AdditionalPack).where(AdditionalPack.namespace_id == root_id)
        ).scalars()
    }
    for pushed in provision.compute_minutes_packs:
        pack = held.pop(pushed.purchase_xid, None)
        if pack is None:
            pack = AdditionalPack(
                namespace_id=root_id, purchase_xid=pushed.purchase_xid, used_minutes=0
            )
            db.session.add(pack)
        pack.number_of_minutes = pushed.number_of_minutes
        pack.expires_at = pushed.expires_at
    for gone in held.values():
        db.session.delete(gone)
    limit = db.session.get(NamespaceLimit, root_id)
    if limit is None:
        limit = NamespaceLimit(namespace_id=root_id)
        db.session.add(limit)
    limit.additional_purchased_storage_size = provision.additional_purchased_storage_size
    limit.additional_purchased_storage_ends_on = provision.additional_purchased_storage_ends_on
    db.session.flush()
