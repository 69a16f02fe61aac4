"""Safe methods are safe: GET and HEAD, even with a complete form body and a valid CSRF token,
change nothing in either app's database, on every route (read from ``app.url_map``).

Before this held, a HEAD with a form body ran the POST branch of routes that tested
``request.method == "GET"`` (CSRF protection skips GET and HEAD): it bought seats, created a Duo
purchase, created an admin user, renamed a user, recorded a trial request.
"""

from __future__ import annotations

from flask import Flask

from tests.support import hostile
from tests.support.hostile import World
from tests.test_fuzz_endpoints import activate_with_duo, wired_instance  # noqa: F401


def _form(world: World, role: str) -> dict[str, str]:
    """Every field any form of the app reads, with a value its POST branch would act on."""
    form = {name: values[0] for name, values in world.field_values.items()}
    form.update(step="purchase", seats="5", username="safe_methods", name="Renamed by HEAD")
    if role in world.csrf:
        form["csrf_token"] = world.csrf[role]
    return form


def _assert_safe(world: World) -> list[str]:
    checked = []
    for rule, path in hostile.iter_get_rules(world):
        role = world.role_of(rule)
        client = world.clients[role]
        headers = hostile.request_headers(world, role, path)
        for method in ("HEAD", "GET"):
            before = hostile.snapshot(world.app)
            response = client.open(path, method=method, data=_form(world, role), headers=headers)
            after = hostile.snapshot(world.app)
            assert response.status_code < 500, (method, path, response.status_code)
            assert hostile.changed_tables(before, after) == [], (method, path)
            checked.append(f"{method} {path}")
    return checked


def test_get_and_head_with_a_body_change_nothing_on_the_portal(portal_app: Flask) -> None:
    checked = _assert_safe(hostile.portal_world(portal_app))
    assert "HEAD /trials/duo" in checked
    assert any(
        line.startswith("HEAD /subscriptions/") and "buy_duo_pro" in line for line in checked
    )


def test_get_and_head_with_a_body_change_nothing_on_the_instance(
    wired_instance: tuple[Flask, object],  # noqa: F811
) -> None:
    app, portal = wired_instance
    checked = _assert_safe(hostile.instance_world(app, activate_with_duo(portal)))  # type: ignore[arg-type]
    assert "HEAD /admin/users/new" in checked
