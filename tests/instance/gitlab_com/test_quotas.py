"""A group's compute minutes and storage on GitLab.com (R6): packs and purchased storage as the
portal pushes them, the monthly quota by plan and its reset, packs used after the quota and
rolling over until they expire, a pipeline refused with nothing left, locked projects."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from flask import Flask

from instance.gitlab_com.quotas import (
    NO_MORE_COMPUTE_MINUTES,
    QuotaExceeded,
    compute_quota,
    push_to_repository,
    storage_quota,
    use_compute_minutes,
)
from instance.models import db
from instance.namespace_models import Namespace, Project
from protocol.license import Plan
from protocol.provisioning import ComputeMinutesPack, NamespaceProvision
from tests.instance.fake_portal import FakePortal
from tests.instance.gitlab_com.conftest import TERM, provision, push, signed_in
from webcore.clock import app_clock

GIB = 1024


def with_consumables(
    message: NamespaceProvision,
    packs: tuple[ComputeMinutesPack, ...] = (),
    storage: int = 0,
    ends_on: dt.date | None = None,
) -> NamespaceProvision:
    return dataclasses.replace(
        message,
        compute_minutes_packs=packs,
        additional_purchased_storage_size=storage,
        additional_purchased_storage_ends_on=ends_on,
    )


def at(app: Flask, when: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(when).replace(tzinfo=dt.UTC)
    app_clock(app).travel_to(moment)  # type: ignore[attr-defined]
    return moment


@pytest.fixture
def root(hierarchy: dict[str, int]) -> int:
    """Acme, the hierarchy's top-level group, whose quotas these tests follow."""
    return hierarchy["root"]


def _acme(root: int) -> Namespace:
    """The top-level group (within an app context)."""
    group = db.session.get(Namespace, root)
    assert group is not None
    return group


def test_pushed_packs_keep_their_usage_and_a_pack_no_longer_pushed_goes_r6(
    app: Flask, fake_portal: FakePortal, root: int
) -> None:
    pack = ComputeMinutesPack(1000, TERM[0] + dt.timedelta(days=365), "A-S1-1")
    base = provision(Plan.PREMIUM)(root)
    assert push(app, fake_portal, with_consumables(base, (pack,))).status == 200
    now = app_clock(app).now()
    with app.app_context():
        group = _acme(root)
        use_compute_minutes(group, 10_000 + 300, now)  # the month's quota, then 300 of the pack
        db.session.commit()
    # The same state pushed again (the daily push) keeps what the pack has used.
    assert push(app, fake_portal, with_consumables(base, (pack,), 10 * GIB, TERM[1])).status == 200
    with app.app_context():
        quota = compute_quota(root, now.date())
        assert (quota.monthly_quota, quota.monthly_used) == (10_000, 10_000)
        assert (quota.additional_limit, quota.additional_used) == (1000, 300)
        assert storage_quota(root, now.date()).purchased == 10 * GIB
    assert push(app, fake_portal, base).status == 200
    with app.app_context():
        quota = compute_quota(root, now.date())
        assert quota.additional_limit == 0 and quota.exhausted
        assert storage_quota(root, now.date()).purchased == 0


def test_monthly_quota_by_plan_resets_on_the_first_and_packs_expire_r6(
    app: Flask, fake_portal: FakePortal, root: int
) -> None:
    today = app_clock(app).now().date()
    expires = today + dt.timedelta(days=40)
    push(
        app,
        fake_portal,
        with_consumables(provision(Plan.ULTIMATE)(root), (ComputeMinutesPack(500, expires, "x"),)),
    )
    with app.app_context():
        group = _acme(root)
        assert compute_quota(root, today).monthly_quota == 50_000
        use_compute_minutes(group, 50_200, app_clock(app).now())
        db.session.commit()
        assert compute_quota(root, today).additional_used == 200
        # Next month: the monthly usage is 0 again, the pack's 300 minutes roll over.
        next_month = (today.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
        quota = compute_quota(root, next_month)
        assert (quota.monthly_used, quota.additional_limit, quota.additional_used) == (0, 500, 200)
        # On the day the pack expires it is gone.
        assert compute_quota(root, expires).additional_limit == 0


def test_no_minutes_left_refuses_the_pipeline_with_gitlabs_message_r6(
    app: Flask, fake_portal: FakePortal, root: int
) -> None:
    now = app_clock(app).now()
    with app.app_context():
        group = _acme(root)
        assert compute_quota(root, now.date()).monthly_quota == 400  # no subscription: Free
        use_compute_minutes(group, 401, now)
        with pytest.raises(QuotaExceeded) as refused:
            use_compute_minutes(group, 1, now)
        assert refused.value.code == "ci_quota_exceeded"
        assert refused.value.message == NO_MORE_COMPUTE_MINUTES
        db.session.rollback()


def test_a_project_over_10_gib_is_locked_until_purchased_storage_covers_the_excess_r6(
    app: Flask, fake_portal: FakePortal, root: int
) -> None:
    now = app_clock(app).now()
    with app.app_context():
        project = (
            db.session.execute(
                db.select(Project).where(Project.root_id == root).order_by(Project.id)
            )
            .scalars()
            .first()
        )
        assert project is not None
        project_id = project.id
        quota = push_to_repository(project, 12 * GIB, now)
        assert quota.excess == 2 * GIB and quota.locked == (project.full_path,)
        with pytest.raises(QuotaExceeded) as refused:
            push_to_repository(project, 1, now)
        assert refused.value.code == "storage_limit_exceeded"
        db.session.commit()
    push(app, fake_portal, with_consumables(provision()(root), (), 10 * GIB, TERM[1]))
    with app.app_context():
        project = db.session.get(Project, project_id)
        assert project is not None
        assert storage_quota(root, now.date()).locked == ()
        # On its end date the purchased storage is gone: locked again.
        assert storage_quota(root, TERM[1]).locked == (project.full_path,)
        push_to_repository(project, 1, now)
        db.session.rollback()


def test_usage_quotas_pipelines_and_storage_tabs_are_the_owners_r6(
    app: Flask, fake_portal: FakePortal, root: int
) -> None:
    pack = ComputeMinutesPack(1000, TERM[0] + dt.timedelta(days=365), "A-S1-1")
    push(app, fake_portal, with_consumables(provision(Plan.PREMIUM)(root), (pack,)))
    with app.app_context():
        group = _acme(root)
        use_compute_minutes(group, 10_250, app_clock(app).now())
        project = db.session.execute(db.select(Project).where(Project.root_id == root)).scalar()
        assert project is not None
        push_to_repository(project, 11 * GIB, app_clock(app).now())
        db.session.commit()
    owner = signed_in(app, "owner")
    pipelines = owner.get("/groups/acme/-/usage_quotas/pipelines")
    assert pipelines.status_code == 200
    text = pipelines.get_data(as_text=True)
    assert "10,000 / 10,000" in text and "250 / 1,000" in text
    assert "No more compute minutes available" not in text
    storage = owner.get("/groups/acme/-/usage_quotas/storage").get_data(as_text=True)
    assert "You have reached the free storage limit of 10 GiB" in storage and "Locked" in storage
    assert "/gitlab/namespaces/" in storage and "buy_storage" in storage
    developer = signed_in(app, "dev")
    assert developer.get("/groups/acme/-/usage_quotas/pipelines").status_code == 404
    assert owner.get("/groups/acme/platform/-/usage_quotas/storage").status_code == 404
