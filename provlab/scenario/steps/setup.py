"""``setup:``: the starting point, built directly (a customer's subscriptions on the portal; users
on the instance), then activated or licensed as the instance's administrator would."""

from __future__ import annotations

import datetime as dt
from typing import Any

from instance.users import create_user
from portal.models import AddOnPurchase, Role
from portal.setup import create_account
from portal.subscriptions import create_subscription
from provlab.scenario.drivers import (
    ADMIN_PASSWORD,
    ADMIN_USERNAME,
    CUSTOMER_EMAIL,
    SALES_EMAIL,
    flash_messages,
)
from provlab.scenario.loader import LineDict, Scenario
from provlab.scenario.users import expand_users, user_fields
from provlab.scenario.vocabulary import NotInSetup
from provlab.scenario.world import World
from webcore.auth import hash_password

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
    "review_cycle",
    "add_ons",
    "auto_renew",
}
INSTANCE_KEYS = {"version", "users", "activate", "license_file", "proxy", "hostname"}


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


def _date(value: Any, scenario: Scenario, line: int) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise scenario.error(line, f"{value!r} is not a date (YYYY-MM-DD)") from None


def setup_portal(world: World, scenario: Scenario, section: Any) -> None:
    if not isinstance(section, LineDict) or set(section) - {"subscriptions"}:
        raise scenario.error(
            getattr(section, "line", scenario.setup.line), "setup.portal takes 'subscriptions'"
        )
    portal = world.portal_driver
    app = portal.app
    with portal.transaction() as session:
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
            now = portal.now()
            starts_on = _date(entry.get("starts_on", now.date().isoformat()), scenario, line)
            subscription = create_subscription(
                customer,
                name=str(entry["name"]),
                plan=str(entry["plan"]),
                seats=int(entry["seats"]),
                starts_on=starts_on,
                ends_on=_date(entry["ends_on"], scenario, line) if "ends_on" in entry else None,
                now=now,
                kind=str(entry.get("kind", "paid")),
                license_type=entry.get("license_type"),
                review_cycle=str(entry.get("review_cycle", "quarterly")),
                auto_renew=bool(entry.get("auto_renew", True)),
                contact_name=entry.get("contact_name", "Casey Contact"),
                contact_email=entry.get("contact_email", "contact@customer.test"),
                contact_country=str(entry.get("contact_country", "DE")),
            )
            for add_on in entry.get("add_ons") or []:
                session.add(
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
    if not isinstance(section, LineDict):
        raise scenario.error(scenario.setup.line, "setup.instance must be a mapping")
    unknown = set(section) - INSTANCE_KEYS
    if unknown:
        raise scenario.error(section.line, f"unknown instance key(s) {', '.join(sorted(unknown))}")
    instance = world.instance_driver
    if "version" in section:
        instance.app.config["GITLAB_VERSION"] = str(section["version"])
    if "hostname" in section:
        instance.app.config["HOSTNAME"] = str(section["hostname"])
    with instance.transaction():
        now = instance.now()
        create_user(
            username=ADMIN_USERNAME,
            email="root@instance.test",
            name="Administrator",
            now=now,
            password_hash=hash_password(ADMIN_PASSWORD),
            admin=True,
            highest_access_level=50,
        )
        for entry in expand_users(section.get("users") or []):
            try:
                fields = user_fields(entry)
            except ValueError as exc:
                raise scenario.error(getattr(entry, "line", section.line), str(exc)) from None
            create_user(now=now, **fields)
    try:
        _license_instance(world, scenario, section)
    except NotInSetup as exc:
        raise scenario.error(section.line, str(exc)) from None
    if "proxy" in section:  # set after activation: a proxy setting changed later breaks syncing
        world.set_proxy(str(section["proxy"]))


def _license_instance(world: World, scenario: Scenario, section: LineDict) -> None:
    """Activate with the subscription's code, or upload its license file, as the admin would."""
    instance = world.instance_driver
    if "activate" in section:
        code = world.portal_driver.activation_code(str(section["activate"]))
        response = instance.activate(code)
        if response.status_code != 200 or "successfully activated" not in response.text:
            raise scenario.error(
                section.line, f"activation failed: {flash_messages(response.text)}"
            )
    if "license_file" in section:
        response = instance.upload_license(
            world.portal_driver.license_file(str(section["license_file"]))
        )
        if response.status_code != 200:
            raise scenario.error(
                section.line, f"license upload failed: {flash_messages(response.text)}"
            )
