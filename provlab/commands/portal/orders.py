"""``provlab portal`` commands that place orders: the customer's self-serve purchases and sales'
orders, each placed once per idempotency key."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click
import sqlalchemy as sa

from portal.errors import Refused
from provlab.commands.portal.base import (
    account_of,
    order_row,
    portal_command,
    portal_now,
    subscription_named,
)

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


def self_serve_purchase(command: Callable[..., Any]) -> Callable[..., Any]:
    """The arguments of a customer's self-serve purchase: which subscription, how many seats,
    which card, placed once per key."""
    options: list[Callable[[Callable[..., Any]], Callable[..., Any]]] = [
        click.argument("subscription"),
        click.option("--seats", type=int, required=True),
        click.option("--card", "last4", required=True, help="Last four digits of a card on file."),
        idempotency_option,
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _place_self_serve(
    subscription: str, seats: int | str, last4: str, key: str | None, kind: str, purchase: Any
) -> Any:
    """The order of a self-serve purchase, paid by the customer's card ``last4``, placed once
    (``seats``: how many, or the plan an upgrade moves to)."""
    from portal.idempotency import place_once
    from portal.orders import OrderTerms

    found = subscription_named(subscription)
    return place_once(
        found,
        _idempotency_key(key),
        kind,
        lambda k: purchase(
            OrderTerms(
                subscription=found, placed_by=found.customer, now=portal_now(), idempotency_key=k
            ),
            seats,
            _card(found, last4),
        ),
    )


@portal_command("buy-duo-pro")
@self_serve_purchase
def buy_duo_pro(subscription: str, seats: int, last4: str, key: str | None) -> tuple[Any, str]:
    """The customer's self-serve *Buy GitLab Duo Pro* (R3–R7)."""
    from portal.models import OrderKind
    from portal.purchases import buy_duo_pro as buy

    order = _place_self_serve(subscription, seats, last4, key, OrderKind.DUO_PRO, buy)
    return order_row(order), f"order #{order.id}: {seats} Duo Pro seats, {order.amount_cents} cents"


@portal_command("add-seats")
@self_serve_purchase
def add_seats(subscription: str, seats: int, last4: str, key: str | None) -> tuple[Any, str]:
    """The customer's self-serve *Add seats* on the add-on they have (R5)."""
    from portal.models import OrderKind
    from portal.purchases import add_seats as add

    order = _place_self_serve(subscription, seats, last4, key, OrderKind.ADD_ON_SEATS, add)
    return order_row(order), f"order #{order.id}: {seats} more seats"


@portal_command("upgrade")
@click.argument("subscription")
@click.option("--plan", default="ultimate", show_default=True, help="The tier to upgrade to.")
@click.option("--card", "last4", required=True, help="Last four digits of a card on file.")
@idempotency_option
def upgrade(subscription: str, plan: str, last4: str, key: str | None) -> tuple[Any, str]:
    """The customer's *Upgrade plan*: Premium to Ultimate for the rest of the term, seats and
    add-ons kept (R7); the instance gets it at its next sync, a linked group at once."""
    from portal.models import OrderKind
    from portal.upgrades import upgrade_plan

    order = _place_self_serve(subscription, plan, last4, key, OrderKind.PLAN_UPGRADE, upgrade_plan)
    return order_row(order), f"order #{order.id}: upgrade to {plan}, {order.amount_cents} cents"


@portal_command("order")
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
def order(
    kind: str,
    subscription: str,
    seller: str,
    seats: int | None,
    add_on_seats: int | None,
    days: int | None,
    note: str,
    key: str | None,
) -> tuple[Any, str]:
    """A sales order: Duo Enterprise (R3, R6), seats, renewal, or a $0 trial extension (R23)."""
    from portal import purchases
    from portal.idempotency import place_once
    from portal.orders import OrderTerms

    found, by, now = subscription_named(subscription), account_of(seller, "sales"), portal_now()

    def place(k: str | None) -> Any:
        terms = OrderTerms(subscription=found, placed_by=by, now=now, idempotency_key=k)
        if kind == "trial_extension":
            if days is None:
                raise Refused("--days is required for a trial extension.")
            return purchases.extend_duo_trial(terms, days, note)
        if kind == "renewal":
            return purchases.renew(terms, seats=seats, add_on_seats=add_on_seats)
        if seats is None:
            raise Refused("--seats is required.")
        sell = {
            "duo_enterprise": purchases.sell_duo_enterprise,
            "add_on_seats": purchases.sell_add_on_seats,
            "subscription_seats": purchases.sell_subscription_seats,
        }[kind]
        return sell(terms, seats)

    placed = place_once(found, _idempotency_key(key), kind, place)
    return order_row(placed), f"order #{placed.id}: {kind}, {placed.amount_cents} cents"
