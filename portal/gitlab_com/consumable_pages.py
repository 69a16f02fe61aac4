"""The Customers Portal pages where a group's *Usage Quotas* sends its owner to buy consumables
(R6): ``/gitlab/namespaces/:id/buy_compute_minutes`` and ``/gitlab/namespaces/:id/buy_storage``.
Packs → purchase summary (price, payment method) → *Purchase*, for the customer who owns the
subscription linked to the group; others get 404. Routes only (``consumables`` holds the rules).
"""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue
from flask_login import current_user

from portal.gitlab_com.consumables import (
    CONSUMABLES,
    buy_consumable,
    check_consumable,
    consumable_quote,
)
from portal.gitlab_com.pages import own_group_link
from portal.models import Order, OrderKind, Role, Subscription
from portal.payments import payment_methods
from portal.purchase_pages import PurchaseFlow, purchase_page
from portal.views import back_to_subscription, order_placed
from webcore.auth import roles_required
from webcore.errors import Refusal
from webcore.params import InvalidNumber, parse_int

blueprint = Blueprint("gitlab_com_consumables", __name__, url_prefix="/gitlab/namespaces")


def _purchased(subscription: Subscription, order: Order) -> ResponseReturnValue:
    done = f"Your purchase of {CONSUMABLES[order.kind].describe(order.quantity)} is complete"
    return back_to_subscription(subscription, order_placed(subscription, order, done))


def _packs() -> int:
    try:
        return parse_int(request.form.get("packs", ""), minimum=1)
    except InvalidNumber:
        raise Refusal("Enter a number of packs of at least 1.", code="invalid_quantity") from None


def _flow(kind: str) -> PurchaseFlow:
    return PurchaseFlow(
        check=lambda subscription, packs, today: check_consumable(subscription, kind, packs, today),
        quote=lambda subscription, packs, today: consumable_quote(kind, packs),
        purchase=lambda terms, packs, method: buy_consumable(terms, kind, packs, method),
        order_kind=kind,
        quantity_field="packs",
        read_quantity=_packs,
    )


def _page(namespace_id: str, kind: str) -> ResponseReturnValue:
    link = own_group_link(namespace_id)
    subscription = link.subscription
    methods = payment_methods(current_user.id)
    context = {"link": link, "consumable": CONSUMABLES[kind], "methods": methods}

    def page(step: str, status: int = 200, **extra: object) -> ResponseReturnValue:
        return render_template("gitlab_com/buy_consumable.html", step=step, **context, **extra), (
            status
        )

    return purchase_page(subscription, _flow(kind), page, _purchased)


@blueprint.route("/<namespace_id>/buy_compute_minutes", methods=["GET", "POST"])
@roles_required(Role.CUSTOMER)
def buy_compute_minutes(namespace_id: str) -> ResponseReturnValue:
    return _page(namespace_id, OrderKind.COMPUTE_MINUTES)


@blueprint.route("/<namespace_id>/buy_storage", methods=["GET", "POST"])
@roles_required(Role.CUSTOMER)
def buy_storage(namespace_id: str) -> ResponseReturnValue:
    return _page(namespace_id, OrderKind.STORAGE)
