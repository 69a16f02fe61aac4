"""Property-based fuzzing of every endpoint of both apps (hypothesis): no hostile path, query,
form or JSON value gets a 5xx, and a request refused with a 4xx changes nothing in the database.

Routes are read from ``app.url_map``, so a new route is fuzzed without being listed. Each request
is sent as the role that can reach the route (customer, sales, support, admin, API token), with
that session's CSRF token, so hostile values reach the handlers rather than the CSRF check.

Size: PROVLAB_FUZZ_EXAMPLES requests per app (default 200, a few seconds); raise it for a deeper
run, e.g. ``PROVLAB_FUZZ_EXAMPLES=5000 .venv/bin/python -m pytest tests/test_fuzz_endpoints.py``.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.instance.fake_portal import PORTAL_URL, FakePortal
from tests.support import hostile
from tests.support.hostile import World

EXAMPLES = int(os.environ.get("PROVLAB_FUZZ_EXAMPLES", "200"))

# The writes a refusal is meant to make, by path: a failed sign-in is counted towards the
# lockout (Devise's lockable, webcore/lockout.py), so ten wrong passwords lock the account; a
# rotated token presented to rotate again revokes the tokens rotated from it (GitLab's automatic
# reuse detection, instance/api_tokens.py).
SIGN_IN_PATHS = {"/users/sign_in", "/support/sign_in"}
COUNTED_ON_FAILED_SIGN_IN = ["sign_in_lockouts"]
REUSE_REVOKES = ["personal_access_tokens"]


def _meant_on_refusal(path: str, status: int, changed: list[str]) -> bool:
    if path in SIGN_IN_PATHS:
        return status == 401 and changed == COUNTED_ON_FAILED_SIGN_IN
    if path.startswith("/api/v4/personal_access_tokens/") and path.endswith("/rotate"):
        return status == 401 and changed == REUSE_REVOKES
    return False


RAW_JSON = [
    hostile.deep_json(1000),
    hostile.deep_list(50_000),
    hostile.deep_json(40),
    "{",
    "[1,",
    '{"a": 1, "a": 2}',
    "NaN",
    '"\\ud800"',
    "1" * 5000,
    "null",
    "[]",
]


def _scalar(world: World, name: str) -> st.SearchStrategy[str]:
    # Half plausible, half hostile: a hostile seats count only reaches the purchase code when
    # the subscription and the step are real.
    bad = st.one_of(st.sampled_from(hostile.HOSTILE_NUMBERS), st.sampled_from(hostile.HOSTILE_TEXT))
    plausible = world.field_values.get(name)
    return st.one_of(st.sampled_from(plausible), bad) if plausible else bad


def _json_value(world: World, name: str) -> st.SearchStrategy[Any]:
    gids = [
        prefix + number
        for prefix in hostile.GRAPHQL_GID_PREFIXES
        for number in hostile.HOSTILE_NUMBERS[:8]
    ]
    leaf = st.one_of(
        _scalar(world, name),
        st.sampled_from(gids),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.sampled_from([2**63, 2**63 - 1, -(2**63) - 1, 2**31, -1, 0]),
        st.booleans(),
        st.none(),
        st.floats(allow_nan=False),
    )
    return st.recursive(leaf, lambda inner: st.lists(inner, max_size=3), max_leaves=6)


def _graphql_body(world: World) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {
            "query": st.sampled_from(hostile.GRAPHQL_QUERIES),
            "variables": st.fixed_dictionaries(
                {},
                optional={
                    "p": _json_value(world, "addOnPurchaseId"),
                    "u": _json_value(world, "userId"),
                    "us": st.lists(_json_value(world, "userId"), max_size=3),
                    "t": st.sampled_from(["CODE_SUGGESTIONS", "DUO_ENTERPRISE", "X", 1]),
                    "f": _json_value(world, "first"),
                },
            ),
        }
    )


def _send(world: World, data: st.DataObject) -> tuple[str, str, Any, Callable[[], Any]]:
    """Draw one hostile request: (endpoint, path, what was sent, a call sending it)."""
    rules = hostile.fuzzed_rules(world)
    rule = data.draw(st.sampled_from(rules), label="rule")
    method = data.draw(st.sampled_from(sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})))
    values = {
        name: data.draw(
            st.one_of(
                st.sampled_from(world.path_values.get(name, ["1"])),
                st.sampled_from([*hostile.HOSTILE_NUMBERS, "x", "a/b"]),
            ),
            label=name,
        )
        for name in rule.arguments
    }
    path = hostile.build_path(rule, values)
    names = sorted(world.field_values)
    query = data.draw(
        st.dictionaries(
            st.sampled_from(names), st.deferred(lambda: _scalar(world, "q")), max_size=3
        )
        | st.dictionaries(
            st.sampled_from(["page", "per_page", "code", "download", "filter", "sort"]),
            st.sampled_from(["1", "2", *hostile.HOSTILE_NUMBERS]),
            max_size=2,
        ),
        label="query",
    )
    role = world.role_of(rule)
    headers = hostile.request_headers(world, role, path)
    kind = "none" if method == "GET" else data.draw(st.sampled_from(["form", "json", "raw"]))
    body: Any = None
    content_type: str | None = None
    if kind == "form":
        body = data.draw(
            st.fixed_dictionaries(
                {},
                optional={
                    name: st.lists(_scalar(world, name), min_size=1, max_size=2) for name in names
                },
            )
        )
    elif kind == "json":
        content_type = "application/json"
        if rule.rule == "/api/graphql":
            body = json.dumps(data.draw(_graphql_body(world)))
        else:
            fields = data.draw(
                st.lists(
                    st.sampled_from(names + ["request", "current_file"]), max_size=5, unique=True
                )
            )
            body = json.dumps({name: data.draw(_json_value(world, name)) for name in fields})
    elif kind == "raw":
        content_type = "application/json"
        body = data.draw(st.sampled_from(RAW_JSON))
    client = world.clients[role]

    def call() -> Any:
        return client.open(
            path,
            method=method,
            query_string=query,
            data=body,
            content_type=content_type,
            headers=headers,
        )

    shown = (method, query, body if not isinstance(body, str) else body[:120])
    return rule.endpoint, path, shown, call


def _fuzz(world: World) -> dict[str, Any]:
    """Send EXAMPLES hostile requests; return what was sent and every failure seen."""
    report: dict[str, Any] = {
        "sent": 0,
        "server_errors": [],
        "distinct": set(),
        "changed_on_refusal": [],
    }

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.data())
    def run(data: st.DataObject) -> None:
        endpoint, path, sent, call = _send(world, data)
        before = hostile.snapshot(world.app)
        report["sent"] += 1
        try:
            status = call().status_code
        except Exception as exc:  # noqa: BLE001 - an exception here is the 5xx being hunted
            report["server_errors"].append((path, sent, repr(exc)[:200]))
            report["distinct"].add((endpoint, type(exc).__name__))
            return
        if status >= 500:
            report["server_errors"].append((path, sent, status))
            report["distinct"].add((endpoint, status))
        elif status >= 400:
            changed = hostile.changed_tables(before, hostile.snapshot(world.app))
            if changed and not _meant_on_refusal(path, status, changed):
                report["changed_on_refusal"].append((path, sent, status, changed))

    run()
    return report


def _check(report: dict[str, Any], app_name: str) -> None:
    errors = report["server_errors"]
    distinct = sorted(map(str, report["distinct"]))
    print(  # noqa: T201 - the numbers a deeper run is for (pytest -s)
        f"{app_name}: {report['sent']} requests, {len(errors)} 5xx, distinct: {distinct}"
    )
    assert not errors, "\n".join(repr(error)[:300] for error in errors[:25])
    assert not report["changed_on_refusal"], report["changed_on_refusal"][:10]


def test_fuzz_every_portal_endpoint(portal_app: Flask) -> None:
    _check(_fuzz(hostile.portal_world(portal_app)), "portal")


@pytest.fixture
def wired_instance(make_instance: Callable[..., Flask]) -> tuple[Flask, FakePortal]:
    from instance.portal_client import SESSION_HOOK
    from webcore.clock import app_clock
    from webcore.transport import in_process_session

    portal = FakePortal()
    app = make_instance(
        PORTAL_URL=PORTAL_URL, PORTAL_TRANSPORT="inprocess", PORTAL_PUBLIC_KEYS=portal.jwks
    )
    portal.clock = app_clock(app)
    app.extensions[SESSION_HOOK] = in_process_session(portal.app, PORTAL_URL)
    return app, portal


def activate_with_duo(portal: FakePortal) -> Callable[[FlaskClient], None]:
    from tests.instance.helpers import CODE, activate

    def run(client: FlaskClient) -> None:
        portal.duo(portal.add_subscription(CODE), 5)
        status, page = activate(client)
        assert status == 200 and "successfully activated" in page, page

    return run


def test_fuzz_every_instance_endpoint(wired_instance: tuple[Flask, FakePortal]) -> None:
    app, portal = wired_instance
    _check(_fuzz(hostile.instance_world(app, activate_with_duo(portal))), "instance")


def test_fuzz_gitlab_com_group_and_member_endpoints(make_instance: Callable[..., Flask]) -> None:
    """GitLab.com's groups, projects, members, billable members and namespaces APIs and its
    OAuth endpoints (a registered application), on a real hierarchy: hostile ids, paths and
    fields get no 5xx, and a refused request changes nothing."""
    from instance.gitlab_com.groups import add_member, create_group, create_project
    from instance.gitlab_com.oauth import register_application
    from instance.models import User, db
    from webcore.clock import app_clock

    app = make_instance(GITLAB_COM=True)
    world = hostile.instance_world(app, lambda client: None)
    with app.app_context():
        now = app_clock(app).now()
        acme = create_group("Acme", "acme", now)
        platform = create_group("Platform", "platform", now, parent=acme)
        api = create_project(platform, "Api", "api", now)
        users = {user.username: user for user in db.session.scalars(db.select(User))}
        add_member(acme, users["victim"], 50, now)
        add_member(platform, users["bystander"], 30, now)
        add_member(api, users["victim"], 30, now)
        db.session.commit()
        victim, bystander, acme_id = users["victim"].id, users["bystander"].id, acme.id
        register_application(
            "Portal", "http://portal.test/cb", ("api",), now, uid="client", secret="secret"
        )
        db.session.commit()
    ours = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith(
            ("/api/v4/groups", "/api/v4/projects", "/api/v4/namespaces", "/oauth/")
        )
    }
    refs = ["acme", "acme/platform", "acme/platform/api", str(acme_id), "nope"]
    world = dataclasses.replace(
        world,
        skip=world.skip | {rule.endpoint for rule in app.url_map.iter_rules()} - ours,
        path_values={
            "group_ref": refs,
            "source_ref": refs,
            "project_ref": refs,
            "namespace_ref": refs,
            "user_id": [str(victim), str(bystander), "0"],
        },
        field_values=world.field_values
        | {
            "access_level": ["10", "30", "50"],
            "user_id": [str(victim), str(bystander)],
            "username": ["victim", "bystander"],
            "expires_at": ["2099-01-01", "2000-01-01"],
            "skip_subresources": ["true", "false"],
            "top_level_only": ["true"],
            "owned": ["true"],
            "min_access_level": ["30"],
            "show_seat_info": ["true"],
            "include_subgroups": ["true"],
            "query": ["vic"],
            "order_by": ["name", "path", "id"],
            "owned_only": ["true"],
            "full_path_search": ["true"],
            "client_id": ["client"],
            "client_secret": ["secret", "wrong"],
            "redirect_uri": ["http://portal.test/cb", "http://evil.test/cb"],
            "response_type": ["code", "token"],
            "grant_type": ["authorization_code", "refresh_token", "password"],
            "code_challenge_method": ["S256", "plain", "md5"],
        },
    )
    _check(_fuzz(world), "gitlab.com groups")
