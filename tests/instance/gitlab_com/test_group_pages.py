"""A group's GitLab Duo pages on GitLab.com: Settings → GitLab Duo and Settings → Usage Quotas →
GitLab Duo, for the group's owners only; the seat rules and errors of self-managed (R26, R27)
on the group's purchase, offered to its billable members only (R2, R31)."""

from __future__ import annotations

from flask import Flask

from instance.gitlab_com.provisioning import group_duo_purchase
from instance.models import db
from protocol.license import Plan
from tests.instance.conftest import csrf_token, user_id
from tests.instance.fake_portal import FakePortal
from tests.instance.gitlab_com.conftest import provision, push, signed_in

QUOTAS = "/groups/acme/-/usage_quotas"
SEATS = "/groups/acme/-/usage_quotas/gitlab_duo/seats"


def _assigned(app: Flask, root_id: int) -> list[str]:
    with app.app_context():
        purchase = group_duo_purchase(root_id)
        assert purchase is not None
        rows = db.session.execute(
            db.text(
                "SELECT users.username FROM user_add_on_assignments JOIN users ON users.id = "
                "user_add_on_assignments.user_id WHERE add_on_purchase_id = :id ORDER BY 1"
            ),
            {"id": purchase.id},
        )
        return [row[0] for row in rows]


def test_the_owner_sees_the_groups_billable_members_and_seat_usage_r31(
    app: Flask, fake_portal: FakePortal, hierarchy: dict[str, int]
) -> None:
    push(app, fake_portal, provision(Plan.ULTIMATE, 10, duo=2)(hierarchy["root"]))
    page = signed_in(app, "owner").get(QUOTAS).get_data(as_text=True)
    assert 'data-testid="seats-in-use">5 / 10' in page  # Ultimate: the Guest is not billable
    assert 'data-testid="seats-used">0 / 2' in page
    for username in ("owner", "dev", "reporter", "projdev", "svc"):
        assert f'data-username="{username}"' in page
    for username in ("guest", "blocked", "support-bot", "outsider"):
        assert f'data-username="{username}"' not in page
    assert "Assign seat" in page and "Remove seat" in page
    settings = signed_in(app, "owner").get("/groups/acme/-/settings/gitlab_duo")
    assert settings.status_code == 200 and 'data-testid="toggle-dev"' in settings.get_data(
        as_text=True
    )


def test_only_owners_of_the_top_level_group_see_it(
    app: Flask, fake_portal: FakePortal, hierarchy: dict[str, int]
) -> None:
    push(app, fake_portal, provision(duo=2)(hierarchy["root"]))
    assert signed_in(app, "dev").get(QUOTAS).status_code == 404
    assert signed_in(app, "outsider").get(QUOTAS).status_code == 404
    assert signed_in(app, "owner").get("/groups/acme/platform/-/usage_quotas").status_code == 404
    assert app.test_client().get(QUOTAS).status_code == 302  # signed out: sign in first


def test_assign_and_remove_seats_with_the_self_managed_errors_r26_r27(
    app: Flask, fake_portal: FakePortal, hierarchy: dict[str, int]
) -> None:
    root = hierarchy["root"]
    push(app, fake_portal, provision(duo=2)(root))
    client = signed_in(app, "owner")
    ids = {name: user_id(app, name) for name in ("dev", "reporter", "projdev", "outsider")}

    def post(action: str, *names: str) -> str:
        token = csrf_token(client, QUOTAS)
        data = {"csrf_token": token, "action": action, "user_ids": [ids[n] for n in names]}
        response = client.post(SEATS, data=data, follow_redirects=True)
        return response.get_data(as_text=True)

    page = post("assign", "dev", "reporter", "projdev")
    assert "NOT_ENOUGH_SEATS" in page and _assigned(app, root) == []
    assert "INVALID_USER_MEMBERSHIP" in post("assign", "outsider")
    assert "2 users assigned a seat." in post("assign", "dev", "projdev")
    assert _assigned(app, root) == ["dev", "projdev"]
    assert "1 user removed from their seat." in post("remove", "dev")
    assert _assigned(app, root) == ["projdev"]


def test_a_non_owner_cannot_change_seats(
    app: Flask, fake_portal: FakePortal, hierarchy: dict[str, int]
) -> None:
    push(app, fake_portal, provision(duo=2)(hierarchy["root"]))
    client = signed_in(app, "dev")
    token = csrf_token(client, "/dashboard")
    response = client.post(
        SEATS, data={"csrf_token": token, "action": "assign", "user_ids": [user_id(app, "dev")]}
    )
    assert response.status_code == 404 and _assigned(app, hierarchy["root"]) == []
