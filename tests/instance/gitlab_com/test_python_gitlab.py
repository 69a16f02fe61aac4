"""GitLab.com driven by python-gitlab against a real server, as QA's scripts drive it: groups
and subgroups, group and project members, billable members (R31), and GitLab Duo seats of a
group's add-on purchase over ``gitlab.GraphQL`` (R2, R27), with the automatic seat removal of a
member removed from the group (R2, R31)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import gitlab
import pytest
from flask import Flask
from gql.transport.exceptions import TransportQueryError

from instance import add_ons
from instance.gitlab_com.billable import billable_members_query, group_subscription
from instance.gitlab_com.provisioning import group_duo_purchase
from instance.models import User, db
from protocol.license import Plan
from tests.instance.conftest import add_user, user_id
from tests.instance.fake_portal import FakePortal
from tests.instance.gitlab_com.conftest import group_seat_holders, provision, push
from tests.instance.test_api import token_for
from webcore.clock import app_clock

Clients = Callable[[str], gitlab.Gitlab]


@pytest.fixture
def server_url(app: Flask, live_server: Callable[[Flask], Any]) -> str:
    add_user(app, "root", admin=True)
    return str(live_server(app).url)


@pytest.fixture
def as_user(app: Flask, server_url: str) -> Iterator[Clients]:
    """python-gitlab clients, one per username, each with an ``api`` token of that user."""
    opened: list[gitlab.Gitlab] = []

    def client(username: str) -> gitlab.Gitlab:
        gl = gitlab.Gitlab(server_url, private_token=token_for(app, username))
        gl.session.trust_env = False
        opened.append(gl)
        return gl

    yield client
    for gl in opened:
        gl.session.close()  # an idle keep-alive connection would hold the server's shutdown


def _billable_usernames(app: Flask, root_id: int) -> list[str]:
    with app.app_context():
        return sorted(user.username for user in db.session.scalars(billable_members_query(root_id)))


def test_python_gitlab_lists_and_gets_groups_and_subgroups(
    as_user: Clients, hierarchy: dict[str, int]
) -> None:
    owner = as_user("owner")
    assert [g.full_path for g in owner.groups.list(get_all=True)] == ["acme", "acme/platform"]
    assert [g.full_path for g in owner.groups.list(top_level_only=True)] == ["acme"]
    assert [g.full_path for g in owner.groups.list(owned=True)] == ["acme"]
    # An Owner of acme is an Owner of its subgroups too (inherited).
    assert len(owner.groups.list(min_access_level=50)) == 2
    platform = owner.groups.get("acme/platform")
    assert platform.id == hierarchy["sub"] and platform.full_name == "Acme / Platform"
    assert platform.parent_id == hierarchy["root"]
    assert [p.path_with_namespace for p in platform.projects.list()] == ["acme/platform/api"]
    assert [g.full_path for g in owner.groups.get(hierarchy["root"]).subgroups.list()] == [
        "acme/platform"
    ]
    # A project member sees the groups above the project, no other group.
    projdev = as_user("projdev")
    assert [g.full_path for g in projdev.groups.list()] == ["acme", "acme/platform"]
    assert projdev.groups.list(min_access_level=10) == []  # no role in either group
    with pytest.raises(gitlab.GitlabGetError) as hidden:
        projdev.groups.get("rivals")
    assert hidden.value.response_code == 404
    assert hidden.value.error_message == "404 Group Not Found"
    # An administrator sees every group.
    assert len(as_user("root").groups.list(get_all=True)) == 3


@pytest.mark.all_backends
def test_python_gitlab_manages_group_members(
    app: Flask, as_user: Clients, hierarchy: dict[str, int]
) -> None:
    add_user(app, "newbie")
    group = as_user("owner").groups.get("acme")
    assert {m.username for m in group.members.list(get_all=True)} == {
        "owner",
        "dev",
        "guest",
        "blocked",
        "support-bot",
    }
    newbie_id = user_id(app, "newbie")
    created = group.members.create(
        {"user_id": newbie_id, "access_level": 30, "expires_at": "2099-01-31"}
    )
    assert (created.username, created.access_level, created.expires_at) == (
        "newbie",
        30,
        "2099-01-31",
    )
    member = group.members.get(newbie_id)
    member.access_level = 40
    member.save()
    assert group.members.get(newbie_id).access_level == 40
    with pytest.raises(gitlab.GitlabCreateError) as again:
        group.members.create({"user_id": newbie_id, "access_level": 30})
    assert (again.value.response_code, again.value.error_message) == (409, "Member already exists")
    # members/all: a subgroup lists the members of the groups above it, each once, highest role.
    platform = as_user("owner").groups.get("acme/platform")
    inherited = {m.username: m.access_level for m in platform.members_all.list(get_all=True)}
    assert inherited["dev"] == 40 and inherited["owner"] == 50 and inherited["newbie"] == 40
    assert platform.members_all.get(user_id(app, "owner")).access_level == 50
    group.members.delete(newbie_id)
    with pytest.raises(gitlab.GitlabGetError) as gone:
        group.members.get(newbie_id)
    assert (gone.value.response_code, gone.value.error_message) == (404, "404 Not found")
    # Only Owners manage a group's members: a Developer's request is 403 and adds no one.
    as_dev = as_user("dev").groups.get("acme", lazy=True)
    with pytest.raises(gitlab.GitlabCreateError) as forbidden:
        as_dev.members.create({"user_id": newbie_id, "access_level": 10})
    assert (forbidden.value.response_code, forbidden.value.error_message) == (403, "403 Forbidden")
    assert newbie_id not in {m.id for m in group.members.list(get_all=True)}


def test_python_gitlab_manages_project_members(
    app: Flask, as_user: Clients, hierarchy: dict[str, int]
) -> None:
    add_user(app, "newbie")
    newbie_id = user_id(app, "newbie")
    # dev is a Maintainer of acme/platform: a Maintainer manages the members of its projects.
    project = as_user("dev").projects.get("acme/platform/api")
    assert {m.username for m in project.members.list()} == {"dev", "projdev"}
    project.members.create({"user_id": newbie_id, "access_level": 20})
    with pytest.raises(gitlab.GitlabCreateError) as owner_role:
        project.members.create({"username": "reporter", "access_level": 50})
    assert owner_role.value.response_code == 400  # Owner is given in groups only
    assert "is not included in the list" in str(owner_role.value.error_message)
    project.members.delete(newbie_id)
    assert {m.username for m in project.members.list()} == {"dev", "projdev"}
    with pytest.raises(gitlab.GitlabGetError):
        as_user("outsider").projects.get("acme/platform/api")


@pytest.mark.all_backends
def test_r31_python_gitlab_lists_the_groups_billable_members(
    app: Flask, as_user: Clients, fake_portal: FakePortal, hierarchy: dict[str, int]
) -> None:
    push(app, fake_portal, provision(Plan.ULTIMATE, 10)(hierarchy["root"]))
    group = as_user("owner").groups.get("acme")
    billable = group.billable_members.list(get_all=True)
    # The very set the Usage Quotas page and the portal's usage report count (R31).
    assert sorted(m.username for m in billable) == _billable_usernames(app, hierarchy["root"])
    assert sorted(m.username for m in billable) == ["dev", "owner", "projdev", "reporter", "svc"]
    by_name = {m.username: m for m in billable}
    assert by_name["projdev"].membership_type == "project_member"
    assert by_name["reporter"].membership_type == "group_member"  # a subgroup is a group
    assert by_name["owner"].is_last_owner is True and by_name["dev"].is_last_owner is False
    assert [m.username for m in group.billable_members.list(search="proj")] == ["projdev"]
    names = [m.username for m in group.billable_members.list(sort="name_desc", get_all=True)]
    assert names == ["svc", "reporter", "projdev", "owner", "dev"]
    memberships = by_name["dev"].memberships.list()
    assert sorted((m.source_full_name, m.access_level["string_value"]) for m in memberships) == [
        ("Acme", "Developer"),
        ("Acme / Platform", "Maintainer"),
        ("Acme / Platform / Api", "Developer"),
    ]
    with pytest.raises(gitlab.GitlabListError) as subgroup:
        as_user("owner").groups.get("acme/platform").billable_members.list()
    assert (subgroup.value.response_code, subgroup.value.error_message) == (400, "400 Bad request")


def test_r31_r2_removing_a_billable_member_frees_the_seat_and_the_usage(
    app: Flask, as_user: Clients, fake_portal: FakePortal, hierarchy: dict[str, int]
) -> None:
    root = hierarchy["root"]
    push(app, fake_portal, provision(Plan.PREMIUM, 10, duo=2)(root))
    _assign(app, root, "dev")
    group = as_user("owner").groups.get("acme")
    group.billable_members.delete(user_id(app, "dev"))
    assert "dev" not in {m.username for m in group.billable_members.list(get_all=True)}
    with app.app_context():
        purchase = group_duo_purchase(root)
        subscription = group_subscription(root)
        assert purchase is not None and subscription is not None
        assert add_ons.assigned_count(purchase) == 0  # R2: no longer billable, no seat
        assert subscription.seats_in_use == 5  # owner, guest, reporter, projdev, svc


def _assign(app: Flask, root_id: int, *usernames: str) -> None:
    with app.app_context():
        purchase = group_duo_purchase(root_id)
        assert purchase is not None
        for username in usernames:
            user = db.session.scalars(db.select(User).where(User.username == username)).one()
            add_ons.assign_seat(purchase.id, user, app_clock(app).now())
        db.session.commit()


PURCHASE = 'query { addOnPurchase(addOnType: CODE_SUGGESTIONS, namespaceId: "%s") { id } }'


# python-gitlab's GraphQL client takes a query text: values are written into it (JSON strings
# and lists of strings are GraphQL literals too).
def eligible(path: str, purchase: str, seat: str | None = None) -> str:
    ids = json.dumps([purchase])
    seat_filter = f", filterByAssignedSeat: {json.dumps(seat)}" if seat else ""
    return f"""query {{
  namespace(fullPath: {json.dumps(path)}) {{
    addOnEligibleUsers(addOnType: CODE_SUGGESTIONS, addOnPurchaseIds: {ids}{seat_filter}) {{
      count nodes {{ username addOnAssignments(addOnPurchaseIds: {ids}) {{ nodes {{ addOnPurchase {{
        name }} }} }} }}
    }}
  }}
}}"""


def seat(mutation: str, purchase: str, user: str) -> str:
    return f"""mutation {{
  {mutation}(input: {{addOnPurchaseId: {json.dumps(purchase)}, userId: {json.dumps(user)}}}) {{
    errors addOnPurchase {{ assignedQuantity }} }}
}}"""


def test_r27_r2_group_seats_over_python_gitlab_graphql_and_removal_from_the_group(
    app: Flask,
    as_user: Clients,
    server_url: str,
    fake_portal: FakePortal,
    hierarchy: dict[str, int],
) -> None:
    root = hierarchy["root"]
    push(app, fake_portal, provision(Plan.ULTIMATE, 10, duo=2)(root))
    dev = f"gid://gitlab/User/{user_id(app, 'dev')}"
    with gitlab.GraphQL(server_url, token=token_for(app, "owner")) as gq:
        purchase = gq.execute(PURCHASE % f"gid://gitlab/Group/{root}")["addOnPurchase"]["id"]
        listed = gq.execute(eligible("acme", purchase))["namespace"]["addOnEligibleUsers"]
        names = sorted(node["username"] for node in listed["nodes"])
        assert names == _billable_usernames(app, root)  # R2: billable members only
        created = gq.execute(seat("userAddOnAssignmentCreate", purchase, dev))
        assert created["userAddOnAssignmentCreate"]["errors"] == []
        seated = gq.execute(eligible("acme", purchase, "Yes"))["namespace"]["addOnEligibleUsers"]
        [holder] = seated["nodes"]
        assert holder["username"] == "dev"
        assert holder["addOnAssignments"]["nodes"] == [
            {"addOnPurchase": {"name": "CODE_SUGGESTIONS"}}
        ]
        removed = gq.execute(seat("userAddOnAssignmentRemove", purchase, dev))
        assert removed["userAddOnAssignmentRemove"]["addOnPurchase"] == {"assignedQuantity": 0}
        gq.execute(seat("userAddOnAssignmentCreate", purchase, dev))
    # Removed from acme keeping the subgroup and project memberships: still billable, seat kept.
    group = as_user("owner").groups.get("acme")
    group.members.delete(user_id(app, "dev"), query_data={"skip_subresources": True})
    assert group_seat_holders(app, root) == ["dev"]
    # Removed from acme/platform (and so from its project too): the seat goes with them (R2).
    as_user("owner").groups.get("acme/platform").members.delete(user_id(app, "dev"))
    assert group_seat_holders(app, root) == []
    # A member who is not an Owner sees the group but not its seats; a user no longer in the
    # group does not see it at all.
    with gitlab.GraphQL(server_url, token=token_for(app, "reporter")) as gq:
        with pytest.raises(TransportQueryError, match="don't have permission"):
            gq.execute(eligible("acme", purchase))
    with gitlab.GraphQL(server_url, token=token_for(app, "dev")) as gq:
        assert gq.execute(eligible("acme", purchase)) == {"namespace": None}
