"""Hostile input for every endpoint of both apps: signed-in worlds, route enumeration, values a
careless parser crashes on, and a snapshot of the whole database to prove a refusal changed nothing.

The routes come from ``app.url_map``, so a route added later is fuzzed without anyone listing it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.routing import Rule

from tests.conftest import SIMULATION_TOKEN

INT64_MAX = 2**63 - 1

# Numbers a lenient parser takes: superscripts and circled digits pass str.isdigit() and crash
# int(); Arabic-Indic and full-width digits are parsed by int() as if they were 0-9; the rest are
# just past what a database column holds, negative, or absurdly long.
HOSTILE_NUMBERS = [
    "²",
    "①",
    "٣",
    "１２",
    "7²",
    str(INT64_MAX + 1),
    str(2**64),
    "9" * 40,
    "-1",
    "-9223372036854775809",
    "0",
    "1e3",
    " 5 ",
    "0x10",
    "1_000",
    "",
]
HOSTILE_TEXT = [
    "x" * 5000,
    "\x00",
    "\r\nX-Injected: 1",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "%",
    "ü" * 300,
]
GRAPHQL_GID_PREFIXES = ("gid://gitlab/User/", "gid://gitlab/GitlabSubscriptions::AddOnPurchase/")


def deep_json(depth: int) -> str:
    """JSON nested ``depth`` levels (built as text: json.dumps itself recurses)."""
    return '{"a":' * depth + "1" + "}" * depth


def deep_list(depth: int) -> str:
    return "[" * depth + "]" * depth


@dataclass
class World:
    """One app with its signed-in clients and the ids real requests would use."""

    app: Flask
    clients: dict[str, FlaskClient]  # role -> client (a session or an anonymous client)
    csrf: dict[str, str]  # role -> that session's CSRF token
    headers: dict[str, dict[str, str]]  # role -> extra headers (API tokens)
    role_of: Callable[[Rule], str]
    path_values: dict[str, list[str]]  # argument name -> plausible values
    field_values: dict[str, list[str]] = field(default_factory=dict)  # plausible form values
    skip: frozenset[str] = frozenset()  # endpoints a fuzzer must not call (sign-out)


def fuzzed_rules(world: World) -> list[Rule]:
    return [
        rule
        for rule in world.app.url_map.iter_rules()
        if rule.endpoint != "static" and rule.endpoint not in world.skip
    ]


def request_headers(world: World, role: str, path: str) -> dict[str, str]:
    headers = dict(world.headers.get(role, {}))
    if role in world.csrf:
        headers["X-CSRFToken"] = world.csrf[role]
    if path.startswith("/-/simulation"):
        headers["Authorization"] = f"Bearer {SIMULATION_TOKEN}"
    return headers


def snapshot(app: Flask) -> dict[str, list[tuple[str, ...]]]:
    """Every row of every table, as text: compare two to prove nothing changed."""
    with app.app_context():
        db = app.extensions["sqlalchemy"]
        rows: dict[str, list[tuple[str, ...]]] = {}
        for table in db.metadata.sorted_tables:
            result = db.session.execute(sa.select(table))
            rows[table.name] = sorted(tuple(repr(value) for value in row) for row in result)
        db.session.rollback()
        return rows


def changed_tables(
    before: dict[str, list[tuple[str, ...]]], after: dict[str, list[tuple[str, ...]]]
) -> list[str]:
    return [name for name in before if before[name] != after.get(name)]


_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|name="csrf-token" content="([^"]+)"')


def session_csrf(client: FlaskClient, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    match = _CSRF.search(page)
    assert match, f"no CSRF token on {path}"
    return match.group(1) or match.group(2)


# -- the portal -----------------------------------------------------------------------------------


def portal_world(app: Flask) -> World:
    from portal.models import Account, Subscription, db
    from tests.portal import helpers

    customer = helpers.make_account(app, "fuzz-customer@example.com")
    name = helpers.make_subscription(app, customer)
    other = helpers.make_subscription(app, helpers.make_account(app, "fuzz-other@example.com"))
    helpers.make_account(app, "fuzz-sales@example.com", role="sales")
    helpers.make_account(app, "fuzz-support@example.com", role="support")
    card, declined = helpers.payment_method_ids(app, customer)
    clients = {
        "customer": helpers.sign_in(app, "fuzz-customer@example.com"),
        "sales": helpers.sign_in(app, "fuzz-sales@example.com"),
        "support": helpers.sign_in(app, "fuzz-support@example.com", path="/support/sign_in"),
        "anonymous": app.test_client(),
    }
    csrf = {
        "customer": session_csrf(clients["customer"], f"/subscriptions/{name}/contact"),
        "sales": session_csrf(clients["sales"], f"/sales/subscriptions/{name}"),
        "support": session_csrf(clients["support"], f"/support/subscriptions/{name}"),
        "anonymous": session_csrf(clients["anonymous"], "/trials/duo"),
    }
    with app.app_context():
        account_ids = [str(i) for i in db.session.execute(sa.select(Account.id)).scalars()]
        assert db.session.execute(sa.select(sa.func.count(Subscription.id))).scalar() == 2

    def role_of(rule: Rule) -> str:
        blueprint = rule.endpoint.partition(".")[0]
        return {"customer": "customer", "sales": "sales", "support": "support"}.get(
            blueprint, "anonymous"
        )

    return World(
        app=app,
        clients=clients,
        csrf=csrf,
        headers={},
        role_of=role_of,
        path_values={
            "name": [name, other, "A-S99999999", "²"],
            "invoice_id": ["1", "2"],
            "purchase_id": ["1", "2"],
        },
        field_values={
            "seats": ["5", "1", "100"],
            "add_on_seats": ["5"],
            "days": ["10"],
            "payment_method": [str(card), str(declined), *account_ids],
            "step": ["purchase", "summary"],
            "kind": [
                "duo_pro",
                "add_on_seats",
                "duo_enterprise",
                "subscription_seats",
                "renewal",
                "trial_extension",
            ],
            "period": ["Q1", "Q2"],
            "maximum": ["10"],
            "email": ["fuzz@example.com"],
            "name": ["Fuzz"],
            "company": ["Fuzz Inc"],
            "country": ["DE"],
            "subscription_name": [name],
            "first_name": ["Fuzz"],
            "last_name": ["Er"],
            "add_on": ["duo_pro", "duo_enterprise"],
            "login": ["fuzz-customer@example.com"],
            "password": [helpers.PASSWORD],
            "q": [name],
            "status": ["pending"],
            "code": ["1"],
            "at": ["2026-03-02T00:00:00Z"],
        },
        skip=frozenset({"auth.sign_out"}),
    )


# -- the instance ---------------------------------------------------------------------------------


def instance_world(app: Flask, activate: Callable[[FlaskClient], None]) -> World:
    from instance.models import AccessLevel, AddOnPurchase, User, db
    from instance.tokens import create_token
    from tests.instance.conftest import add_user, sign_in
    from webcore.clock import app_clock

    root = add_user(app, "root", admin=True, highest_access_level=AccessLevel.OWNER)
    victim = add_user(app, "victim")
    add_user(app, "bystander")
    admin = app.test_client()
    sign_in(admin, "root")
    activate(admin)
    with app.app_context():
        user = db.session.get(User, root)
        token = create_token(user, "fuzz", ["api"], app_clock(app).now())
        purchase_ids = [str(i) for i in db.session.execute(sa.select(AddOnPurchase.id)).scalars()]
        db.session.commit()
    clients = {"admin": admin, "anonymous": app.test_client(), "api": app.test_client()}
    csrf = {
        "admin": session_csrf(admin, "/admin/subscription"),
        "anonymous": session_csrf(clients["anonymous"], "/users/sign_in"),
    }

    def role_of(rule: Rule) -> str:
        if rule.rule.startswith(("/api/v4", "/api/graphql")):
            return "api"
        return "admin" if rule.endpoint.startswith("admin.") else "anonymous"

    return World(
        app=app,
        clients=clients,
        csrf=csrf,
        headers={"api": {"PRIVATE-TOKEN": token}},
        role_of=role_of,
        path_values={"user_id": [str(victim), str(victim + 1), "0"]},
        field_values={
            "action": ["assign", "remove"],
            "user_ids": [str(victim), str(root)],
            "search": ["vic"],
            "filter": ["assigned", "unassigned"],
            "sort": ["name", "last_used"],
            "page": ["1", "2"],
            "per_page": ["1", "100"],
            "username": ["fuzzed"],
            "email": ["fuzzed@example.com"],
            "name": ["Fuzzed"],
            "password": ["long enough password"],
            "highest_access_level": ["30", "50"],
            "state": ["active", "blocked"],
            "bot_type": ["", "service_account"],
            "admin": ["on"],
            "terms": ["accepted"],
            "activation_code": ["Abcdefghijklmnopqrstuvw1"],
            "license_text": ["not a license"],
            "addOnPurchaseId": [
                f"gid://gitlab/GitlabSubscriptions::AddOnPurchase/{i}" for i in purchase_ids
            ],
            "userId": [f"gid://gitlab/User/{victim}"],
        },
        skip=frozenset({"auth.sign_out"}),
    )


GRAPHQL_QUERIES = [
    "query { addOnPurchases { id purchasedQuantity assignedQuantity } }",
    "query($t: GitlabSubscriptionsAddOnType!, $f: Int) "
    "{ selfManagedAddOnEligibleUsers(addOnType: $t, addOnPurchaseIds: [], first: $f) { nodes { id } } }",
    "mutation($p: GitlabSubscriptionsAddOnPurchaseID!, $u: UserID!) { userAddOnAssignmentCreate(input: "
    "{addOnPurchaseId: $p, userId: $u}) { errors } }",
    "mutation($p: GitlabSubscriptionsAddOnPurchaseID!, $u: UserID!) { userAddOnAssignmentRemove(input: "
    "{addOnPurchaseId: $p, userId: $u}) { errors } }",
    "mutation($p: GitlabSubscriptionsAddOnPurchaseID!, $us: [UserID!]!) { userAddOnAssignmentBulkCreate(input: "
    "{addOnPurchaseId: $p, userIds: $us}) { errors } }",
    "mutation($p: GitlabSubscriptionsAddOnPurchaseID!, $us: [UserID!]!) { userAddOnAssignmentBulkRemove(input: "
    "{addOnPurchaseId: $p, userIds: $us}) { errors } }",
    "{" * 600 + "}" * 600,
    "query { " + "addOnPurchases { id } " * 2000 + "}",
]


def iter_get_rules(world: World) -> Iterator[tuple[Rule, str]]:
    """Every rule answering GET, with plausible path values filled in."""
    for rule in fuzzed_rules(world):
        if "GET" not in (rule.methods or ()):
            continue
        values = {name: world.path_values.get(name, ["1"])[0] for name in rule.arguments}
        yield rule, build_path(rule, values)


def build_path(rule: Rule, values: dict[str, str]) -> str:
    """The rule's path with ``values`` put in raw (hostile values must reach the router)."""
    from urllib.parse import quote

    path = rule.rule
    for name, value in values.items():
        path = re.sub(r"<(?:[^:<>]+:)?" + re.escape(name) + r">", quote(value, safe=""), path)
    return path


__all__ = ["Any"]
