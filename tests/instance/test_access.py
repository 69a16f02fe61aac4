"""Every /admin page and admin API refuses anonymous and non-admin users."""

from __future__ import annotations

import re

from flask import Flask

from instance.models import AccessLevel
from tests.instance.conftest import add_user, sign_in


def _admin_routes(app: Flask) -> list[tuple[str, str]]:
    routes = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/admin"):
            continue
        path = re.sub(r"<(?:id:)?[^>]+>", "1", rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            routes.append((method, path))
    return routes


def test_every_admin_route_refuses_anonymous_and_non_admin_users(app: Flask) -> None:
    routes = _admin_routes(app)
    assert ("GET", "/admin/subscription") in routes
    assert ("POST", "/admin/license/sync_seat_link") in routes
    assert ("POST", "/admin/gitlab_duo/seats") in routes
    add_user(app, "regular", highest_access_level=AccessLevel.OWNER)
    anonymous = app.test_client()
    regular = app.test_client()
    sign_in(regular, "regular")
    app.config["WTF_CSRF_ENABLED"] = False  # so that a POST reaches the access check
    for method, path in routes:
        response = anonymous.open(path, method=method)
        assert response.status_code == 302, (method, path)
        assert "/users/sign_in" in response.headers["Location"], (method, path)
        response = regular.open(path, method=method)
        assert response.status_code == 403, (method, path, response.status_code)


def test_regular_user_sees_only_whether_they_have_duo_access(app: Flask) -> None:
    add_user(app, "regular")
    client = app.test_client()
    sign_in(client, "regular")
    page = client.get("/dashboard").get_data(as_text=True)
    assert "You do not have access to GitLab Duo" in page
    assert "/admin/subscription" not in page


def test_diagnostics_bundle_for_admins_by_session_or_token(app: Flask) -> None:
    from tests.instance.test_api import token_for

    add_user(app, "root", admin=True)
    add_user(app, "regular")
    client = app.test_client()
    response = client.get(
        "/admin/subscription/diagnostics.json", headers={"PRIVATE-TOKEN": token_for(app, "root")}
    )
    assert response.status_code == 200
    bundle = response.get_json()
    assert bundle["format"] == "provlab-instance-diagnostics/1" and bundle["license"] is None
    regular = client.get(
        "/admin/subscription/diagnostics.json", headers={"PRIVATE-TOKEN": token_for(app, "regular")}
    )
    assert regular.status_code == 403
    bad = client.get("/admin/subscription/diagnostics.json", headers={"PRIVATE-TOKEN": "glpat-x"})
    assert bad.status_code == 401
    sign_in(client, "root")
    assert (
        client.get("/admin/subscription/diagnostics.json?download=1")
        .headers["Content-Disposition"]
        .startswith("attachment")
    )
