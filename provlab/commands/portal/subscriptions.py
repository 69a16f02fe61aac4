"""``provlab portal`` commands on accounts and subscriptions: create them, show one, its
activation code and its license file."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import click
from flask import current_app

from portal.errors import Refused
from portal.models import Role, SubscriptionKind
from protocol.license import LicenseType, Plan
from provlab.commands.options import one_of, values
from provlab.commands.portal.base import (
    account_of,
    columns,
    describe,
    portal_command,
    portal_now,
    subscription_named,
)


@portal_command("create-customer")
@click.argument("email")
@click.option("--name", required=True)
@click.option("--password", required=True, help="At least 8 characters.")
@one_of("--role", values(Role), Role.CUSTOMER.value)
@click.option(
    "--card",
    "cards",
    multiple=True,
    metavar="BRAND:LAST4",
    help="A card on file, e.g. Visa:4242 (cards ending 0002 are declined).",
)
def create_customer(
    email: str, name: str, password: str, role: str, cards: tuple[str, ...]
) -> tuple[Any, str]:
    """Create an account (a customer by default) with optional cards on file."""
    from portal.setup import add_payment_method, create_account
    from portal.views import find_account

    if find_account(email) is not None:
        raise Refused(f"An account {email} already exists.")
    account = create_account(email, name, password, role, current_app)
    for card in cards:
        brand, _, last4 = card.partition(":")
        if not (brand and last4.isdigit() and len(last4) == 4):
            raise Refused(f"--card {card!r}: expected BRAND:LAST4 such as Visa:4242.")
        add_payment_method(account, brand, last4)
    return {"id": account.id, "email": account.email, "role": role}, f"created {role} {email}"


@portal_command("create-subscription")
@click.option("--customer", "customer_email", required=True, help="The customer account's email.")
@click.option("--plan", type=click.Choice(values(Plan)), required=True)
@click.option("--seats", type=int, required=True)
@one_of("--kind", values(SubscriptionKind), SubscriptionKind.PAID.value)
@click.option(
    "--license-type",
    type=click.Choice(values(LicenseType)),
    default=None,
    help="Default: online cloud; legacy for plan trials and community.",
)
@click.option(
    "--starts-on", type=click.DateTime(["%Y-%m-%d"]), default=None, help="Default: today."
)
@click.option(
    "--ends-on",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="Default: a year later (30 days for a plan trial).",
)
@one_of("--review-cycle", ["quarterly", "annual"], "quarterly")
@click.option("--contact-name", default=None)
@click.option("--contact-email", default=None)
@click.option("--company", default="")
@click.option("--country", default="US", show_default=True)
@click.option("--name", default=None, help="The subscription name, e.g. A-S00012345.")
def create_subscription(
    customer_email: str,
    plan: str,
    seats: int,
    kind: str,
    license_type: str | None,
    starts_on: dt.datetime | None,
    ends_on: dt.datetime | None,
    review_cycle: str,
    contact_name: str | None,
    contact_email: str | None,
    company: str,
    country: str,
    name: str | None,
) -> tuple[Any, str]:
    """Create a subscription for a customer (R9: plan trials and community are legacy only)."""
    from portal.subscriptions import create_subscription as create

    now = portal_now()
    subscription = create(
        account_of(customer_email, "customer"),
        plan=plan,
        seats=seats,
        starts_on=starts_on.date() if starts_on else None,
        now=now,
        kind=kind,
        ends_on=ends_on.date() if ends_on else None,
        license_type=license_type,
        review_cycle=review_cycle,
        contact_name=contact_name,
        contact_email=contact_email,
        contact_company=company,
        contact_country=country,
        name=name,
    )
    return describe(subscription), subscription.name


@portal_command("list")
@click.option("--customer", "customer_email", default=None, help="Only this customer's.")
def list_subscriptions(customer_email: str | None) -> tuple[Any, str]:
    """List subscriptions with their names, plans and license types (no HTML to scrape)."""
    import sqlalchemy as sa

    from portal.models import Subscription, db

    query = sa.select(Subscription).order_by(Subscription.id)
    if customer_email is not None:
        query = query.where(Subscription.customer_id == account_of(customer_email).id)
    rows = [
        {
            "name": row.name,
            "customer": row.customer.email,
            **columns(row, "plan seats license_type kind starts_on ends_on"),
        }
        for row in db.session.execute(query).scalars()
    ]
    text = "\n".join(
        f"{r['name']}  {r['plan']}  {r['seats']} seats  {r['license_type']}  {r['customer']}"
        for r in rows
    )
    return rows, text or "No subscriptions."


@portal_command("show")
@click.argument("subscription")
def show(subscription: str) -> tuple[Any, str]:
    """Show a subscription: term, contact, add-ons, activation and trial requests."""

    data = describe(subscription_named(subscription))
    lines = [
        f"{data['name']}  {data['plan']}  {data['seats']} seats  "
        f"{data['starts_on']} → {data['ends_on']}  {data['kind']}  {data['license_type']}"
    ]
    lines += [
        f"  add-on {a['tier']}{' trial' if a['trial'] else ''}: {a['quantity']} seats "
        f"{a['starts_on']} → {a['ends_on']}"
        for a in data["add_ons"]
    ]
    if data["activation"]:
        lines.append(
            f"  activated on {data['activation']['instance_id']}, last sync "
            f"{data['activation']['last_sync_at'] or 'never'}"
        )
    lines += [
        f"  lead #{lead['id']} {lead['status']} {lead['reason'] or ''}" for lead in data["leads"]
    ]
    return data, "\n".join(lines)


@portal_command("activation-code")
@click.argument("subscription")
def activation_code(subscription: str) -> tuple[Any, str]:
    """Generate (or show) a subscription's cloud activation code (R8)."""
    from portal.licensing import ensure_activation_code

    code = ensure_activation_code(subscription_named(subscription))
    return {"subscription": subscription, "activation_code": code}, code


@portal_command("license-file", offers_json=False)
@click.argument("subscription")
@click.option(
    "--output",
    type=click.Path(path_type=Path),
    default=None,
    help="Write the file here (default: print it).",
)
def license_file(subscription: str, output: Path | None) -> tuple[Any, str]:
    """The license file of an offline-cloud or legacy subscription (R9)."""
    from portal.licensing import license_file_for

    issued = license_file_for(subscription_named(subscription), portal_now())
    if output is not None:
        output.write_text(issued.token)
        return None, f"wrote {output}"
    return None, issued.token.rstrip("\n")
