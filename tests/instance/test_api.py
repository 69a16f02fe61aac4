"""The GitLab-compatible API: users over REST (driven by python-gitlab), Code Suggestions, and
the GraphQL seat assignment mutations (R1, R10, R26, R27, R28)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gitlab
import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient

from instance.models import AccessLevel, User, db
from instance.tokens import create_token
from protocol.license import LicenseType
from tests.instance.conftest import add_user
from tests.instance.fake_portal import FakePortal
from tests.instance.helpers import activated, assigned_usernames, sync_now
from webcore.clock import app_clock


def token_for(app: Flask, username: str) -> str:
    with app.app_context():
        user = db.session.execute(db.select(User).where(User.username == username)).scalar_one()
        token = create_token(user, "tests", ["api"], app_clock(app).now())
        db.session.commit()
        return token


@pytest.fixture
def gl(app: Flask, client_for: Callable[[str], gitlab.Gitlab]) -> gitlab.Gitlab:
    return client_for(token_for(app, "root"))


@pytest.mark.all_backends
def test_python_gitlab_creates_lists_gets_and_changes_user_states(
    gl: gitlab.Gitlab, app: Flask
) -> None:
    created = gl.users.create(
        {"email": "jo@example.com", "username": "jo", "name": "Jo", "password": "a-long-password"}
    )
    assert created.username == "jo" and created.state == "active"
    assert {u.username for u in gl.users.list(get_all=True)} == {"root", "jo"}
    assert [u.username for u in gl.users.list(username="jo")] == ["jo"]
    user = gl.users.get(created.id)
    user.block()
    assert gl.users.get(created.id).state == "blocked"
    user.unblock()
    assert gl.users.get(created.id).state == "active"
    user.ban()
    assert gl.users.get(created.id).state == "banned"
    user.unban()
    user.deactivate()
    assert gl.users.get(created.id).state == "deactivated"
    user.activate()
    assert gl.users.get(created.id).state == "active"
    with pytest.raises(gitlab.GitlabCreateError) as taken:
        gl.users.create({"email": "other@example.com", "username": "jo", "name": "Jo"})
    assert taken.value.response_code == 409
    with pytest.raises(gitlab.GitlabGetError) as missing:
        gl.users.get(9999)
    assert missing.value.response_code == 404


def test_python_gitlab_paginates_users(gl: gitlab.Gitlab, app: Flask) -> None:
    for n in range(25):
        add_user(app, f"user_{n:02d}")
    assert len(gl.users.list(get_all=True, per_page=10)) == 26


def test_users_api_refuses_bad_tokens_and_non_admins(
    app: Flask, admin_client: FlaskClient, live_server: Callable[[Flask], Any]
) -> None:
    server = live_server(app)
    add_user(app, "regular")
    anonymous = gitlab.Gitlab(server.url, private_token="glpat-not-a-real-token-xxxx")
    anonymous.session.trust_env = False
    with pytest.raises(gitlab.GitlabAuthenticationError):
        anonymous.users.list()
    regular = gitlab.Gitlab(server.url, private_token=token_for(app, "regular"))
    regular.session.trust_env = False
    with pytest.raises(gitlab.GitlabCreateError) as refused:
        regular.users.create({"email": "x@example.com", "username": "x", "name": "X"})
    assert refused.value.response_code == 403
    listed = regular.users.list(username="root")[0]
    assert not hasattr(listed, "email")  # only admins see emails
    regular.session.close()
    anonymous.session.close()


def _suggest(client: FlaskClient, token: str) -> int:
    response = client.post(
        "/api/v4/code_suggestions/completions",
        headers={"Authorization": f"Bearer {token}"},
        json={"current_file": {"file_name": "a.py", "content_above_cursor": "def f():\n"}},
    )
    return response.status_code


def test_r1_r10_code_suggestions_answers_200_only_with_a_seat_on_a_cloud_licensed_instance(
    admin_client: FlaskClient, app: Flask, fake_portal: FakePortal
) -> None:
    client = app.test_client()
    add_user(app, "dev")
    add_user(app, "other")
    dev, other = token_for(app, "dev"), token_for(app, "other")
    assert _suggest(client, dev) == 401  # no license
    subscription = activated(admin_client, fake_portal)
    assert _suggest(client, dev) == 401  # no add-on
    fake_portal.duo(subscription, 2)
    sync_now(admin_client)
    assert _suggest(client, dev) == 401  # no seat
    from tests.instance.conftest import user_id
    from tests.instance.helpers import change_seats

    change_seats(admin_client, "assign", user_id(app, "dev"))
    assert _suggest(client, dev) == 200
    assert _suggest(client, other) == 401
    from tests.instance.conftest import sign_in

    dev_browser = app.test_client()
    sign_in(dev_browser, "dev")
    page = dev_browser.get("/dashboard").get_data(as_text=True)
    assert "You have access to GitLab Duo" in page
    with app.app_context():
        used = db.session.execute(
            db.select(User.code_suggestions_last_used_at).where(User.username == "dev")
        ).scalar_one()
        assert used == app_clock(app).now()
    # Moving to an offline license ends Duo (R10).
    import io

    from tests.instance.conftest import csrf_token

    offline = fake_portal.add_subscription("O" * 24, license_type=LicenseType.OFFLINE_CLOUD)
    admin_client.post(
        "/admin/subscription/upload",
        data={
            "csrf_token": csrf_token(admin_client, "/admin/subscription"),
            "license_file": (io.BytesIO(fake_portal.license_file(offline).encode()), "l"),
        },
        content_type="multipart/form-data",
    )
    assert _suggest(client, dev) == 401
    assert _suggest(client, "glpat-unknown-token-value") == 401


# -- GraphQL ------------------------------------------------------------------------------------

PURCHASES = "query { addOnPurchases { id name purchasedQuantity assignedQuantity trial } }"
ELIGIBLE = """query($search: String, $ids: [GitlabSubscriptionsAddOnPurchaseID!]!) { selfManagedAddOnEligibleUsers(
  addOnType: CODE_SUGGESTIONS, addOnPurchaseIds: $ids, search: $search) { nodes { id username } } }"""
CREATE = """mutation($purchase: GitlabSubscriptionsAddOnPurchaseID!, $user: UserID!) { userAddOnAssignmentCreate(input:
  {addOnPurchaseId: $purchase, userId: $user}) { errors user { username addOnAssignments(addOnPurchaseIds: [$purchase]) { count } }
  addOnPurchase { assignedQuantity } } }"""
REMOVE = """mutation($purchase: GitlabSubscriptionsAddOnPurchaseID!, $user: UserID!) { userAddOnAssignmentRemove(input:
  {addOnPurchaseId: $purchase, userId: $user}) { errors } }"""
BULK_CREATE = """mutation($purchase: GitlabSubscriptionsAddOnPurchaseID!, $users: [UserID!]!) { userAddOnAssignmentBulkCreate(input:
  {addOnPurchaseId: $purchase, userIds: $users}) { errors users { nodes { username } } } }"""
BULK_REMOVE = """mutation($purchase: GitlabSubscriptionsAddOnPurchaseID!, $users: [UserID!]!) { userAddOnAssignmentBulkRemove(input:
  {addOnPurchaseId: $purchase, userIds: $users}) { errors users { nodes { username } } } }"""


def _graphql(gl: gitlab.Gitlab, query: str, **variables: Any) -> dict[str, Any]:
    # python-gitlab's GraphQL client needs the optional `gql` package; its HTTP layer posts the
    # same request with the same token header.
    result = gl.http_post(
        f"{gl.url}/api/graphql", post_data={"query": query, "variables": variables}
    )
    assert isinstance(result, dict)
    return result


def _gid(app: Flask, username: str) -> str:
    from tests.instance.conftest import user_id

    return f"gid://gitlab/User/{user_id(app, username)}"


@pytest.mark.all_backends
def test_r26_r27_graphql_assignment_mutations_with_real_error_codes(
    gl: gitlab.Gitlab, app: Flask, admin_client: FlaskClient, fake_portal: FakePortal
) -> None:
    assert _graphql(gl, PURCHASES)["data"]["addOnPurchases"] == []
    subscription = activated(admin_client, fake_portal)
    fake_portal.duo(subscription, 2)
    sync_now(admin_client)
    [purchase] = _graphql(gl, PURCHASES)["data"]["addOnPurchases"]
    assert purchase["name"] == "CODE_SUGGESTIONS" and purchase["purchasedQuantity"] == 2
    for name in ("ann", "bob", "cyd"):
        add_user(app, name)
    add_user(app, "guest_user", highest_access_level=AccessLevel.GUEST)
    eligible = _graphql(gl, ELIGIBLE, ids=[purchase["id"]])["data"][
        "selfManagedAddOnEligibleUsers"
    ]["nodes"]
    assert {u["username"] for u in eligible} == {"root", "ann", "bob", "cyd"}  # Ultimate: no guests
    pid = purchase["id"]
    answer = _graphql(gl, CREATE, purchase=pid, user=_gid(app, "ann"))
    assert answer["data"]["userAddOnAssignmentCreate"] == {
        "errors": [],
        "user": {"username": "ann", "addOnAssignments": {"count": 1}},
        "addOnPurchase": {"assignedQuantity": 1},
    }
    answer = _graphql(gl, CREATE, purchase=pid, user=_gid(app, "guest_user"))
    assert answer["data"]["userAddOnAssignmentCreate"]["errors"] == ["INVALID_USER_MEMBERSHIP"]
    answer = _graphql(gl, BULK_CREATE, purchase=pid, users=[_gid(app, "bob"), _gid(app, "cyd")])
    assert answer["data"]["userAddOnAssignmentBulkCreate"]["errors"] == ["NOT_ENOUGH_SEATS"]
    answer = _graphql(
        gl, BULK_CREATE, purchase=pid, users=[_gid(app, "bob"), "gid://gitlab/User/999"]
    )
    assert answer["data"]["userAddOnAssignmentBulkCreate"]["errors"] == ["INVALID_USER_ID_PRESENT"]
    assert assigned_usernames(app) == {"ann"}
    answer = _graphql(gl, CREATE, purchase=pid, user=_gid(app, "bob"))
    answer = _graphql(gl, CREATE, purchase=pid, user=_gid(app, "cyd"))
    assert answer["data"]["userAddOnAssignmentCreate"]["errors"] == ["NO_SEATS_AVAILABLE"]
    answer = _graphql(gl, BULK_REMOVE, purchase=pid, users=[_gid(app, "ann"), _gid(app, "bob")])
    assert answer["data"]["userAddOnAssignmentBulkRemove"]["errors"] == []
    answer = _graphql(gl, BULK_REMOVE, purchase=pid, users=[_gid(app, "ann")])
    assert answer["data"]["userAddOnAssignmentBulkRemove"]["errors"] == ["NO_ASSIGNMENTS_FOUND"]
    answer = _graphql(gl, BULK_CREATE, purchase=pid, users=[_gid(app, "bob"), _gid(app, "cyd")])
    assert answer["data"]["userAddOnAssignmentBulkCreate"]["errors"] == []
    assert (
        _graphql(gl, REMOVE, purchase=pid, user=_gid(app, "cyd"))["data"][
            "userAddOnAssignmentRemove"
        ]["errors"]
        == []
    )
    assert assigned_usernames(app) == {"bob"}


def test_r26_graphql_refuses_non_admins_and_unknown_purchases(
    app: Flask, admin_client: FlaskClient, live_server: Callable[[Flask], Any]
) -> None:
    server = live_server(app)
    add_user(app, "regular")
    session = requests.Session()
    session.trust_env = False
    response = session.post(
        f"{server.url}/api/graphql",
        json={"query": PURCHASES},
        headers={"PRIVATE-TOKEN": token_for(app, "regular")},
    )
    assert response.status_code == 200 and response.json()["errors"]
    response = session.post(f"{server.url}/api/graphql", json={"query": PURCHASES})
    assert "errors" in response.json()
    response = session.post(
        f"{server.url}/api/graphql",
        json={
            "query": CREATE,
            "variables": {
                "purchase": "gid://gitlab/GitlabSubscriptions::AddOnPurchase/77",
                "user": "gid://gitlab/User/1",
            },
        },
        headers={"PRIVATE-TOKEN": token_for(app, "root")},
    )
    assert response.json()["data"]["userAddOnAssignmentCreate"] is None
    assert "does not exist" in response.json()["errors"][0]["message"]
    response = session.post(
        f"{server.url}/api/graphql",
        data="not json",
        headers={"PRIVATE-TOKEN": token_for(app, "root")},
    )
    assert response.status_code == 400
    session.close()
