"""``provlab portal …``: the portal's operations from the command line, for scripts and scenarios.

Each command opens the portal's database (the one ``provlab up`` uses: ``--var``/portal, or the
``PORTAL_*`` environment), runs one operation in one transaction and prints the result (``--json``
for machines). When a ``provlab up --simulated-time`` pair is running, the command reads the
portal's simulated time from it, so what it records happens at the pair's "now".
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
import sqlalchemy as sa
from flask import Flask

from portal.errors import Refused
from webcore.errors import Refusal

DEFAULT_VAR = Path("var")


@contextmanager
def portal_app(var: Path) -> Iterator[Flask]:
    from portal import create_app
    from portal.setup import prepare
    from protocol.clock import SimulatedClock

    environ = {"PORTAL_INSTANCE_PATH": str(var / "portal"), **os.environ}
    app = create_app(environ=environ)
    prepare(app)
    simulated_now = _running_pair_now(var)
    if simulated_now is not None:
        app.extensions["clock"] = SimulatedClock(simulated_now)
    try:
        with app.app_context():
            yield app
    finally:
        with app.app_context():
            app.extensions["sqlalchemy"].session.remove()
            app.extensions["sqlalchemy"].engine.dispose()


def _running_pair_now(var: Path) -> dt.datetime | None:
    from provlab.parties import HttpParty, PartyError
    from provlab.servers import RunningPair

    try:
        pair = RunningPair.load(var)
    except (LookupError, ValueError, TypeError):
        return None
    if not pair.simulated or not pair.simulation_token:
        return None
    try:
        return HttpParty("portal", pair.portal_url, pair.simulation_token, timeout=10).now()
    except PartyError:
        return None


def _emit(as_json: bool, data: Any, text: str) -> None:
    click.echo(json.dumps(data, indent=2, default=str) if as_json else text)


def _run(var: Path, action: Callable[[Flask], tuple[Any, str]], as_json: bool) -> None:
    """Run ``action`` in one unit of work; a refusal is a clean CLI error, nothing written."""
    from webcore.transaction import unit_of_work

    with portal_app(var) as app:
        try:
            with unit_of_work():
                data, text = action(app)
        except Refusal as refused:
            rule = f" [{refused.rule}]" if refused.rule else ""
            raise click.ClickException(str(refused.message) + rule) from None
        # Mail queued by the operation is delivered by the server's worker (or held in the outbox).
    _emit(as_json, data, text)


def _subscription(name: str) -> Any:
    from portal.subscriptions import find_subscription

    found = find_subscription(name)
    if found is None:
        raise Refused(f"No subscription is named {name}.")
    return found


def _account(email: str, role: str | None = None) -> Any:
    from portal.views import find_account

    account = find_account(email)
    if account is None or (role and account.role != role):
        raise Refused(f"No {role or ''} account {email}.".replace("  ", " "))
    return account


def _now() -> dt.datetime:
    from webcore.clock import app_clock

    return app_clock().now()


def describe(subscription: Any) -> dict[str, Any]:
    from portal.leads import leads_for
    from portal.licensing import activation_of

    activation = activation_of(subscription)
    return {
        "name": subscription.name,
        "customer": subscription.customer.email,
        "plan": subscription.plan,
        "seats": subscription.seats,
        "starts_on": subscription.starts_on.isoformat(),
        "ends_on": subscription.ends_on.isoformat(),
        "kind": subscription.kind,
        "license_type": subscription.license_type,
        "review_cycle": subscription.review_cycle,
        "auto_renew": subscription.auto_renew,
        "contact": {
            "name": subscription.contact_name,
            "email": subscription.contact_email,
            "company": subscription.contact_company,
            "country": subscription.contact_country,
        },
        "add_ons": [
            {
                "purchase_id": p.reference,
                "tier": p.tier,
                "quantity": p.quantity,
                "starts_on": p.starts_on.isoformat(),
                "ends_on": p.ends_on.isoformat(),
                "trial": p.trial,
            }
            for p in subscription.add_on_purchases
        ],
        "activation": None
        if activation is None
        else {
            "instance_id": activation.instance_id,
            "hostname": activation.hostname,
            "gitlab_version": activation.gitlab_version,
            "last_sync_at": activation.last_sync_at.isoformat()
            if activation.last_sync_at
            else None,
        },
        "leads": [lead_row(lead) for lead in leads_for(subscription)],
    }


def lead_row(lead: Any) -> dict[str, Any]:
    return {
        "id": lead.id,
        "subscription_name": lead.subscription_name,
        "email": lead.email,
        "country": lead.country,
        "add_on": lead.add_on,
        "submitted_at": lead.submitted_at.isoformat(),
        "status": lead.status,
        "reason": lead.reason,
        "reason_detail": lead.reason_detail,
    }


def order_row(order: Any) -> dict[str, Any]:
    return {
        "id": order.id,
        "kind": order.kind,
        "channel": order.channel,
        "quantity": order.quantity,
        "amount_cents": order.amount_cents,
    }


var_option = click.option(
    "--var",
    "var",
    type=click.Path(path_type=Path),
    default=DEFAULT_VAR,
    show_default=True,
    help="The var folder (the portal's data is in var/portal).",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")


@click.group("portal")
def portal_group() -> None:
    """Customers Portal operations: customers, subscriptions, purchases, orders, trials, mail."""


@portal_group.command("create-customer")
@click.argument("email")
@click.option("--name", required=True)
@click.option("--password", required=True, help="At least 8 characters.")
@click.option(
    "--role",
    type=click.Choice(["customer", "support", "sales"]),
    default="customer",
    show_default=True,
)
@click.option(
    "--card",
    "cards",
    multiple=True,
    metavar="BRAND:LAST4",
    help="A card on file, e.g. Visa:4242 (cards ending 0002 are declined).",
)
@var_option
@json_option
def create_customer(
    email: str,
    name: str,
    password: str,
    role: str,
    cards: tuple[str, ...],
    var: Path,
    as_json: bool,
) -> None:
    """Create an account (a customer by default) with optional cards on file."""
    from portal.setup import add_payment_method, create_account
    from portal.views import find_account

    def action(app: Flask) -> tuple[Any, str]:
        if len(password) < 8:
            raise Refused("The password needs at least 8 characters.")
        if find_account(email) is not None:
            raise Refused(f"An account {email} already exists.")
        account = create_account(email, name, password, role, app)
        for card in cards:
            brand, _, last4 = card.partition(":")
            if not (brand and last4.isdigit() and len(last4) == 4):
                raise Refused(f"--card {card!r}: expected BRAND:LAST4 such as Visa:4242.")
            add_payment_method(account, brand, last4)
        return {"id": account.id, "email": account.email, "role": role}, f"created {role} {email}"

    _run(var, action, as_json)


@portal_group.command("create-subscription")
@click.option("--customer", "customer_email", required=True, help="The customer account's email.")
@click.option("--plan", type=click.Choice(["free", "premium", "ultimate"]), required=True)
@click.option("--seats", type=int, required=True)
@click.option(
    "--kind",
    type=click.Choice(["paid", "plan_trial", "community_program"]),
    default="paid",
    show_default=True,
)
@click.option(
    "--license-type",
    type=click.Choice(["online_cloud", "offline_cloud", "legacy"]),
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
@click.option(
    "--review-cycle",
    type=click.Choice(["quarterly", "annual"]),
    default="quarterly",
    show_default=True,
)
@click.option("--contact-name", default=None)
@click.option("--contact-email", default=None)
@click.option("--company", default="")
@click.option("--country", default="US", show_default=True)
@click.option("--name", default=None, help="The subscription name, e.g. A-S00012345.")
@var_option
@json_option
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
    var: Path,
    as_json: bool,
) -> None:
    """Create a subscription for a customer (R9: plan trials and community are legacy only)."""
    from portal.subscriptions import create_subscription as create

    def action(app: Flask) -> tuple[Any, str]:
        now = _now()
        subscription = create(
            _account(customer_email, "customer"),
            plan=plan,
            seats=seats,
            starts_on=starts_on.date() if starts_on else now.date(),
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

    _run(var, action, as_json)


@portal_group.command("show")
@click.argument("subscription")
@var_option
@json_option
def show(subscription: str, var: Path, as_json: bool) -> None:
    """Show a subscription: term, contact, add-ons, activation and trial requests."""

    def action(app: Flask) -> tuple[Any, str]:
        data = describe(_subscription(subscription))
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
            f"  lead #{lead['id']} {lead['status']} {lead['reason'] or ''}"
            for lead in data["leads"]
        ]
        return data, "\n".join(lines)

    _run(var, action, as_json)


@portal_group.command("activation-code")
@click.argument("subscription")
@var_option
@json_option
def activation_code(subscription: str, var: Path, as_json: bool) -> None:
    """Generate (or show) a subscription's cloud activation code (R8)."""
    from portal.licensing import ensure_activation_code

    def action(app: Flask) -> tuple[Any, str]:
        code = ensure_activation_code(_subscription(subscription))
        return {"subscription": subscription, "activation_code": code}, code

    _run(var, action, as_json)


@portal_group.command("license-file")
@click.argument("subscription")
@click.option(
    "--output",
    type=click.Path(path_type=Path),
    default=None,
    help="Write the file here (default: print it).",
)
@var_option
def license_file(subscription: str, output: Path | None, var: Path) -> None:
    """The license file of an offline-cloud or legacy subscription (R9)."""
    from portal.licensing import license_file_for

    def action(app: Flask) -> tuple[Any, str]:
        issued = license_file_for(_subscription(subscription), _now())
        if output is not None:
            output.write_text(issued.token)
            return None, f"wrote {output}"
        return None, issued.token.rstrip("\n")

    _run(var, action, False)


idempotency_option = click.option(
    "--idempotency-key",
    "key",
    default=None,
    help="Place the order once: run again with the same key, the first order is shown and "
    "nothing is charged again (1-64 letters, digits, - _ . :).",
)


def _idempotency_key(raw: str | None) -> str | None:
    from portal.idempotency import idempotency_key

    return idempotency_key(raw)


def _card(subscription: Any, last4: str) -> Any:
    from portal.models import PaymentMethod, db

    return (
        db.session.execute(
            sa.select(PaymentMethod).where(
                PaymentMethod.account_id == subscription.customer_id, PaymentMethod.last4 == last4
            )
        )
        .scalars()
        .first()
    )


@portal_group.command("buy-duo-pro")
@click.argument("subscription")
@click.option("--seats", type=int, required=True)
@click.option("--card", "last4", required=True, help="Last four digits of a card on file.")
@idempotency_option
@var_option
@json_option
def buy_duo_pro(
    subscription: str, seats: int, last4: str, key: str | None, var: Path, as_json: bool
) -> None:
    """The customer's self-serve *Buy GitLab Duo Pro* (R3–R7)."""
    from portal.idempotency import place_once
    from portal.models import OrderKind
    from portal.purchases import buy_duo_pro as buy

    def action(app: Flask) -> tuple[Any, str]:
        found = _subscription(subscription)
        order = place_once(
            found,
            _idempotency_key(key),
            OrderKind.DUO_PRO,
            lambda k: buy(found, seats, _card(found, last4), _now(), found.customer, idempotency_key=k),
        )
        return order_row(
            order
        ), f"order #{order.id}: {seats} Duo Pro seats, {order.amount_cents} cents"

    _run(var, action, as_json)


@portal_group.command("add-seats")
@click.argument("subscription")
@click.option("--seats", type=int, required=True)
@click.option("--card", "last4", required=True, help="Last four digits of a card on file.")
@idempotency_option
@var_option
@json_option
def add_seats(
    subscription: str, seats: int, last4: str, key: str | None, var: Path, as_json: bool
) -> None:
    """The customer's self-serve *Add seats* on the add-on they have (R5)."""
    from portal.idempotency import place_once
    from portal.models import OrderKind
    from portal.purchases import add_seats as add

    def action(app: Flask) -> tuple[Any, str]:
        found = _subscription(subscription)
        order = place_once(
            found,
            _idempotency_key(key),
            OrderKind.ADD_ON_SEATS,
            lambda k: add(found, seats, _card(found, last4), _now(), found.customer, idempotency_key=k),
        )
        return order_row(order), f"order #{order.id}: {seats} more seats"

    _run(var, action, as_json)


@portal_group.command("order")
@click.argument(
    "kind",
    type=click.Choice(
        ["duo_enterprise", "add_on_seats", "subscription_seats", "renewal", "trial_extension"]
    ),
)
@click.argument("subscription")
@click.option("--by", "seller", required=True, help="The sales account placing the order.")
@click.option("--seats", type=int, default=None)
@click.option("--add-on-seats", type=int, default=None, help="Renewal: the add-on's new seats.")
@click.option("--days", type=int, default=None, help="Trial extension: days to add.")
@click.option("--note", default="")
@idempotency_option
@var_option
@json_option
def order(
    kind: str,
    subscription: str,
    seller: str,
    seats: int | None,
    add_on_seats: int | None,
    days: int | None,
    note: str,
    key: str | None,
    var: Path,
    as_json: bool,
) -> None:
    """A sales order: Duo Enterprise (R3, R6), seats, renewal, or a $0 trial extension (R23)."""
    from portal import purchases
    from portal.idempotency import place_once

    def action(app: Flask) -> tuple[Any, str]:
        found, by, now = _subscription(subscription), _account(seller, "sales"), _now()

        def place(k: str | None) -> Any:
            if kind == "trial_extension":
                if days is None:
                    raise Refused("--days is required for a trial extension.")
                return purchases.extend_duo_trial(found, days, now, by, note, idempotency_key=k)
            if kind == "renewal":
                return purchases.renew(
                    found, now, by, seats=seats, add_on_seats=add_on_seats, idempotency_key=k
                )
            if seats is None:
                raise Refused("--seats is required.")
            sell = {
                "duo_enterprise": purchases.sell_duo_enterprise,
                "add_on_seats": purchases.sell_add_on_seats,
                "subscription_seats": purchases.sell_subscription_seats,
            }[kind]
            return sell(found, seats, now, by, idempotency_key=k)

        placed = place_once(found, _idempotency_key(key), kind, place)
        return order_row(placed), f"order #{placed.id}: {kind}, {placed.amount_cents} cents"

    _run(var, action, as_json)


@portal_group.command("trial-request")
@click.option("--subscription", "subscription_name", required=True)
@click.option("--email", required=True)
@click.option("--first-name", required=True)
@click.option("--last-name", required=True)
@click.option("--company", required=True)
@click.option("--country", required=True, help="Two-letter country code.")
@click.option(
    "--add-on",
    type=click.Choice(["duo_pro", "duo_enterprise"]),
    default="duo_pro",
    show_default=True,
)
@var_option
@json_option
def trial_request(var: Path, as_json: bool, **fields: str) -> None:
    """Submit the public Duo trial form (R20; processed later by sales, R21)."""
    from portal.leads import submit_trial_request

    def action(app: Flask) -> tuple[Any, str]:
        lead = submit_trial_request(fields, _now())
        return lead_row(lead), f"trial request #{lead.id} received"

    _run(var, action, as_json)


@portal_group.command("process-leads")
@var_option
@json_option
def process_leads(var: Path, as_json: bool) -> None:
    """Run sales' lead processing now (normally a daily job, R21)."""
    from portal.leads import process_due_leads

    def action(app: Flask) -> tuple[Any, str]:
        handled = process_due_leads(_now())
        return {"processed": handled}, f"processed {handled} trial request(s)"

    _run(var, action, as_json)


@portal_group.command("leads")
@click.option("--status", type=click.Choice(["pending", "trial_created", "dropped"]), default=None)
@var_option
@json_option
def leads(status: str | None, var: Path, as_json: bool) -> None:
    """List trial requests with their status and, for dropped ones, the reason (R22)."""
    from portal.models import Lead, db

    def action(app: Flask) -> tuple[Any, str]:
        query = sa.select(Lead).order_by(Lead.id)
        if status:
            query = query.where(Lead.status == status)
        rows = [lead_row(lead) for lead in db.session.execute(query).scalars()]
        text = (
            "\n".join(
                f"#{r['id']} {r['subscription_name']} {r['email']} {r['country']} "
                f"{r['status']} {r['reason'] or ''}"
                for r in rows
            )
            or "no trial requests"
        )
        return rows, text

    _run(var, action, as_json)


@portal_group.command("outbox")
@var_option
@json_option
def outbox(var: Path, as_json: bool) -> None:
    """List the mail outbox (R7)."""
    from portal.models import MailMessage, db

    def action(app: Flask) -> tuple[Any, str]:
        rows = [
            {
                "id": m.id,
                "kind": m.kind,
                "to": m.recipient,
                "subject": m.subject,
                "status": m.status,
                "created_at": m.created_at.isoformat(),
            }
            for m in db.session.execute(sa.select(MailMessage).order_by(MailMessage.id)).scalars()
        ]
        text = "\n".join(f"#{r['id']} {r['status']:<7} {r['to']}  {r['subject']}" for r in rows)
        return rows, text or "the outbox is empty"

    _run(var, action, as_json)
