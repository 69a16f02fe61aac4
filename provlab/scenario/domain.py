"""The scenario vocabulary of both parties: setup, what people do, and what they see.

Setup builds the starting point directly (a customer's subscriptions on the portal, users on the
instance, an activation or a license file). Steps then act as people do: public forms and admin
buttons go over HTTP; purchases and sales orders call the portal's operations as the customer or
sales person would through their pages. Expectations read each party's state.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from flask import Flask

from protocol.clock import format_utc
from provlab.scenario.loader import LineDict, Scenario
from provlab.scenario.vocabulary import StepContext, action, expectation
from provlab.scenario.world import World
from webcore.transaction import unit_of_work

CUSTOMER_EMAIL = "customer@scenario.test"
SALES_EMAIL = "sales@scenario.test"
ADMIN_USERNAME = "root"
ADMIN_PASSWORD = "scenario-admin-password"

ROLES = {"none": 0, "guest": 10, "reporter": 20, "developer": 30, "maintainer": 40, "owner": 50}


def _now(app: Flask) -> dt.datetime:
    from webcore.clock import app_clock

    return app_clock(app).now()


def _date(context: StepContext | None, value: Any, scenario: Scenario, line: int) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise scenario.error(line, f"{value!r} is not a date (YYYY-MM-DD)") from None


# -- setup -----------------------------------------------------------------------------------------

PORTAL_SUBSCRIPTION_KEYS = {
    "name",
    "plan",
    "seats",
    "kind",
    "license_type",
    "starts_on",
    "ends_on",
    "contact_email",
    "contact_name",
    "contact_country",
    "review_terms",
    "add_ons",
    "auto_renew",
}
INSTANCE_KEYS = {"version", "users", "activate", "license_file", "proxy", "hostname"}
USER_KEYS = {"username", "name", "email", "role", "state", "bot", "admin"}


def setup_portal(world: World, scenario: Scenario, section: Any) -> None:
    from portal.models import AddOnPurchase, Role
    from portal.setup import create_account
    from portal.subscriptions import create_subscription

    if not isinstance(section, LineDict) or set(section) - {"subscriptions"}:
        raise scenario.error(
            getattr(section, "line", scenario.setup.line), "setup.portal takes 'subscriptions'"
        )
    app = world.portal
    with unit_of_work(app):
        customer = create_account(
            CUSTOMER_EMAIL, "Scenario Customer", "scenario-customer", Role.CUSTOMER, app
        )
        create_account(SALES_EMAIL, "Scenario Sales", "scenario-sales", Role.SALES, app)
        for entry in section.get("subscriptions") or []:
            line = getattr(entry, "line", section.line)
            if not isinstance(entry, dict) or not {"name", "plan", "seats"} <= set(entry):
                raise scenario.error(line, "a subscription needs at least name, plan and seats")
            unknown = set(entry) - PORTAL_SUBSCRIPTION_KEYS
            if unknown:
                raise scenario.error(
                    line, f"unknown subscription key(s) {', '.join(sorted(unknown))}"
                )
            now = _now(app)
            starts_on = _date(None, entry.get("starts_on", now.date().isoformat()), scenario, line)
            subscription = create_subscription(
                customer,
                name=str(entry["name"]),
                plan=str(entry["plan"]),
                seats=int(entry["seats"]),
                starts_on=starts_on,
                ends_on=_date(None, entry["ends_on"], scenario, line)
                if "ends_on" in entry
                else None,
                now=now,
                kind=str(entry.get("kind", "paid")),
                license_type=entry.get("license_type"),
                review_cycle=str(entry.get("review_terms", "quarterly")),
                auto_renew=bool(entry.get("auto_renew", True)),
                contact_name=entry.get("contact_name", "Casey Contact"),
                contact_email=entry.get("contact_email", "contact@customer.test"),
                contact_country=str(entry.get("contact_country", "DE")),
            )
            for add_on in entry.get("add_ons") or []:
                app.extensions["sqlalchemy"].session.add(
                    AddOnPurchase(
                        subscription=subscription,
                        tier=str(add_on["tier"]),
                        quantity=int(add_on["quantity"]),
                        starts_on=subscription.starts_on,
                        ends_on=subscription.ends_on,
                        trial=bool(add_on.get("trial", False)),
                        created_at=now,
                    )
                )


def setup_instance(world: World, scenario: Scenario, section: Any) -> None:
    from instance.models import UserState
    from instance.users import create_user
    from webcore.auth import hash_password

    if not isinstance(section, LineDict):
        raise scenario.error(scenario.setup.line, "setup.instance must be a mapping")
    unknown = set(section) - INSTANCE_KEYS
    if unknown:
        raise scenario.error(section.line, f"unknown instance key(s) {', '.join(sorted(unknown))}")
    app = world.instance
    if "version" in section:
        app.config["GITLAB_VERSION"] = str(section["version"])
    if "hostname" in section:
        app.config["HOSTNAME"] = str(section["hostname"])
    with unit_of_work(app):
        now = _now(app)
        create_user(
            username=ADMIN_USERNAME,
            email="root@instance.test",
            name="Administrator",
            now=now,
            password_hash=hash_password(ADMIN_PASSWORD),
            admin=True,
            highest_access_level=50,
        )
        for entry in _expand_users(section.get("users") or []):
            line = getattr(entry, "line", section.line)
            unknown = set(entry) - USER_KEYS
            if unknown or "username" not in entry:
                raise scenario.error(
                    line, f"a user needs a username; allowed keys: {', '.join(sorted(USER_KEYS))}"
                )
            role = str(entry.get("role", "developer"))
            if role not in ROLES:
                raise scenario.error(line, f"role must be one of {', '.join(ROLES)}")
            state = str(entry.get("state", UserState.ACTIVE))
            create_user(
                username=str(entry["username"]),
                email=str(entry.get("email", f"{entry['username']}@instance.test")),
                name=str(entry.get("name", str(entry["username"]).title())),
                now=now,
                admin=bool(entry.get("admin", False)),
                state=state,
                bot_type=entry.get("bot"),
                highest_access_level=ROLES[role],
            )
    if "activate" in section:
        response = activate_instance(world, str(section["activate"]))
        if response.status_code != 200 or "successfully activated" not in response.text:
            raise scenario.error(section.line, f"activation failed: {_flash(response.text)}")
    if "license_file" in section:
        response = upload_license_file(world, str(section["license_file"]))
        if response.status_code != 200:
            raise scenario.error(section.line, f"license upload failed: {_flash(response.text)}")
    if "proxy" in section:  # set after activation: a proxy setting changed later breaks syncing
        world.set_proxy(str(section["proxy"]))


def _flash(html: str) -> str:
    import re

    messages = re.findall(r'<div class="flash [a-z]+" role="alert">(.*?)</div>', html, re.S)
    return "; ".join(m.strip() for m in messages) or "no message shown"


def _expand_users(entries: list[Any]) -> list[Any]:
    """``alice`` is ``{username: alice}``; ``{prefix: dev, count: 50}`` is dev01..dev50."""
    expanded: list[Any] = []
    for entry in entries:
        if isinstance(entry, str):
            expanded.append({"username": entry})
        elif isinstance(entry, dict) and "prefix" in entry and "count" in entry:
            count = int(entry["count"])
            width = max(2, len(str(count)))
            extra = {k: v for k, v in entry.items() if k not in ("prefix", "count")}
            expanded += [
                {"username": f"{entry['prefix']}{n:0{width}d}", **extra}
                for n in range(1, count + 1)
            ]
        else:
            expanded.append(entry)
    return expanded


def usernames(names: Any) -> list[str]:
    """A list of usernames, where ``dev01..dev20`` stands for the range."""
    import re

    result: list[str] = []
    for name in names:
        found = re.fullmatch(r"([A-Za-z_-]+)(\d+)\.\.\1?(\d+)", str(name))
        if found:
            prefix, first, last = found.group(1), found.group(2), found.group(3)
            result += [f"{prefix}{n:0{len(first)}d}" for n in range(int(first), int(last) + 1)]
        else:
            result.append(str(name))
    return result


def activation_code(world: World, subscription_name: str) -> str:
    from portal.licensing import ensure_activation_code
    from portal.subscriptions import find_subscription

    with unit_of_work(world.portal):
        subscription = find_subscription(subscription_name)
        if subscription is None:
            raise LookupError(f"no subscription {subscription_name} on the portal")
        return ensure_activation_code(subscription)


def activate_instance(world: World, subscription_name: str) -> Any:
    """The admin pastes the subscription's activation code into Admin → Subscription."""
    code = activation_code(world, subscription_name)
    client = world.admin_client()
    page = client.get(f"{world.instance_url}/admin/subscription")
    token = _csrf(page.text)
    response = client.post(
        f"{world.instance_url}/admin/subscription/activate",
        data={"activation_code": code, "terms": "accepted", "csrf_token": token},
    )
    world.last_admin_page = response.text
    return response


def upload_license_file(world: World, subscription_name: str) -> Any:
    from portal.licensing import license_file_for
    from portal.subscriptions import find_subscription

    with unit_of_work(world.portal):
        subscription = find_subscription(subscription_name)
        if subscription is None:
            raise LookupError(f"no subscription {subscription_name} on the portal")
        text = license_file_for(subscription, _now(world.portal)).token  # the armored file
    client = world.admin_client()
    token = _csrf(client.get(f"{world.instance_url}/admin/subscription").text)
    response = client.post(
        f"{world.instance_url}/admin/subscription/upload",
        data={"csrf_token": token},
        files={"license_file": ("license.gitlab-license", text.encode())},
    )
    world.last_admin_page = response.text
    return response


def _csrf(html: str) -> str:
    import re

    found = re.search(r'name="csrf-token" content="([^"]+)"', html) or re.search(
        r'name="csrf_token"[^>]*value="([^"]+)"', html
    )
    if found is None:
        raise AssertionError("the page carries no CSRF token")
    return found.group(1)


# -- actions: the customer, sales, support ------------------------------------------------------------


@action(
    "request_trial",
    "- request_trial: {subscription: A-S00000001, email: contact@customer.test, country: IR}",
)
def request_trial(context: StepContext, args: Any) -> None:
    """Submit the public GitLab Duo trial form (JSON endpoint); it always answers success (R22)."""
    fields = context.mapping(
        args,
        {"subscription"},
        {"email", "country", "add_on", "first_name", "last_name", "company", "expect_status"},
    )
    body = {
        "subscription_name": fields["subscription"],
        "email": fields.get("email", "contact@customer.test"),
        "first_name": fields.get("first_name", "Casey"),
        "last_name": fields.get("last_name", "Contact"),
        "company": fields.get("company", "Customer Inc."),
        "country": fields.get("country", "DE"),
        "add_on": fields.get("add_on", "duo_pro"),
    }
    world = context.world
    response = world.client("portal").post(f"{world.portal_url}/api/v1/trial_requests", json=body)
    expected = int(fields.get("expect_status", 202))
    world.timeline.add(
        world.now(),
        "portal",
        "request",
        f"trial request for {body['subscription_name']} → {response.status_code}",
    )
    if response.status_code != expected:
        context.fail(
            f"the trial form answered {response.status_code} ({response.text[:200]}), expected {expected}"
        )


@action("buy_duo_pro", "- buy_duo_pro: {subscription: A-S00000001, seats: 20, card: declined}")
def buy_duo_pro(context: StepContext, args: Any) -> None:
    """The customer buys GitLab Duo Pro seats (R3); a declined card leaves nothing provisioned."""
    from portal.purchases import buy_duo_pro as buy

    _customer_purchase(context, args, buy)


@action("add_seats", "- add_seats: {subscription: A-S00000001, seats: 10, expect_refusal: exceed}")
def add_seats(context: StepContext, args: Any) -> None:
    """The customer buys more seats of the add-on the subscription has (R5)."""
    from portal.purchases import add_seats as buy_more

    _customer_purchase(context, args, buy_more)


def _customer_purchase(context: StepContext, args: Any, purchase: Any) -> None:
    from portal.errors import Refused
    from portal.models import Account, PaymentMethod
    from portal.subscriptions import find_subscription

    fields = context.mapping(args, {"subscription", "seats"}, {"card", "expect_refusal"})
    app = context.world.portal
    db = app.extensions["sqlalchemy"]
    try:
        with unit_of_work(app):
            buyer = db.session.execute(
                sa.select(Account).where(Account.email == CUSTOMER_EMAIL)
            ).scalar_one()
            last4 = "0002" if fields.get("card") == "declined" else "4242"
            method = PaymentMethod(account_id=buyer.id, brand="Visa", last4=last4)
            db.session.add(method)
            db.session.flush()
            subscription = _subscription(context, find_subscription(str(fields["subscription"])))
            purchase(subscription, int(fields["seats"]), method, _now(app), buyer)
        outcome = None
    except Refused as refused:
        outcome = refused.message
    _check_refusal(context, fields.get("expect_refusal"), outcome, "purchase")


@action("renew", "- renew: {subscription: A-S00000001, seats: 50, add_on_seats: 30}")
def renew(context: StepContext, args: Any) -> None:
    """Sales renews the subscription for a year, optionally with a new add-on quantity."""
    from portal.purchases import renew as renew_subscription

    fields = context.mapping(args, {"subscription"}, {"seats", "add_on_seats"})
    with _as_sales(context, str(fields["subscription"])) as (subscription, seller, now):
        renew_subscription(
            subscription,
            now,
            seller,
            seats=fields.get("seats"),
            add_on_seats=fields.get("add_on_seats"),
        )


@action("sell_duo_enterprise", "- sell_duo_enterprise: {subscription: A-S00000001, seats: 50}")
def sell_duo_enterprise(context: StepContext, args: Any) -> None:
    """Sales books a GitLab Duo Enterprise order (never self-serve, R3); it replaces Duo Pro (R6)."""
    from portal.purchases import sell_duo_enterprise as sell

    fields = context.mapping(args, {"subscription", "seats"})
    with _as_sales(context, str(fields["subscription"])) as (subscription, seller, now):
        sell(subscription, int(fields["seats"]), now, seller)


@action("extend_trial", "- extend_trial: {subscription: A-S00000001, days: 30, by: sales}")
def extend_trial(context: StepContext, args: Any) -> None:
    """Extend a Duo trial: support is refused (R23); sales books a $0 order."""
    from portal.errors import Refused
    from portal.purchases import extend_duo_trial, support_extend_trial
    from portal.subscriptions import find_subscription

    fields = context.mapping(args, {"subscription"}, {"days", "by", "expect_refusal"})
    outcome = None
    try:
        if fields.get("by", "sales") == "support":
            with unit_of_work(context.world.portal):
                support_extend_trial(
                    _subscription(context, find_subscription(str(fields["subscription"])))
                )
        else:
            with _as_sales(context, str(fields["subscription"])) as (subscription, seller, now):
                extend_duo_trial(subscription, int(fields.get("days", 30)), now, seller)
    except Refused as refused:
        outcome = refused.message
    _check_refusal(context, fields.get("expect_refusal"), outcome, "trial extension")


@contextmanager
def _as_sales(context: StepContext, name: str) -> Iterator[tuple[Any, Any, dt.datetime]]:
    from portal.models import Account
    from portal.subscriptions import find_subscription

    app = context.world.portal
    with unit_of_work(app) as session:
        seller = session.execute(
            sa.select(Account).where(Account.email == SALES_EMAIL)
        ).scalar_one()
        yield _subscription(context, find_subscription(name)), seller, _now(app)


def _subscription(context: StepContext, found: Any) -> Any:
    if found is None:
        context.malformed("no such subscription in setup.portal.subscriptions")
    return found


def _check_refusal(context: StepContext, expected: Any, outcome: str | None, what: str) -> None:
    if expected is None and outcome is not None:
        context.fail(f"the {what} was refused: {outcome}")
    if expected is not None:
        if outcome is None:
            context.fail(f"the {what} succeeded; expected a refusal containing {expected!r}")
        if str(expected).lower() not in outcome.lower():
            context.fail(f"the {what} was refused with {outcome!r}, expected {expected!r}")
    if outcome is not None:
        context.world.timeline.add(context.world.now(), "portal", "refused", f"{what}: {outcome}")


# -- actions: the instance's administrator and users ----------------------------------------------


@action("activate", "- activate: A-S00000001")
def activate(context: StepContext, args: Any) -> None:
    """The admin activates the instance with the subscription's cloud activation code (R8)."""
    response = activate_instance(context.world, str(args))
    context.world.timeline.add(
        context.world.now(), "instance", "admin", f"activate → {response.status_code}"
    )


@action("upload_license", "- upload_license: A-S00000002")
def upload_license(context: StepContext, args: Any) -> None:
    """The admin uploads the subscription's offline or legacy license file."""
    response = upload_license_file(context.world, str(args))
    context.world.timeline.add(
        context.world.now(), "instance", "admin", f"upload license → {response.status_code}"
    )


@action("sync_now", "- sync_now: {expect_success: false}")
def sync_now(context: StepContext, args: Any) -> None:
    """The admin selects *Synchronize subscription* (R14)."""
    fields = context.mapping(args or {}, set(), {"expect_success"})
    world = context.world
    client = world.admin_client()
    token = _csrf(client.get(f"{world.instance_url}/admin/subscription").text)
    response = client.post(
        f"{world.instance_url}/admin/license/sync_seat_link", headers={"X-CSRFToken": token}
    )
    answer = response.json()
    world.last_sync_answer = answer
    world.timeline.add(world.now(), "instance", "admin", f"synchronize subscription → {answer}")
    if "expect_success" in fields and bool(answer.get("success")) != bool(fields["expect_success"]):
        context.fail(f"Synchronize subscription answered {answer}")


@action("assign_seats", "- assign_seats: {users: [alice, bob], expect_error: NOT_ENOUGH_SEATS}")
def assign_seats(context: StepContext, args: Any) -> None:
    """The admin assigns GitLab Duo seats to users (bulk, all or nothing: R26, R27)."""
    _seat_change(context, args, assign=True)


@action("remove_seats", "- remove_seats: {users: [alice]}")
def remove_seats(context: StepContext, args: Any) -> None:
    """The admin removes users' GitLab Duo seats."""
    _seat_change(context, args, assign=False)


def _seat_change(context: StepContext, args: Any, *, assign: bool) -> None:
    from instance.add_ons import AssignmentError, bulk_assign, bulk_remove, duo_purchase

    fields = context.mapping(args, {"users"}, {"expect_error"})
    app = context.world.instance
    error = None
    try:
        with unit_of_work(app):
            purchase = duo_purchase()
            if purchase is None:
                context.fail("the instance knows no GitLab Duo add-on purchase")
            ids = [_user(context, name).id for name in usernames(fields["users"])]
            if assign:
                bulk_assign(purchase.id, ids, _now(app))
            else:
                bulk_remove(purchase.id, ids)
    except AssignmentError as exc:
        error = exc.code
    expected = fields.get("expect_error")
    if error != expected:
        context.fail(f"seat change gave {error or 'success'}, expected {expected or 'success'}")


def _user(context: StepContext, username: str) -> Any:
    from instance.users import find_by_username

    found = find_by_username(str(username))
    if found is None:
        context.malformed(f"no user {username!r} in setup.instance.users")
    return found


@action(
    "bulk_assign_file",
    "- bulk_assign_file: {users: [alice, ghost], expect_output: [User assigned: alice]}",
)
def bulk_assign_file(context: StepContext, args: Any) -> None:
    """The admin runs the bulk assignment task with a CSV of usernames (`provlab instance
    duo-bulk-assign`, GitLab's Rake task, R27); each expected line must be in its output."""
    from click.testing import CliRunner

    from provlab.cli import main

    fields = context.mapping(args, {"users"}, {"expect_output"})
    world = context.world
    csv_file = world.folder / f"bulk-{context.step.index}.csv"
    csv_file.write_text("username\n" + "".join(f"{name}\n" for name in usernames(fields["users"])))
    result = CliRunner().invoke(
        main, ["instance", "duo-bulk-assign", str(csv_file)], obj={"app": world.instance}
    )
    world.timeline.add(
        world.now(), "instance", "admin", f"bulk assignment task → exit {result.exit_code}"
    )
    for line in fields.get("expect_output") or []:
        if str(line) not in result.output:
            context.fail(f"the task's output lacks {line!r}:\n{result.output}")


@action("change_user", "- change_user: {user: alice, state: blocked}")
def change_user(context: StepContext, args: Any) -> None:
    """An admin blocks, bans, deactivates or reactivates a user, or changes their role."""
    from instance.users import change_state

    fields = context.mapping(args, {"user"}, {"state", "role"})
    with unit_of_work(context.world.instance):
        user = _user(context, fields["user"])
        if "state" in fields:
            change_state(user, str(fields["state"]))
        if "role" in fields:
            user.highest_access_level = ROLES[str(fields["role"])]


@action("use_code_suggestions", "- use_code_suggestions: {user: alice, expect_status: 200}")
def use_code_suggestions(context: StepContext, args: Any) -> None:
    """A user asks for a code suggestion through the API; 200 with a seat, 401 without."""
    from instance.tokens import create_token

    fields = context.mapping(args, {"user"}, {"expect_status"})
    world = context.world
    with unit_of_work(world.instance):
        token = create_token(
            _user(context, fields["user"]), "scenario", ["api"], _now(world.instance)
        )
    response = world.client("instance").post(
        f"{world.instance_url}/api/v4/code_suggestions/completions",
        headers={"PRIVATE-TOKEN": token},
        json={"current_file": {"file_name": "main.py", "content_above_cursor": "def add(a, b):"}},
    )
    world.timeline.add(
        world.now(),
        "instance",
        "user",
        f"{fields['user']} code suggestion → {response.status_code}",
    )
    if "expect_status" in fields and response.status_code != int(fields["expect_status"]):
        context.fail(
            f"Code Suggestions answered {response.status_code}, expected {fields['expect_status']}"
        )


@action("set_version", "- set_version: 17.5.0")
def set_version(context: StepContext, args: Any) -> None:
    """The instance is upgraded (or configured) to another GitLab version."""
    context.world.instance.config["GITLAB_VERSION"] = str(args)


# -- actions: faults -------------------------------------------------------------------------------


@action(
    "fault",
    "- fault: unreachable    # or timeout, server_error, tampered, wrong_key, replay, proxy",
)
def fault(context: StepContext, args: Any) -> None:
    """Inject a fault between the instance and the portal, until cleared."""
    try:
        context.world.faults.set(str(args))
    except ValueError as exc:
        context.malformed(str(exc))
    context.world.timeline.add(context.world.now(), "scenario", "fault", f"{args} on")


@action("clear_faults", "- clear_faults: all     # or one fault's name")
def clear_faults(context: StepContext, args: Any) -> None:
    """Clear one fault, or all."""
    context.world.faults.clear(None if args in (None, "all") else str(args))
    context.world.timeline.add(context.world.now(), "scenario", "fault", f"{args or 'all'} cleared")


@action("clear_proxy", "- clear_proxy: true")
def clear_proxy(context: StepContext, args: Any) -> None:
    """The admin fixes the instance's proxy setting (removes the wrong one)."""
    context.world.clear_proxy()
    context.world.timeline.add(context.world.now(), "instance", "admin", "proxy setting removed")


@action("skew_clock", "- skew_clock: 10m      # the instance's clock runs ahead; 0s ends it")
def skew_clock(context: StepContext, args: Any) -> None:
    """Put the instance's clock ahead of the portal's (a fault: signed requests become stale)."""
    import datetime

    from provlab.durations import parse_duration

    try:
        offset = (
            datetime.timedelta()
            if str(args).strip() in ("0", "0s", "off")
            else parse_duration(str(args))
        )
    except ValueError as exc:
        context.malformed(str(exc))
    context.world.skew_instance(offset)


# -- actions: support --------------------------------------------------------------------------------


@action(
    "doctor",
    "- doctor: {subscription: A-S00000001, cause: embargoed_country, rule: R22, also: [offline_cloud_license]}",
)
def doctor(context: StepContext, args: Any) -> None:
    """Support runs `provlab doctor trial` with the instance's diagnostics bundle and checks the
    verdict: its first cause and rule, the other blockers (`also`, every one, in order), text it
    says (`says`), whether it is healthy. `bundle: exported` reads the bundle as
    `provlab instance diagnostics` exports it from the database; `with_instance: false`, none."""
    from provlab.doctor import diagnose_trial
    from provlab.doctor_evidence import instance_evidence, portal_evidence

    fields = context.mapping(
        args,
        {"subscription"},
        {"email", "cause", "rule", "with_instance", "bundle", "also", "says", "healthy"},
    )
    world = context.world
    instance = None
    if fields.get("with_instance", True):
        source = fields.get("bundle", "live")
        if source not in ("live", "exported"):
            context.malformed(f"bundle is live or exported, not {source!r}")
        instance = instance_evidence(_diagnostics(world, exported=source == "exported"))
    verdict = diagnose_trial(
        portal_evidence(world.portal, str(fields["subscription"]), fields.get("email")), instance
    )
    world.timeline.add(
        world.now(), "support", "doctor", f"{verdict.cause} [{verdict.rule}] {verdict.headline}"
    )
    world.last_verdict = verdict
    for key in ("cause", "rule", "healthy"):
        if key in fields and getattr(verdict, key) != fields[key]:
            context.fail(
                f"the doctor says {key} {getattr(verdict, key)!r}, expected {fields[key]!r}\n{verdict.render()}"
            )
    if "also" in fields:
        also = [finding.cause for finding in verdict.also]
        if also != list(fields["also"] or []):
            context.fail(f"the doctor also names {also}, expected {fields['also']}\n{verdict.render()}")
    for text in [fields["says"]] if isinstance(fields.get("says"), str) else fields.get("says", []):
        if str(text) not in verdict.render():
            context.fail(f"the doctor does not say {text!r}\n{verdict.render()}")


def _diagnostics(world: Any, *, exported: bool) -> dict[str, Any]:
    """The instance's bundle: from its serving app (live), or exported by another process over
    its database, with that process's own default settings (GitLab version included)."""
    from instance import create_app
    from instance.diagnostics import diagnostics_bundle

    app = world.instance
    if exported:
        app = create_app(
            {
                "INSTANCE_PATH": world.instance.config["INSTANCE_PATH"],
                "DATABASE_URL": world.instance.config["DATABASE_URL"],
                "CLOCK": "simulated",
                "SIMULATED_START": format_utc(world.now()),
            },
            environ={},
        )
    with app.app_context():
        return diagnostics_bundle(app, running=not exported)


# -- expectations: the portal ------------------------------------------------------------------------


@expectation(
    "lead", "lead: {subscription: A-S00000001, status: dropped, reason: embargoed_country}"
)
def expect_lead(context: StepContext, args: Any) -> None:
    """The newest trial request for a subscription has this status (and internal reason)."""
    from portal.models import Lead

    fields = context.mapping(args, {"subscription"}, {"status", "reason"})
    with context.world.portal.app_context():
        lead = (
            context.world.portal.extensions["sqlalchemy"]
            .session.execute(
                sa.select(Lead)
                .where(Lead.subscription_name == str(fields["subscription"]).upper())
                .order_by(Lead.submitted_at.desc(), Lead.id.desc())
            )
            .scalars()
            .first()
        )
        if lead is None:
            context.fail("no trial request was recorded")
        for key in ("status", "reason"):
            if key in fields and getattr(lead, key) != fields[key]:
                context.fail(f"lead {key} is {getattr(lead, key)!r}, expected {fields[key]!r}")


@expectation(
    "portal_add_on",
    "portal_add_on: {subscription: A-S00000001, tier: duo_pro, trial: true, quantity: 50}",
)
def expect_portal_add_on(context: StepContext, args: Any) -> None:
    """The subscription's current add-on on the portal (or `none: true` for no add-on)."""
    from portal.subscriptions import active_add_on, find_subscription

    fields = context.mapping(args, {"subscription"}, {"tier", "trial", "quantity", "none"})
    app = context.world.portal
    with app.app_context():
        subscription = _subscription(context, find_subscription(str(fields["subscription"])))
        add_on = active_add_on(subscription, _now(app).date())
        if fields.get("none"):
            if add_on is not None:
                context.fail(f"the subscription has {add_on.tier} ({add_on.quantity} seats)")
            return
        if add_on is None:
            context.fail("the subscription has no active add-on")
        _compare(context, add_on, fields, ("tier", "trial", "quantity"))


@expectation("mail", "mail: {to: contact@customer.test, subject_contains: trial, count: 1}")
def expect_mail(context: StepContext, args: Any) -> None:
    """Mail the portal queued or sent (R7): how many match."""
    from portal.models import MailMessage

    fields = context.mapping(args, set(), {"to", "subject_contains", "count", "kind"})
    with context.world.portal.app_context():
        query = sa.select(MailMessage)
        if "to" in fields:
            query = query.where(MailMessage.recipient == fields["to"])
        if "kind" in fields:
            query = query.where(MailMessage.kind == fields["kind"])
        mails = context.world.portal.extensions["sqlalchemy"].session.execute(query).scalars().all()
        if "subject_contains" in fields:
            mails = [
                m for m in mails if str(fields["subject_contains"]).lower() in m.subject.lower()
            ]
        count = int(fields.get("count", 1))
        if len(mails) != count:
            context.fail(
                f"{len(mails)} matching mail(s), expected {count}: {[m.subject for m in mails]}"
            )


# -- expectations: the instance ----------------------------------------------------------------------


@expectation("license", "license: {type: online_cloud, plan: ultimate, seats: 50}")
def expect_license(context: StepContext, args: Any) -> None:
    """The instance's current license (or `none: true`)."""
    from instance.licenses import current_license

    fields = context.mapping(args, set(), {"type", "plan", "seats", "subscription", "none"})
    with context.world.instance.app_context():
        row = current_license()
        if fields.get("none"):
            if row is not None:
                context.fail(f"the instance has a {row.license_type} license")
            return
        if row is None:
            context.fail("the instance has no license")
        mapped = {
            "type": row.license_type,
            "plan": row.plan,
            "seats": row.seats,
            "subscription": row.subscription_name,
        }
        for key, value in fields.items():
            if mapped[key] != value:
                context.fail(f"license {key} is {mapped[key]!r}, expected {value!r}")


@expectation(
    "duo_purchase", "duo_purchase: {tier: duo_pro, quantity: 30, trial: false, active: true}"
)
def expect_duo_purchase(context: StepContext, args: Any) -> None:
    """The instance's GitLab Duo add-on purchase (or `none: true`)."""
    from instance.add_ons import duo_purchase

    fields = context.mapping(args, set(), {"tier", "quantity", "trial", "active", "none"})
    app = context.world.instance
    with app.app_context():
        purchase = duo_purchase()
        if fields.get("none"):
            if purchase is not None:
                context.fail(f"the instance has {purchase.tier} ({purchase.quantity} seats)")
            return
        if purchase is None:
            context.fail("the instance knows no GitLab Duo purchase")
        if "active" in fields and purchase.is_active_on(_now(app).date()) != fields["active"]:
            context.fail(
                f"the purchase is {'' if purchase.is_active_on(_now(app).date()) else 'not '}active "
                f"({purchase.starts_on} to {purchase.ends_on})"
            )
        _compare(context, purchase, fields, ("tier", "quantity", "trial"))


@expectation("duo_menu", "duo_menu: shown      # or hidden")
def expect_duo_menu(context: StepContext, args: Any) -> None:
    """Whether the admin's GitLab Duo menu is shown (R15)."""
    if args not in ("shown", "hidden"):
        context.malformed("duo_menu is 'shown' or 'hidden'")
    world = context.world
    page = world.admin_client().get(f"{world.instance_url}/admin/subscription").text
    shown = 'href="/admin/gitlab_duo"' in page
    if shown != (args == "shown"):
        context.fail(f"the GitLab Duo menu is {'shown' if shown else 'hidden'}")


@expectation("duo_warning", "duo_warning: degraded    # or none")
def expect_duo_warning(context: StepContext, args: Any) -> None:
    """The degraded-experience warning below GitLab 17.2 (R18)."""
    from instance.add_ons import duo_availability

    if args not in ("degraded", "none"):
        context.malformed("duo_warning is 'degraded' or 'none'")
    app = context.world.instance
    with app.app_context():
        availability = duo_availability(_now(app), app.config["GITLAB_VERSION"])
    if (availability.warning is not None) != (args == "degraded"):
        context.fail(f"the warning is {availability.warning!r}")


@expectation("assigned", "assigned: [alice, bob]")
def expect_assigned(context: StepContext, args: Any) -> None:
    """Exactly these users hold GitLab Duo seats."""
    from instance.models import User, UserAddOnAssignment

    if not isinstance(args, list):
        context.malformed("assigned is a list of usernames")
    with context.world.instance.app_context():
        names = sorted(
            context.world.instance.extensions["sqlalchemy"]
            .session.execute(
                sa.select(User.username).join(
                    UserAddOnAssignment, UserAddOnAssignment.user_id == User.id
                )
            )
            .scalars()
        )
    expected = sorted(usernames(args))
    if names != expected:
        missing, extra = sorted(set(expected) - set(names)), sorted(set(names) - set(expected))
        context.fail(f"seats differ: missing {missing}, unexpected {extra}")


@expectation("assigned_count", "assigned_count: 30")
def expect_assigned_count(context: StepContext, args: Any) -> None:
    """How many GitLab Duo seats are assigned."""
    from instance.models import UserAddOnAssignment

    with context.world.instance.app_context():
        count = (
            context.world.instance.extensions["sqlalchemy"]
            .session.execute(sa.select(sa.func.count()).select_from(UserAddOnAssignment))
            .scalar_one()
        )
    if count != int(args):
        context.fail(f"{count} seats are assigned, expected {args}")


@expectation(
    "sync", "sync: {last_error_contains: connectivity}    # or {no_error: true, succeeded: true}"
)
def expect_sync(context: StepContext, args: Any) -> None:
    """What Admin → Subscription shows about syncing (R14, R16)."""
    from instance.sync import sync_report

    fields = context.mapping(args, set(), {"last_error_contains", "no_error", "succeeded"})
    with context.world.instance.app_context():
        report = sync_report()
    if "last_error_contains" in fields:
        if (
            not report.last_error
            or str(fields["last_error_contains"]).lower() not in report.last_error.lower()
        ):
            context.fail(f"the last sync error is {report.last_error!r}")
    if fields.get("no_error") and report.last_error:
        context.fail(f"the last sync failed: {report.last_error}")
    if "succeeded" in fields and (report.last_success_at is not None) != bool(fields["succeeded"]):
        context.fail(f"last successful sync: {report.last_success_at}")


@expectation("billable_users", "billable_users: 12")
def expect_billable_users(context: StepContext, args: Any) -> None:
    """The instance's billable user count (R30)."""
    from instance.users import billable_user_count

    with context.world.instance.app_context():
        count = billable_user_count()
    if count != int(args):
        context.fail(f"{count} billable users, expected {args}")


@expectation("verdict", "verdict: {cause: not_yet_synced, rule: R13}")
def expect_verdict(context: StepContext, args: Any) -> None:
    """The last `doctor` step's verdict."""
    fields = context.mapping(args, set(), {"cause", "rule", "healthy"})
    verdict = context.world.last_verdict
    if verdict is None:
        context.malformed("run a `doctor` step first")
    for key, value in fields.items():
        if getattr(verdict, key) != value:
            context.fail(f"verdict {key} is {getattr(verdict, key)!r}, expected {value!r}")


def _compare(context: StepContext, row: Any, fields: dict[str, Any], keys: tuple[str, ...]) -> None:
    for key in keys:
        if key in fields and getattr(row, key) != fields[key]:
            context.fail(f"{key} is {getattr(row, key)!r}, expected {fields[key]!r}")


# -- billing: users over time, check-ins, renewals, invoices (R30, R32-R36) ------------------------


@action("add_users", "- add_users: {prefix: dev, count: 12}     # or a list, as in setup")
def add_users(context: StepContext, args: Any) -> None:
    """Create users on the instance (billable unless blocked, a GitLab bot, or an Ultimate Guest)."""
    from instance.users import create_user

    entries = _expand_users(args if isinstance(args, list) else [args])
    app = context.world.instance
    with unit_of_work(app):
        now = _now(app)
        for entry in entries:
            if not isinstance(entry, dict) or "username" not in entry or set(entry) - USER_KEYS:
                context.malformed(f"a user needs a username; allowed keys: {sorted(USER_KEYS)}")
            role = str(entry.get("role", "developer"))
            if role not in ROLES:
                context.malformed(f"role must be one of {', '.join(ROLES)}")
            create_user(
                username=str(entry["username"]),
                email=str(entry.get("email", f"{entry['username']}@instance.test")),
                name=str(entry.get("name", str(entry["username"]).title())),
                now=now,
                state=str(entry.get("state", "active")),
                bot_type=entry.get("bot"),
                highest_access_level=ROLES[role],
            )
    context.world.timeline.add(
        context.world.now(), "instance", "admin", f"{len(entries)} users added"
    )


@action("change_users", "- change_users: {users: [dev01..dev04], state: blocked}")
def change_users(context: StepContext, args: Any) -> None:
    """An admin blocks, bans, deactivates or reactivates several users at once."""
    from instance.users import change_state

    fields = context.mapping(args, {"users", "state"})
    names = usernames(fields["users"])
    with unit_of_work(context.world.instance):
        for name in names:
            change_state(_user(context, name), str(fields["state"]))
    context.world.timeline.add(
        context.world.now(), "instance", "admin", f"{len(names)} users {fields['state']}"
    )


@action("check_in", "- check_in: {subscription: A-S00000001, period: Q1, maximum: 112}")
def check_in(context: StepContext, args: Any) -> None:
    """Sales enter the maximum active users a customer without Seat Link reported (R32)."""
    from portal.billing.reviews import record_check_in
    from portal.errors import Refused

    fields = context.mapping(args, {"subscription", "period", "maximum"}, {"expect_refusal"})
    outcome = None
    try:
        with _as_sales(context, str(fields["subscription"])) as (subscription, seller, now):
            record_check_in(
                subscription,
                period_label=str(fields["period"]),
                reported_maximum=str(fields["maximum"]),
                entered_by=seller,
                now=now,
            )
    except Refused as refused:
        outcome = refused.message
    _check_refusal(context, fields.get("expect_refusal"), outcome, "check-in")


@action("cancel_renewal", "- cancel_renewal: {subscription: A-S00000001}")
def cancel_renewal(context: StepContext, args: Any) -> None:
    """The customer cancels the automatic renewal (R36: in time only 30 days or more before)."""
    from portal.billing.renewals import cancel_auto_renewal
    from portal.errors import Refused
    from portal.subscriptions import find_subscription

    fields = context.mapping(args, {"subscription"}, {"expect_refusal"})
    app = context.world.portal
    outcome = None
    try:
        with unit_of_work(app):
            subscription = _subscription(context, find_subscription(str(fields["subscription"])))
            cancel_auto_renewal(subscription, _now(app).date())
    except Refused as refused:
        outcome = refused.message
    _check_refusal(context, fields.get("expect_refusal"), outcome, "cancellation")


@action("accept_amendment", "- accept_amendment: {subscription: A-S00000001}")
def accept_amendment(context: StepContext, args: Any) -> None:
    """The customer accepts the oldest order amendment waiting; it is invoiced (R34)."""
    from portal.billing.invoicing import accept_amendment as accept
    from portal.models import Invoice, InvoiceState
    from portal.subscriptions import find_subscription

    fields = context.mapping(args, {"subscription"})
    app = context.world.portal
    with unit_of_work(app) as session:
        subscription = _subscription(context, find_subscription(str(fields["subscription"])))
        waiting = (
            session.execute(
                sa.select(Invoice)
                .where(
                    Invoice.subscription_id == subscription.id,
                    Invoice.state == InvoiceState.AMENDMENT_SENT,
                )
                .order_by(Invoice.id)
            )
            .scalars()
            .first()
        )
        if waiting is None:
            context.fail("no order amendment is waiting for the customer")
        accept(waiting, _now(app))


def _invoice_line_text(line: Any) -> str:
    from portal.pricing import format_money

    return (
        f"{line.seats} x {format_money(line.unit_price_cents)} x {line.proration_label} = "
        f"{format_money(line.amount_cents)}"
    )


@expectation(
    "invoices",
    "invoices: {subscription: A-S00000001, exactly: [{issued_on: 2026-04-01, "
    "kind: quarterly_seat_review, state: invoiced, total_cents: 314630, "
    'lines: ["12 x $348.00 x 275/365 = $3,146.30"]}]}',
)
def expect_invoices(context: StepContext, args: Any) -> None:
    """Exactly these invoices of a subscription, oldest first (R34-R36), to the cent."""
    from portal.models import Invoice
    from portal.subscriptions import find_subscription

    fields = context.mapping(args, {"subscription", "exactly"})
    if not isinstance(fields["exactly"], list):
        context.malformed("exactly is a list of invoices")
    app = context.world.portal
    with app.app_context():
        subscription = _subscription(context, find_subscription(str(fields["subscription"])))
        rows = (
            app.extensions["sqlalchemy"]
            .session.execute(
                sa.select(Invoice)
                .where(Invoice.subscription_id == subscription.id)
                .order_by(Invoice.issued_on, Invoice.id)
            )
            .scalars()
            .all()
        )
        actual = [
            {
                "issued_on": row.issued_on.isoformat(),
                "kind": row.kind,
                "state": row.state,
                "total_cents": row.total_cents,
                "lines": [_invoice_line_text(line) for line in row.lines],
            }
            for row in rows
        ]
    if len(actual) != len(fields["exactly"]):
        context.fail(f"{len(actual)} invoice(s), expected {len(fields['exactly'])}: {actual}")
    allowed = {"issued_on", "kind", "state", "total_cents", "lines"}
    for index, (found, wanted) in enumerate(zip(actual, fields["exactly"], strict=True)):
        if not isinstance(wanted, dict) or set(wanted) - allowed:
            context.malformed(f"an invoice takes {', '.join(sorted(allowed))}")
        for key, value in wanted.items():
            expected = (
                [str(v) for v in value]
                if key == "lines"
                else str(value)
                if key == "issued_on"
                else value
            )
            if found[key] != expected:
                context.fail(f"invoice {index + 1} {key} is {found[key]!r}, expected {expected!r}")


@expectation(
    "subscription",
    "subscription: {name: A-S00000001, seats: 128, ends_on: 2028-01-01, ended: false}",
)
def expect_subscription(context: StepContext, args: Any) -> None:
    """The portal's subscription: licensed seats, term end, whether it ended unrenewed (R34, R36)."""
    from portal.subscriptions import find_subscription

    fields = context.mapping(args, {"name"}, {"seats", "ends_on", "ended", "auto_renew"})
    with context.world.portal.app_context():
        subscription = _subscription(context, find_subscription(str(fields["name"])))
        mapped = {
            "seats": subscription.seats,
            "ends_on": subscription.ends_on.isoformat(),
            "ended": subscription.ended_on is not None,
            "auto_renew": subscription.auto_renew,
        }
    for key, value in fields.items():
        if key != "name" and mapped[key] != (str(value) if key == "ends_on" else value):
            context.fail(f"subscription {key} is {mapped[key]!r}, expected {value!r}")


@expectation(
    "seat_reviews",
    'seat_reviews: {subscription: A-S00000001, exactly: ["Q1 max 112 over 12: charged"]}',
)
def expect_seat_reviews(context: StepContext, args: Any) -> None:
    """Exactly these seat reviews of the subscription, in period order (R33-R35)."""
    from portal.models import SeatReview
    from portal.subscriptions import find_subscription

    fields = context.mapping(args, {"subscription", "exactly"})
    app = context.world.portal
    with app.app_context():
        subscription = _subscription(context, find_subscription(str(fields["subscription"])))
        rows = (
            app.extensions["sqlalchemy"]
            .session.execute(
                sa.select(SeatReview)
                .where(SeatReview.subscription_id == subscription.id)
                .order_by(SeatReview.period_starts_on, SeatReview.id)
            )
            .scalars()
        )
        actual = [
            f"{r.label} max {'none' if r.measured_maximum is None else r.measured_maximum} "
            f"over {r.overage}: {r.outcome}"
            for r in rows
        ]
    expected = [str(item) for item in fields["exactly"] or []]
    if actual != expected:
        context.fail(f"seat reviews are {actual}, expected {expected}")
