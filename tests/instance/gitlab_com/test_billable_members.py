"""R31: the billable users of a GitLab.com group are the members of the group, its subgroups
and projects, each counted once, with R30's exclusions (GitLab's bots, blocked users, and on
Ultimate the users whose highest role in the group is Guest)."""

from __future__ import annotations

from flask import Flask

from instance.gitlab_com.billable import billable_member_count, billable_members_query
from instance.models import db
from protocol.license import Plan
from tests.instance.gitlab_com.conftest import member


def _billable(app: Flask, root_id: int, plan: Plan) -> list[str]:
    with app.app_context():
        users = db.session.execute(billable_members_query(root_id, plan)).scalars()
        return sorted(user.username for user in users)


def test_members_of_the_group_its_subgroups_and_projects_count_once_r31(
    app: Flask, hierarchy: dict[str, int]
) -> None:
    # owner, dev (3 memberships), reporter (subgroup), guest, projdev (project only), svc
    # (a service account is billable); not blocked, not the support bot, not outsider (another
    # group's member).
    expected = ["dev", "guest", "owner", "projdev", "reporter", "svc"]
    assert _billable(app, hierarchy["root"], Plan.PREMIUM) == expected
    with app.app_context():
        assert billable_member_count(hierarchy["root"], Plan.PREMIUM) == 6


def test_on_ultimate_users_whose_highest_role_is_guest_do_not_count_r31(
    app: Flask, hierarchy: dict[str, int]
) -> None:
    assert "guest" not in _billable(app, hierarchy["root"], Plan.ULTIMATE)
    # A Guest of the group who is a Developer in one of its projects is billable on Ultimate:
    # the highest role in the whole hierarchy decides.
    member(app, "guest", "acme/platform/api", "developer")
    assert "guest" in _billable(app, hierarchy["root"], Plan.ULTIMATE)


def test_each_top_level_group_counts_its_own_members_r31(
    app: Flask, hierarchy: dict[str, int]
) -> None:
    assert _billable(app, hierarchy["other"], Plan.PREMIUM) == ["outsider"]
    member(app, "dev", "rivals", "reporter")  # a member of two groups counts in both
    assert _billable(app, hierarchy["other"], Plan.PREMIUM) == ["dev", "outsider"]


def test_a_group_without_a_subscription_is_free(app: Flask, hierarchy: dict[str, int]) -> None:
    with app.app_context():
        assert billable_member_count(hierarchy["root"]) == 6  # Free: Guests count
