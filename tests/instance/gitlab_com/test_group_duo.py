"""GitLab Duo per top-level group on GitLab.com: the self-managed seat rules and errors, scoped
to the group's add-on purchase; only the group's billable members are eligible; a seat in any
top-level group gives Code Suggestions; a member removed from the group loses the seat."""

from __future__ import annotations

import datetime as dt

import pytest
from flask import Flask

from instance import add_ons
from instance.gitlab_com.duo import user_has_group_duo_access
from instance.gitlab_com.groups import find_group, remove_member
from instance.gitlab_com.nonces import received_nonces
from instance.gitlab_com.provisioning import group_duo_purchase
from instance.models import AddOnPurchase, BillableUserCount, User, db
from instance.namespace_models import ReceivedNonce
from instance.setup import prepare
from protocol.license import Plan
from tests.instance.conftest import user_id
from tests.instance.fake_portal import FakePortal
from tests.instance.gitlab_com.conftest import provision, push
from webcore.clock import app_clock


def _group_purchase(root_id: int) -> AddOnPurchase:
    """The group's GitLab Duo purchase (in an app context): it has one."""
    purchase = group_duo_purchase(root_id)
    assert purchase is not None
    return purchase


def _purchase_id(app: Flask, root_id: int) -> int:
    with app.app_context():
        return _group_purchase(root_id).id


def _assign(app: Flask, root_id: int, *usernames: str) -> None:
    with app.app_context():
        ids = [user_id(app, name) for name in usernames]
        add_ons.bulk_assign(_purchase_id(app, root_id), ids, app_clock(app).now())
        db.session.commit()


def _seats_assigned(
    app: Flask, fake_portal: FakePortal, root_id: int, seats: int, *usernames: str
) -> None:
    """The group bought ``seats`` GitLab Duo seats and assigned them to ``usernames``."""
    push(app, fake_portal, provision(duo=seats)(root_id))
    _assign(app, root_id, *usernames)


def _user(username: str) -> User:
    return db.session.execute(db.select(User).where(User.username == username)).scalar_one()


def test_only_billable_members_of_the_group_are_eligible_r2_r31(
    app: Flask, fake_portal: FakePortal, hierarchy: dict[str, int]
) -> None:
    root = hierarchy["root"]
    push(app, fake_portal, provision(Plan.ULTIMATE, 10, duo=3)(root))
    purchase_id = _purchase_id(app, root)
    with app.app_context():
        for outsider in ("outsider", "guest", "blocked", "support-bot"):
            with pytest.raises(add_ons.AssignmentError) as refused:
                add_ons.assign_seat(purchase_id, _user(outsider), app_clock(app).now())
            assert refused.value.code == add_ons.INVALID_USER_MEMBERSHIP
        add_ons.assign_seat(purchase_id, _user("projdev"), app_clock(app).now())


def test_never_more_seats_than_purchased_r26_r27(
    app: Flask, fake_portal: FakePortal, hierarchy: dict[str, int]
) -> None:
    root = hierarchy["root"]
    push(app, fake_portal, provision(duo=2)(root))
    with pytest.raises(add_ons.AssignmentError) as refused:
        _assign(app, root, "owner", "dev", "reporter")
    assert refused.value.code == add_ons.NOT_ENOUGH_SEATS
    _assign(app, root, "owner", "dev")
    with app.app_context(), pytest.raises(add_ons.AssignmentError) as full:
        add_ons.assign_seat(_purchase_id(app, root), _user("reporter"), app_clock(app).now())
    assert full.value.code == add_ons.NO_SEATS_AVAILABLE


def test_a_seat_in_one_top_level_group_gives_code_suggestions_everywhere_r1(
    app: Flask, fake_portal: FakePortal, hierarchy: dict[str, int]
) -> None:
    _seats_assigned(app, fake_portal, hierarchy["root"], 2, "dev")
    with app.app_context():
        now = app_clock(app).now()
        assert user_has_group_duo_access(_user("dev"), now)
        assert not user_has_group_duo_access(_user("owner"), now)
        assert not user_has_group_duo_access(_user("outsider"), now)


def test_the_group_duo_purchase_leaves_the_instance_wide_one_alone(
    app: Flask, fake_portal: FakePortal, hierarchy: dict[str, int]
) -> None:
    push(app, fake_portal, provision(duo=2)(hierarchy["root"]))
    with app.app_context():
        assert add_ons.duo_purchase() is None  # self-managed's purchase has no namespace


def test_a_member_removed_from_the_group_loses_the_seat(
    app: Flask, fake_portal: FakePortal, hierarchy: dict[str, int]
) -> None:
    root = hierarchy["root"]
    _seats_assigned(app, fake_portal, root, 2, "reporter", "projdev")
    with app.app_context():
        group = find_group("acme/platform")
        assert group is not None
        assert remove_member(group, _user("reporter"))
        db.session.commit()
        purchase = _group_purchase(root)
        assert add_ons.assignment_for(purchase, _user("reporter")) is None
        assert add_ons.assignment_for(purchase, _user("projdev")) is not None


def test_lowering_the_quantity_removes_seats_in_the_self_managed_order_r28(
    app: Flask, fake_portal: FakePortal, hierarchy: dict[str, int]
) -> None:
    root = hierarchy["root"]
    _seats_assigned(app, fake_portal, root, 3, "owner", "dev", "reporter")
    push(app, fake_portal, provision(duo=1)(root))
    with app.app_context():
        assert add_ons.assigned_count(_group_purchase(root)) == 1


def test_blocked_members_lose_their_group_seat_at_the_clean_up_r29(
    app: Flask, fake_portal: FakePortal, hierarchy: dict[str, int]
) -> None:
    root = hierarchy["root"]
    _seats_assigned(app, fake_portal, root, 2, "dev", "reporter")
    with app.app_context():
        _user("dev").state = "blocked"
        removed = add_ons.clean_up_seats(app_clock(app).now())
        db.session.commit()
        assert removed.removed_inactive == ("dev",)
        assert add_ons.assigned_count(_group_purchase(root)) == 1


def test_gitlab_com_forgets_push_nonces_once_they_are_stale(
    app: Flask, fake_portal: FakePortal, hierarchy: dict[str, int]
) -> None:
    push(app, fake_portal, provision()(hierarchy["root"]))
    with app.app_context():
        assert "prune_received_nonces" in {j.name for j in app.extensions["jobs"].pending()}
        now = app_clock(app).now()
        received_nonces.prune(now)  # still within its window: kept
        assert db.session.execute(db.select(ReceivedNonce)).scalars().all()
        received_nonces.prune(now + dt.timedelta(minutes=6))
        assert db.session.execute(db.select(ReceivedNonce)).scalars().all() == []


def test_gitlab_com_plans_only_its_own_jobs(app: Flask) -> None:
    """GitLab.com is provisioned by the portal's pushes: no daily sync with a license. It keeps
    a seat clean-up of its own (R29), which neither records an instance-wide billable count
    nor plans a sync, and the daily removal of expired memberships; a start after a self-managed one's sync was planned cancels it."""
    with app.app_context():
        scheduler = app.extensions["jobs"]
        assert {job.key for job in scheduler.pending()} == {
            "seat_cleanup",
            "prune_received_nonces",
            "remove_expired_members",  # memberships past their expires_at (GitLab's worker)
        }
        scheduler.schedule("daily_sync", app_clock(app).now())  # as an earlier start planned it
        db.session.commit()
    prepare(app)
    with app.app_context():
        scheduler = app.extensions["jobs"]
        assert "daily_sync" not in {job.key for job in scheduler.pending()}
        ran = scheduler.run_due(app_clock(app).now() + dt.timedelta(days=1))
        assert sorted(run.name for run in ran) == [
            "prune_received_nonces",
            "remove_expired_members",
            "seat_cleanup",
            "seat_cleanup",
        ]
        assert {run.outcome for run in ran} == {"rescheduled"}
        assert db.session.execute(db.select(BillableUserCount)).scalars().all() == []
        assert "daily_sync" not in {job.key for job in scheduler.pending()}
