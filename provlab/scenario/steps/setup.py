"""Setup: the starting point of both parties."""

from __future__ import annotations

from typing import Any

from provlab.scenario.loader import LineDict, Scenario
from provlab.scenario.steps.common import (
    ADMIN_PASSWORD,
    ADMIN_USERNAME,
    CUSTOMER_EMAIL,
    ROLES,
    SALES_EMAIL,
    _csrf,
    _date,
    _expand_users,
    _flash,
    _now,
)
from provlab.scenario.world import World
from webcore.transaction import unit_of_work


def apply_setup(world: World, scenario: Scenario) -> None:
    """Build what ``setup:`` describes: the portal first, then the instance (which may activate)."""
    unknown = sorted(set(scenario.setup) - {"portal", "instance"})
    if unknown:
        raise scenario.error(
            scenario.setup.line,
            f"unknown setup section(s) {', '.join(unknown)}; use portal, instance",
        )
    setup_portal(world, scenario, scenario.setup.get("portal") or LineDict(subscriptions=[]))
    setup_instance(world, scenario, scenario.setup.get("instance") or LineDict())


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
                review_terms=str(entry.get("review_terms", "quarterly")),
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
