"""GitLab.com's groups, members and billable members APIs answered as GitLab answers them:
permissions (Owners manage a group's members, Maintainers a project's, a group keeps its last
Owner), error shapes and texts, bad input refused with a 4xx that changes nothing, membership
expiry, and the seat removal that follows any removal of a membership (R2, R31)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from instance import add_ons
from instance.gitlab_com.memberships import next_expired_members_run, remove_expired_members
from instance.gitlab_com.provisioning import group_duo_purchase
from instance.models import User, db
from instance.namespace_models import Member
from instance.tokens import create_token
from protocol.license import Plan
from provlab.parties import InProcessParty
from provlab.timetravel import travel_to
from tests.instance.conftest import add_user, user_id
from tests.instance.fake_portal import FakePortal
from tests.instance.gitlab_com.conftest import member, provision, push
from tests.support import hostile
from webcore.clock import app_clock

API = "/api/v4"


def _token(app: Flask, username: str, scopes: tuple[str, ...] = ("api",)) -> dict[str, str]:
    with app.app_context():
        user = db.session.execute(db.select(User).where(User.username == username)).scalar_one()
        token = create_token(user, "t", list(scopes), app_clock(app).now())
        db.session.commit()
    return {"PRIVATE-TOKEN": token}


def _call(app: Flask, username: str, method: str, path: str, **kwargs: Any) -> Any:
    client: FlaskClient = app.test_client()
    return client.open(f"{API}{path}", method=method, headers=_token(app, username), **kwargs)


def _memberships(app: Flask) -> list[tuple[int, ...]]:
    with app.app_context():
        rows = db.session.execute(
            db.select(Member.user_id, Member.access_level, Member.namespace_id, Member.project_id)
        )
        return sorted(tuple(-1 if value is None else value for value in row) for row in rows)


def _seat_holders(app: Flask, root_id: int) -> set[str]:
    with app.app_context():
        purchase = group_duo_purchase(root_id)
        assert purchase is not None
        return {
            user.username
            for user in db.session.scalars(db.select(User))
            if add_ons.assignment_for(purchase, user) is not None
        }


def _assign(app: Flask, root_id: int, *usernames: str) -> None:
    ids = [user_id(app, name) for name in usernames]
    with app.app_context():
        purchase = group_duo_purchase(root_id)
        assert purchase is not None
        add_ons.bulk_assign(purchase.id, ids, app_clock(app).now())
        db.session.commit()


# -- permissions ----------------------------------------------------------------------------------


def test_only_owners_manage_a_groups_members_and_maintainers_a_projects(
    app: Flask, hierarchy: dict[str, int]
) -> None:
    add_user(app, "newbie")
    newbie = user_id(app, "newbie")
    before = _memberships(app)
    # dev is a Maintainer of acme/platform: not an Owner, so not of its members.
    for path in ("/groups/acme/members", "/groups/acme%2Fplatform/members"):
        refused = _call(app, "dev", "POST", path, json={"user_id": newbie, "access_level": 30})
        assert (refused.status_code, refused.get_json()) == (403, {"message": "403 Forbidden"})
    changed = _call(
        app,
        "dev",
        "PUT",
        f"/groups/acme/members/{user_id(app, 'guest')}",
        json={"access_level": 30},
    )
    assert changed.status_code == 403
    removed = _call(app, "dev", "DELETE", f"/groups/acme/members/{user_id(app, 'guest')}")
    assert removed.status_code == 403
    assert _memberships(app) == before  # refused: nothing changed
    # ... but a Maintainer of the project's group manages the project's members.
    added = _call(
        app,
        "dev",
        "POST",
        "/projects/acme%2Fplatform%2Fapi/members",
        json={"user_id": newbie, "access_level": 40},
    )
    assert added.status_code == 201 and added.get_json()["access_level"] == 40


def test_a_member_may_leave_but_a_group_keeps_its_last_owner(
    app: Flask, hierarchy: dict[str, int]
) -> None:
    owner = user_id(app, "owner")
    before = _memberships(app)
    for method, kwargs in (("DELETE", {}), ("PUT", {"json": {"access_level": 40}})):
        refused = _call(app, "owner", method, f"/groups/acme/members/{owner}", **kwargs)
        assert (refused.status_code, refused.get_json()) == (403, {"message": "403 Forbidden"})
    billable = _call(app, "owner", "DELETE", f"/groups/acme/billable_members/{owner}")
    assert billable.status_code == 400
    assert billable.get_json() == {"message": "400 Bad request - Gitlab::Access::AccessDeniedError"}
    assert _memberships(app) == before
    # With a second Owner, the first may step down; a member may leave on their own.
    member(app, "dev", "acme", "owner")
    assert (
        _call(
            app, "owner", "PUT", f"/groups/acme/members/{owner}", json={"access_level": 40}
        ).status_code
        == 200
    )
    guest = user_id(app, "guest")
    assert _call(app, "guest", "DELETE", f"/groups/acme/members/{guest}").status_code == 204
    # A subgroup's only direct Owner is not its last: acme's Owner (dev, now) is one there too.
    member(app, "reporter", "acme/platform", "owner")
    reporter = user_id(app, "reporter")
    response = _call(app, "dev", "DELETE", f"/groups/acme%2Fplatform/members/{reporter}")
    assert response.status_code == 204


def test_groups_and_projects_a_user_may_not_see_are_not_found(
    app: Flask, hierarchy: dict[str, int]
) -> None:
    for username, path, message in (
        ("owner", "/groups/rivals", "404 Group Not Found"),
        ("owner", f"/groups/{hierarchy['other']}/members", "404 Group Not Found"),
        ("outsider", "/groups/acme/billable_members", "404 Group Not Found"),
        ("outsider", "/groups/nope", "404 Group Not Found"),
        ("owner", f"/groups/{2**64}", "404 Group Not Found"),
        ("owner", f"/groups/acme/members/{2**64}", "404 Group Not Found"),  # no such route
        ("owner", "/projects/٣", "404 Project Not Found"),
        ("outsider", "/projects/acme%2Fplatform%2Fapi/members", "404 Project Not Found"),
        ("reporter", f"/projects/{hierarchy['project']}", "200"),
        ("projdev", "/groups/acme%2Fplatform/subgroups", "200"),
    ):
        response = _call(app, username, "GET", path)
        if message == "200":
            assert response.status_code == 200, path
        else:
            assert (response.status_code, response.get_json()) == (404, {"message": message})
    missing = _call(app, "owner", "GET", f"/groups/acme/members/{user_id(app, 'projdev')}")
    assert (missing.status_code, missing.get_json()) == (404, {"message": "404 Not found"})
    anonymous = app.test_client().get(f"{API}/groups")
    assert (anonymous.status_code, anonymous.get_json()) == (401, {"message": "401 Unauthorized"})


def test_a_read_api_token_reads_groups_but_changes_no_member(
    app: Flask, hierarchy: dict[str, int]
) -> None:
    headers = _token(app, "owner", ("read_api",))
    client = app.test_client()
    assert client.get(f"{API}/groups/acme/members", headers=headers).status_code == 200
    refused = client.post(
        f"{API}/groups/acme/members",
        json={"user_id": user_id(app, "outsider"), "access_level": 10},
        headers=headers,
    )
    assert refused.status_code == 403 and refused.get_json()["error"] == "insufficient_scope"


# -- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "status", "answer"),
    [
        (
            {},
            400,
            {
                "error": "access_level is missing, user_id, username are missing, exactly one "
                "parameter must be provided"
            },
        ),
        ({"user_id": "abc", "access_level": 30}, 400, {"error": "user_id is invalid"}),
        ({"user_id": "USER", "access_level": "²"}, 400, {"error": "access_level is invalid"}),
        ({"user_id": "USER", "username": "x", "access_level": 30}, 400, None),
        (
            {"user_id": "USER", "access_level": 35},
            400,
            {"message": {"access_level": ["is not included in the list"]}},
        ),
        (
            {"user_id": "USER", "access_level": 30, "expires_at": "2020-01-01"},
            400,
            {"message": {"expires_at": ["cannot be a date in the past"]}},
        ),
        (
            {"user_id": "USER", "access_level": 30, "expires_at": "2099-13-40"},
            400,
            {"error": "expires_at is invalid"},
        ),
        ({"user_id": 2**64, "access_level": 30}, 400, {"error": "user_id is invalid"}),
        ({"user_id": 999999, "access_level": 30}, 404, {"message": "404 User Not Found"}),
        ({"username": "nobody", "access_level": 30}, 404, {"message": "404 User Not Found"}),
        ({"user_id": "DEV", "access_level": 30}, 409, {"message": "Member already exists"}),
    ],
)
def test_adding_a_member_refuses_bad_input_with_gitlabs_answer_and_changes_nothing(
    app: Flask, hierarchy: dict[str, int], body: dict[str, Any], status: int, answer: Any
) -> None:
    add_user(app, "newbie")
    ids = {"USER": user_id(app, "newbie"), "DEV": user_id(app, "dev")}
    body = {
        key: ids.get(value, value) if isinstance(value, str) else value
        for key, value in body.items()
    }
    before = _memberships(app)
    response = _call(app, "owner", "POST", "/groups/acme/members", json=body)
    assert response.status_code == status, response.get_json()
    if answer is not None:
        assert response.get_json() == answer
    assert _memberships(app) == before


def test_list_parameters_are_validated_as_grape_does(app: Flask, hierarchy: dict[str, int]) -> None:
    for path, answer in (
        ("/groups?owned=maybe", "owned is invalid"),
        ("/groups?order_by=size", "order_by does not have a valid value"),
        ("/groups?min_access_level=35", "min_access_level does not have a valid value"),
        ("/groups?skip_groups[]=x", "skip_groups is invalid"),
        ("/groups/acme/billable_members?sort=id_asc", "sort does not have a valid value"),
        ("/groups/acme/members?user_ids=1,x", "user_ids is invalid"),
        ("/groups?per_page=①", "per_page is invalid"),
    ):
        response = _call(app, "owner", "GET", path)
        assert (response.status_code, response.get_json()) == (400, {"error": answer}), path


@pytest.mark.parametrize("value", [hostile.deep_json(1000), "[1,", "null", '"\\ud800"'])
def test_hostile_bodies_are_4xx_on_the_members_api(
    app: Flask, hierarchy: dict[str, int], value: str
) -> None:
    before = _memberships(app)
    for method, path in (
        ("POST", "/groups/acme/members"),
        ("PUT", f"/groups/acme/members/{user_id(app, 'dev')}"),
    ):
        response = _call(app, "owner", method, path, data=value, content_type="application/json")
        assert 400 <= response.status_code < 500
    assert _memberships(app) == before


def test_groups_are_paginated_with_gitlabs_headers(app: Flask, hierarchy: dict[str, int]) -> None:
    add_user(app, "root", admin=True)
    response = _call(app, "root", "GET", "/groups?per_page=1&page=2&order_by=path")
    assert [group["full_path"] for group in response.get_json()] == ["acme/platform"]
    assert response.headers["X-Total"] == "3" and response.headers["X-Total-Pages"] == "3"
    assert response.headers["X-Next-Page"] == "3" and response.headers["X-Prev-Page"] == "1"
    assert 'rel="next"' in response.headers["Link"] and "order_by=path" in response.headers["Link"]


# -- billable members (R31) -----------------------------------------------------------------------


def test_r31_billable_members_answers_and_refusals(
    app: Flask, fake_portal: FakePortal, hierarchy: dict[str, int]
) -> None:
    push(app, fake_portal, provision(Plan.ULTIMATE, 10)(hierarchy["root"]))
    # Not an Owner, or a subgroup: GitLab's bare 400.
    for username, path in (
        ("dev", "/groups/acme/billable_members"),
        ("owner", "/groups/acme%2Fplatform/billable_members"),
    ):
        response = _call(app, username, "GET", path)
        assert (response.status_code, response.get_json()) == (400, {"message": "400 Bad request"})
    guest = user_id(app, "guest")  # a Guest on Ultimate is not billable
    response = _call(app, "owner", "GET", f"/groups/acme/billable_members/{guest}/memberships")
    assert (response.status_code, response.get_json()) == (404, {"message": "404 User Not Found"})
    response = _call(app, "owner", "GET", "/groups/acme/billable_members/999999/memberships")
    assert (response.status_code, response.get_json()) == (404, {"message": "404 Not found"})
    seats = _call(app, "owner", "GET", "/groups/acme/members?show_seat_info=true").get_json()
    assert {m["username"]: m["is_using_seat"] for m in seats} == {
        "owner": True,
        "dev": True,
        "guest": False,  # R31 on Ultimate
        "blocked": False,
        "support-bot": False,
    }
    for username, path, reason in (
        (
            "owner",
            f"/groups/acme%2Fplatform/billable_members/{guest}",
            "Invalid group provided, must be top-level",
        ),
        ("dev", f"/groups/acme/billable_members/{guest}", "User unauthorized to remove member"),
        (
            "owner",
            f"/groups/acme/billable_members/{user_id(app, 'outsider')}",
            "No member found for the given user_id",
        ),
    ):
        response = _call(app, username, "DELETE", path)
        assert response.get_json() == {"message": f"400 Bad request - {reason}"}


def test_r2_r31_a_member_left_with_only_a_guest_role_on_ultimate_loses_the_seat(
    app: Flask, fake_portal: FakePortal, hierarchy: dict[str, int]
) -> None:
    root = hierarchy["root"]
    member(app, "guest", "acme/platform/api", "developer")  # billable on Ultimate through it
    push(app, fake_portal, provision(Plan.ULTIMATE, 10, duo=3)(root))
    _assign(app, root, "guest", "reporter")
    response = _call(
        app, "owner", "DELETE", f"/projects/acme%2Fplatform%2Fapi/members/{user_id(app, 'guest')}"
    )
    assert response.status_code == 204
    # Still a Guest of acme, no longer billable: the seat goes (R2); reporter keeps theirs.
    assert _seat_holders(app, root) == {"reporter"}


def test_r2_r31_an_expired_membership_ends_and_its_seat_with_it(
    app: Flask, fake_portal: FakePortal, hierarchy: dict[str, int]
) -> None:
    root = hierarchy["root"]
    push(app, fake_portal, provision(Plan.PREMIUM, 10, duo=2)(root))
    add_user(app, "contractor")
    tomorrow = app_clock(app).now().date() + dt.timedelta(days=1)
    created = _call(
        app,
        "owner",
        "POST",
        "/groups/acme/members",
        json={"username": "contractor", "access_level": 30, "expires_at": tomorrow.isoformat()},
    )
    assert created.get_json()["expires_at"] == tomorrow.isoformat()
    _assign(app, root, "contractor")
    with app.app_context():
        now = app_clock(app).now()
        assert remove_expired_members(now) == 0  # not yet
        run_at = next_expired_members_run(now)
        assert (run_at.hour, run_at.minute) == (0, 10) and run_at > now
    # The daily job, as time passes: the membership ends at 00:10 on its expiry day.
    travel = travel_to([InProcessParty(app)], dt.datetime.combine(tomorrow, dt.time(0, 11), dt.UTC))
    assert "remove_expired_members" in {run["name"] for run in travel.runs}
    assert _seat_holders(app, root) == set()
    gone = _call(app, "owner", "GET", f"/groups/acme/members/{user_id(app, 'contractor')}")
    assert gone.status_code == 404
