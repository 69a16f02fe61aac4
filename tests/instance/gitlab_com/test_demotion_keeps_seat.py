"""A member demoted to Guest on an Ultimate group stops being billable (R31) but keeps their GitLab
Duo seat, as GitLab.com does: Members::UpdateService enqueues no seat clean-up (only
Members::DestroyService enqueues CleanupUserAddOnAssignmentWorker), and the group's
``eligible_for_gitlab_duo_pro_seat?`` counts Guests anyway (see ``instance.gitlab_com.memberships``).
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from instance import add_ons
from instance.gitlab_com.billable import billable_member_count, is_billable_member
from instance.gitlab_com.duo import user_has_group_duo_access
from instance.gitlab_com.groups import find_group, membership
from instance.gitlab_com.memberships import update_membership
from instance.gitlab_com.provisioning import group_duo_purchase
from instance.models import AccessLevel, User, db
from instance.tokens import create_token
from protocol.license import Plan
from tests.instance.conftest import user_id
from tests.instance.fake_portal import FakePortal
from tests.instance.gitlab_com.conftest import provision, push
from webcore.clock import app_clock


def _user(username: str) -> User:
    return db.session.execute(db.select(User).where(User.username == username)).scalar_one()


def _ultimate_with_seat_for(app: Flask, fake_portal: FakePortal, root: int, username: str) -> int:
    push(app, fake_portal, provision(Plan.ULTIMATE, 10, duo=3)(root))
    with app.app_context():
        purchase = group_duo_purchase(root)
        assert purchase is not None
        add_ons.assign_seat(purchase.id, _user(username), app_clock(app).now())
        db.session.commit()
        return purchase.id


def _holds_seat(purchase_id: int, username: str) -> bool:
    purchase = add_ons.lock_purchase(purchase_id)
    assert purchase is not None
    return add_ons.assignment_for(purchase, _user(username)) is not None


def test_r31_r2_a_member_demoted_to_guest_on_ultimate_is_no_longer_billable_but_keeps_the_seat(
    app: Flask, fake_portal: FakePortal, hierarchy: dict[str, int]
) -> None:
    """R31: the demoted member leaves the billable count at once; R2 governs who may be given a
    seat, and GitLab takes none back on a role change: the seat and Code Suggestions stay."""
    root = hierarchy["root"]
    purchase_id = _ultimate_with_seat_for(app, fake_portal, root, "reporter")
    with app.app_context():
        before = billable_member_count(root)
        group = find_group("acme/platform")
        assert group is not None
        found = membership(group, _user("reporter"))
        assert found is not None
        now = app_clock(app).now()
        update_membership(
            group,
            found,
            AccessLevel.GUEST,
            None,
            change_expiry=False,
            by=_user("owner"),
            now=now,
        )
        db.session.commit()
        assert not is_billable_member(root, _user("reporter"))
        assert billable_member_count(root) == before - 1
        assert _holds_seat(purchase_id, "reporter")
        assert user_has_group_duo_access(_user("reporter"), now)


def test_r2_r31_the_seat_survives_the_members_api_demotion_and_the_seat_clean_up(
    app: Flask, fake_portal: FakePortal, hierarchy: dict[str, int]
) -> None:
    """The same through ``PUT /groups/:id/members/:user_id`` (GitLab's UpdateService), and the
    twice-daily clean-up (R29) frees seats of blocked and deactivated users only."""
    root = hierarchy["root"]
    purchase_id = _ultimate_with_seat_for(app, fake_portal, root, "reporter")
    with app.app_context():
        token = create_token(_user("owner"), "t", ["api"], app_clock(app).now())
        db.session.commit()
    headers: dict[str, Any] = {"PRIVATE-TOKEN": token}
    reporter = user_id(app, "reporter")
    answer = app.test_client().put(
        f"/api/v4/groups/{hierarchy['sub']}/members/{reporter}",
        json={"access_level": AccessLevel.GUEST},
        headers=headers,
    )
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["access_level"] == AccessLevel.GUEST
    with app.app_context():
        add_ons.clean_up_seats(app_clock(app).now())
        db.session.commit()
        assert not is_billable_member(root, _user("reporter"))
        assert _holds_seat(purchase_id, "reporter")


def test_r2_a_member_already_a_guest_still_cannot_be_given_a_seat_on_ultimate(
    app: Flask, fake_portal: FakePortal, hierarchy: dict[str, int]
) -> None:
    """Keeping a demoted member's seat is not a way around R2: a Guest on Ultimate is refused a
    new seat (the documents' rule, stricter than GitLab.com's eligibility)."""
    root = hierarchy["root"]
    purchase_id = _ultimate_with_seat_for(app, fake_portal, root, "dev")
    with app.app_context():
        with pytest.raises(add_ons.AssignmentError) as refused:
            add_ons.assign_seat(purchase_id, _user("guest"), app_clock(app).now())
        assert refused.value.code == add_ons.INVALID_USER_MEMBERSHIP
