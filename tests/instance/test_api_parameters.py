"""The users and personal access tokens APIs read their parameters as GitLab's Grape declares
them: GitLab's filters and orders, ``400 {"error": ...}`` for a value of the wrong type or outside
its list (nothing changed), and token rotation (``POST /personal_access_tokens/:id|self/rotate``)
with GitLab's answers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import gitlab
import pytest
from flask import Flask
from flask.testing import FlaskClient

from instance.models import PersonalAccessToken, User, UserState, db
from instance.tokens import issue_token
from tests.instance.conftest import add_user
from webcore.clock import app_clock


def token(app: Flask, username: str, scopes: tuple[str, ...] = ("api",), **fields: Any) -> str:
    with app.app_context():
        user = db.session.execute(db.select(User).where(User.username == username)).scalar_one()
        secret = issue_token(user, "tests", list(scopes), app_clock(app).now(), **fields)[1]
        db.session.commit()
        return secret


def call(client: FlaskClient, secret: str, method: str, path: str, **kwargs: Any) -> Any:
    return client.open(f"/api/v4{path}", method=method, headers={"PRIVATE-TOKEN": secret}, **kwargs)


def names(response: Any) -> list[str]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return [item["username"] for item in response.get_json()]


def token_count(app: Flask) -> tuple[int, int]:
    with app.app_context():
        rows = db.session.execute(db.select(PersonalAccessToken)).scalars().all()
        return len(rows), sum(row.revoked for row in rows)


@pytest.fixture
def people(app: Flask, admin_client: FlaskClient) -> dict[str, str]:
    """root (an administrator), a developer, a service account, GitLab's support bot, a blocked
    and a deactivated user; the administrator's and the developer's tokens."""
    add_user(app, "dev", name="Dev Eloper")
    add_user(app, "devon")
    add_user(app, "svc", bot_type="service_account")
    add_user(app, "support-bot", bot_type="support_bot")
    add_user(app, "gone", state=UserState.BLOCKED)
    add_user(app, "idle", state=UserState.DEACTIVATED)
    return {"root": token(app, "root"), "dev": token(app, "dev")}


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ("active=maybe", "active is invalid"),
        ("blocked=2", "blocked is invalid"),
        ("exclude_internal=yes please", "exclude_internal is invalid"),
        ("order_by=email", "order_by does not have a valid value"),
        ("order_by=id;drop", "order_by does not have a valid value"),
        ("sort=up", "sort does not have a valid value"),
        ("created_after=yesterday", "created_after is invalid"),
        ("created_before=2026-13-01", "created_before is invalid"),
        ("created_after=0001-01-01T00:00:00%2B14:00", "created_after is invalid"),
        ("created_before=9999-12-31T23:00:00-05:00", "created_before is invalid"),
        ("without_projects=nope", "without_projects is invalid"),
    ],
)
def test_users_list_refuses_values_grape_would(
    app: Flask, admin_client: FlaskClient, people: dict[str, str], query: str, error: str
) -> None:
    for secret in people.values():  # checked for everyone, whether or not it applies to them
        response = call(app.test_client(), secret, "GET", f"/users?{query}")
        assert (response.status_code, response.get_json()) == (400, {"error": error})


def test_users_list_filters_as_gitlabs_users_finder(
    app: Flask, admin_client: FlaskClient, people: dict[str, str]
) -> None:
    client, root = app.test_client(), people["root"]

    def listed(query: str) -> set[str]:
        return set(names(call(client, root, "GET", f"/users?{query}&per_page=100")))

    everyone = listed("")
    assert everyone == {"root", "dev", "devon", "svc", "support-bot", "gone", "idle"}
    # active: active and not one of GitLab's internal bots; a service account is not internal.
    assert listed("active=true") == {"root", "dev", "devon", "svc"}
    assert listed("exclude_active=true") == {"gone", "idle"}
    assert listed("blocked=true") == {"gone"}
    assert listed("humans=true") == everyone - {"svc", "support-bot"}
    assert listed("exclude_humans=true") == {"svc", "support-bot"}
    assert listed("exclude_internal=true") == everyone - {"support-bot"}
    assert listed("admins=true") == {"root"}
    assert listed("external=true") == set()
    assert listed("exclude_external=true&without_project_bots=true") == everyone
    # false is no filter, as in GitLab; so are parameters GitLab does not declare.
    assert listed("blocked=false&active=0") == everyone
    assert listed("deactivated=true&banned=true") == everyone


def test_users_list_orders_and_searches_as_gitlab(
    app: Flask, admin_client: FlaskClient, people: dict[str, str]
) -> None:
    client, root = app.test_client(), people["root"]
    by_id_desc = names(call(client, root, "GET", "/users?per_page=100"))
    assert by_id_desc[0] == "idle" and by_id_desc[-1] == "root"
    assert names(call(client, root, "GET", "/users?order_by=username&sort=asc&per_page=3")) == [
        "dev",
        "devon",
        "gone",
    ]
    assert names(call(client, root, "GET", "/users?order_by=name&per_page=1")) == ["svc"]
    # A search without an order: the exact username first (devon was created later).
    assert names(call(client, root, "GET", "/users?search=dev")) == ["dev", "devon"]
    assert names(call(client, root, "GET", "/users?search=DEVON")) == ["devon"]


def test_creation_times_and_admins_filter_only_for_administrators(
    app: Flask, admin_client: FlaskClient, people: dict[str, str]
) -> None:
    client = app.test_client()
    with app.app_context():
        now = app_clock(app).now()
        db.session.execute(
            db.update(User)
            .where(User.username == "dev")
            .values(created_at=now - dt.timedelta(days=9))
        )
        db.session.commit()
    since = (now - dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    by_root = set(names(call(client, people["root"], "GET", f"/users?created_after={since}")))
    assert "dev" not in by_root and "devon" in by_root
    assert "dev" in names(call(client, people["root"], "GET", "/users?created_before=" + since))
    # A non-administrator: the filters are dropped, and blocked users are not listed at all.
    by_dev = set(
        names(call(client, people["dev"], "GET", f"/users?created_after={since}&admins=1"))
    )
    assert by_dev == {"root", "dev", "devon", "svc", "support-bot", "idle"}


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ("state=bogus", "state does not have a valid value"),
        ("state=%E2%80%8Bactive", "state does not have a valid value"),
        ("revoked=perhaps", "revoked is invalid"),
        ("user_id=abc", "user_id is invalid"),
        ("created_before=soon", "created_before is invalid"),
        ("last_used_after=never", "last_used_after is invalid"),
    ],
)
def test_token_list_refuses_values_grape_would(
    app: Flask, admin_client: FlaskClient, people: dict[str, str], query: str, error: str
) -> None:
    response = call(app.test_client(), people["root"], "GET", f"/personal_access_tokens?{query}")
    assert (response.status_code, response.get_json()) == (400, {"error": error})


def test_token_list_filters_and_who_may_see_whose_tokens(
    app: Flask, admin_client: FlaskClient, people: dict[str, str]
) -> None:
    client, root, dev = app.test_client(), people["root"], people["dev"]
    token(app, "dev", expires_on=app_clock(app).now().date() + dt.timedelta(days=1))
    old = call(client, dev, "GET", "/personal_access_tokens").get_json()[-1]["id"]
    assert call(client, root, "DELETE", f"/personal_access_tokens/{old}").status_code == 204

    def ids(secret: str, query: str) -> list[int]:
        response = call(client, secret, "GET", f"/personal_access_tokens?{query}")
        assert response.status_code == 200, response.get_data(as_text=True)
        return [item["id"] for item in response.get_json()]

    with app.app_context():
        dev_id = db.session.execute(db.select(User.id).where(User.username == "dev")).scalar_one()
    mine = ids(dev, "")
    assert len(mine) == 2 and old in mine
    assert ids(dev, "state=inactive") == [old]
    assert ids(dev, "revoked=true") == [old]
    assert old not in ids(dev, "state=active")
    assert ids(root, f"user_id={dev_id}") == mine
    assert ids(dev, "last_used_after=2000-01-01") == []  # no use is recorded: never used
    assert ids(dev, "created_after=2099-01-01T00:00:00Z") == []
    # Another user's tokens: 401 for a non-administrator; an unknown user: 404 for an admin.
    with app.app_context():
        root_id = db.session.execute(db.select(User.id).where(User.username == "root")).scalar_one()
    refused = call(client, dev, "GET", f"/personal_access_tokens?user_id={root_id}")
    assert (refused.status_code, refused.get_json()) == (401, {"message": "401 Unauthorized"})
    unknown = call(client, root, "GET", "/personal_access_tokens?user_id=999999")
    assert (unknown.status_code, unknown.get_json()) == (404, {"message": "404 Not found"})
    # One token: only an administrator learns that a token does not exist.
    root_token = ids(root, f"user_id={root_id}")[0]
    for secret, path, status in [
        (dev, f"/personal_access_tokens/{root_token}", 401),
        (dev, "/personal_access_tokens/999999", 401),
        (root, "/personal_access_tokens/999999", 404),
        (root, f"/personal_access_tokens/{old}", 200),
    ]:
        assert call(client, secret, "GET", path).status_code == status


@pytest.mark.all_backends
def test_python_gitlab_rotates_a_token_as_gitlab_does(
    app: Flask, people: dict[str, str], client_for: Callable[[str], gitlab.Gitlab]
) -> None:
    today = app_clock(app).now().date()
    dev = client_for(people["dev"])
    own = dev.personal_access_tokens.get("self")
    rotated = own.rotate()
    # The old token is revoked; the new one has its name and scopes and expires in a week.
    assert rotated["name"] == "tests" and rotated["scopes"] == ["api"]
    assert rotated["expires_at"] == (today + dt.timedelta(days=7)).isoformat()
    assert rotated["active"] is True and rotated["token"].startswith("glpat-")
    with pytest.raises(gitlab.GitlabAuthenticationError) as revoked:
        dev.auth()
    assert revoked.value.response_code == 401
    renewed = client_for(rotated["token"])
    renewed.auth()
    assert renewed.user is not None and renewed.user.username == "dev"
    # An administrator rotates it again, with an expiry of their choosing (python-gitlab's
    # ``rotate(expires_at=...)``); a revoked token is not rotated again.
    admin = client_for(people["root"])
    again = admin.personal_access_tokens.get(rotated["id"]).rotate(
        expires_at=(today + dt.timedelta(days=30)).isoformat()
    )
    assert again["expires_at"] == (today + dt.timedelta(days=30)).isoformat()
    counts = token_count(app)
    with pytest.raises(gitlab.GitlabRotateError) as refused:
        admin.personal_access_tokens.get(rotated["id"]).rotate()
    assert refused.value.response_code == 400
    assert refused.value.error_message == "400 Bad request - Token already revoked"
    assert token_count(app) == counts


def test_rotation_refusals_change_nothing(
    app: Flask, admin_client: FlaskClient, people: dict[str, str]
) -> None:
    client, root, dev = app.test_client(), people["root"], people["dev"]
    reader = token(app, "dev", ("read_api",))
    root_token = call(client, root, "GET", "/personal_access_tokens/self").get_json()["id"]
    dev_token = call(client, dev, "GET", "/personal_access_tokens/self").get_json()["id"]
    far = (app_clock(app).now().date() + dt.timedelta(days=400)).isoformat()
    counts = token_count(app)
    for secret, path, body, status, answer in [
        (dev, f"/personal_access_tokens/{root_token}/rotate", None, 401, "401 Unauthorized"),
        (dev, "/personal_access_tokens/999999/rotate", None, 401, "401 Unauthorized"),
        (root, "/personal_access_tokens/999999/rotate", None, 404, "404 Not found"),
        (reader, "/personal_access_tokens/self/rotate", None, 403, None),
        (dev, "/personal_access_tokens/self/rotate", {"expires_at": "tomorrow"}, 400, None),
        (dev, f"/personal_access_tokens/{dev_token}/rotate", {"expires_at": far}, 400, None),
    ]:
        response = call(client, secret, "POST", path, json=body)
        assert response.status_code == status, (path, response.get_data(as_text=True))
        if answer is not None:
            assert response.get_json() == {"message": answer}
    assert token_count(app) == counts
    invalid = call(
        client, dev, "POST", "/personal_access_tokens/self/rotate", json={"expires_at": "x"}
    )
    assert invalid.get_json() == {"error": "expires_at is invalid"}


@pytest.mark.all_backends
def test_a_rotated_token_presented_to_rotate_again_revokes_its_family(
    app: Flask, admin_client: FlaskClient, people: dict[str, str]
) -> None:
    """GitLab's automatic reuse detection: the old token of a rotation, used on a rotate
    endpoint, revokes every token rotated from it (here two rotations on), and is refused."""
    client, old = app.test_client(), people["dev"]
    second = call(client, old, "POST", "/personal_access_tokens/self/rotate").get_json()["token"]
    third = call(client, second, "POST", "/personal_access_tokens/self/rotate").get_json()["token"]
    other = token(app, "dev")  # not of this family
    assert call(client, third, "GET", "/personal_access_tokens/self").status_code == 200
    # Elsewhere the old token is refused and changes nothing.
    assert call(client, old, "GET", "/user").status_code == 401
    assert call(client, third, "GET", "/personal_access_tokens/self").status_code == 200
    reused = call(client, old, "POST", "/personal_access_tokens/self/rotate")
    assert (reused.status_code, reused.get_json()) == (
        401,
        {
            "error": "invalid_token",
            "error_description": "Token was revoked. You have to re-authorize from the user.",
        },
    )
    assert call(client, third, "GET", "/personal_access_tokens/self").status_code == 401
    assert call(client, other, "GET", "/personal_access_tokens/self").status_code == 200
    # The same through the :id form, on a family of its own.
    fresh = call(client, other, "POST", "/personal_access_tokens/self/rotate").get_json()
    assert (
        call(client, other, "POST", f"/personal_access_tokens/{fresh['id']}/rotate").status_code
        == 401
    )
    assert call(client, fresh["token"], "GET", "/user").status_code == 401


def test_a_token_both_expired_and_revoked_is_answered_as_expired(
    app: Flask, admin_client: FlaskClient, people: dict[str, str]
) -> None:
    """GitLab's AccessTokenValidationService looks at expiry before revocation; an expired old
    token presented to rotate is not a reuse (nothing of its family is revoked)."""
    client = app.test_client()
    soon = app_clock(app).now().date() + dt.timedelta(days=1)
    old = token(app, "dev", expires_on=soon)
    new = call(
        client,
        old,
        "POST",
        "/personal_access_tokens/self/rotate",
        json={"expires_at": (soon + dt.timedelta(days=30)).isoformat()},
    ).get_json()["token"]
    app_clock(app).advance(dt.timedelta(days=2))
    answer = call(client, old, "POST", "/personal_access_tokens/self/rotate")
    assert (answer.status_code, answer.get_json()["error_description"]) == (
        401,
        "Token is expired. You can either do re-authorization or token refresh.",
    )
    assert call(client, new, "GET", "/user").status_code == 200
