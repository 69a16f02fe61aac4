"""The ``provlab portal`` group and what its commands share: the portal app on the database of
`provlab up` (at its pair's simulated time), one unit of work per command, the lookups a command
names its objects by, and the JSON shapes of what it prints.

A new command goes in the module of its subject (``subscriptions``, ``orders``, ``leads``) or a new
one imported by ``provlab/commands/portal/__init__.py``, decorated ``@portal_group.command(...)``,
with this module's ``@var_option`` and ``@json_option`` from ``provlab.commands.options``, its work a function of the app run by ``run``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from flask import Flask

from portal.errors import Refused
from provlab.commands.options import var_option as shared_var_option
from provlab.commands.pair import open_app
from webcore.errors import Refusal


@contextmanager
def portal_app(var: Path) -> Iterator[Flask]:
    """The portal app of ``var`` (prepared: a fresh folder gets its database), in an app context."""
    from portal.setup import prepare

    app = open_app("portal", var)
    prepare(app)
    try:
        with app.app_context():
            yield app
    finally:
        with app.app_context():
            app.extensions["sqlalchemy"].session.remove()
            app.extensions["sqlalchemy"].engine.dispose()


def emit(as_json: bool, data: Any, text: str) -> None:
    click.echo(json.dumps(data, indent=2, default=str) if as_json else text)


def run(var: Path, action: Callable[[Flask], tuple[Any, str]], as_json: bool) -> None:
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
    emit(as_json, data, text)


def subscription_named(name: str) -> Any:
    from portal.subscriptions import find_subscription

    found = find_subscription(name)
    if found is None:
        raise Refused(f"No subscription is named {name}.")
    return found


def account_of(email: str, role: str | None = None) -> Any:
    from portal.views import find_account

    account = find_account(email)
    if account is None or (role and account.role != role):
        raise Refused(f"No {role or ''} account {email}.".replace("  ", " "))
    return account


def portal_now() -> dt.datetime:
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
                "purchase_id": p.purchase_id,
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


var_option = shared_var_option("The var folder (the portal's data is in var/portal).")


@click.group("portal")
def portal_group() -> None:
    """Customers Portal operations: customers, subscriptions, purchases, orders, trials, mail."""
