"""The ``provlab portal`` group and what its commands share: the portal app on the database of
`provlab up` (at its pair's simulated time), one unit of work per command, the lookups a command
names its objects by, and the JSON shapes of what it prints.

A new command goes in the module of its subject (``subscriptions``, ``orders``, ``leads``) or a new
one imported by ``provlab/commands/portal/__init__.py``: its work, decorated ``@portal_command(...)``
above its own click arguments and options, returns what to print.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

import click
from flask import Flask

from portal.errors import Refused
from provlab.commands.options import json_option
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


def columns(row: Any, names: str) -> dict[str, Any]:
    """The attributes of a database row that ``names`` lists (space-separated, in the order to
    print), as the JSON output shows them: dates and times as ISO 8601 text, the rest as is."""
    return {name: _shown(getattr(row, name)) for name in names.split()}


def _shown(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


def describe(subscription: Any) -> dict[str, Any]:
    from portal.leads import leads_for
    from portal.licensing import activation_of

    activation = activation_of(subscription)
    return {
        "name": subscription.name,
        "customer": subscription.customer.email,
        **columns(
            subscription, "plan seats starts_on ends_on kind license_type review_cycle auto_renew"
        ),
        "contact": {
            "name": subscription.contact_name,
            "email": subscription.contact_email,
            "company": subscription.contact_company,
            "country": subscription.contact_country,
        },
        "add_ons": [
            columns(p, "purchase_id tier quantity starts_on ends_on trial")
            for p in subscription.add_on_purchases
        ],
        "activation": None
        if activation is None
        else columns(activation, "instance_id hostname gitlab_version last_sync_at"),
        "leads": [lead_row(lead) for lead in leads_for(subscription)],
    }


def lead_row(lead: Any) -> dict[str, Any]:
    return columns(
        lead, "id subscription_name email country add_on submitted_at status reason reason_detail"
    )


def order_row(order: Any) -> dict[str, Any]:
    return columns(order, "id kind channel quantity amount_cents")


var_option = shared_var_option("The var folder (the portal's data is in var/portal).")


@click.group("portal")
def portal_group() -> None:
    """Customers Portal operations: customers, subscriptions, purchases, orders, trials, mail."""


def portal_command(
    name: str, *, offers_json: bool = True
) -> Callable[[Callable[..., tuple[Any, str]]], click.Command]:
    """``provlab portal NAME``, whose work takes the command's own arguments and options and
    returns what to print: the data (printed as JSON with ``--json``, unless it ``offers_json``
    not) and the text. It runs by ``run``: in one unit of work on the portal app of ``--var``."""

    def register(work: Callable[..., tuple[Any, str]]) -> click.Command:
        def command(var: Path, as_json: bool = False, **own: Any) -> None:
            run(var, lambda app: work(**own), as_json)

        command.__doc__ = work.__doc__
        if offers_json:
            json_option(command)
        var_option(command)
        # After --var and --json, the work's own parameters, so that --help lists them first.
        cast(Any, command).__click_params__.extend(getattr(work, "__click_params__", ()))
        return portal_group.command(name)(command)

    return register
