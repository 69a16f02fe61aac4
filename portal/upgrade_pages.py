"""The *Upgrade plan* page of a subscription card: ``/subscriptions/:name/upgrade``.

The click path of GitLab's "Upgrade subscription tier": the card's actions (or the subscription
page) → *Upgrade plan* → the desired upgrade → the payment method → *I accept the Privacy
Statement and Terms of Service* → *Upgrade subscription*. Routes only: the rules are
``portal.upgrades``'. The customer's own subscriptions only (anything else is a 404); GET and
HEAD only show the page, refusing at once what cannot be upgraded; the rendered form carries an
idempotency key, so the same form submitted again answers with its order, never a second charge.
"""

from __future__ import annotations

from flask import Blueprint, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from portal import idempotency
from portal.errors import Refused
from portal.gitlab_com.namespaces import linked_group
from portal.models import Order, OrderKind, Role, Subscription
from portal.orders import OrderTerms
from portal.payments import chosen_payment_method, payment_methods
from portal.pricing import yearly_price
from portal.upgrades import check_upgradable, takes_effect, upgrade_line, upgrade_plan
from portal.views import back_to_subscription, order_placed, own_subscription_or_404
from protocol.license import Plan
from webcore.auth import roles_required
from webcore.clock import app_clock
from webcore.errors import Refusal, refusal_redirects, refusal_renders

blueprint = Blueprint("subscription_upgrades", __name__, url_prefix="/subscriptions")

TERMS_REFUSAL = "Accept the Privacy Statement and Terms of Service to upgrade your subscription."


def _upgraded(subscription: Subscription, order: Order) -> ResponseReturnValue:
    """The answer to the upgrade, also to the same form submitted again."""
    done = f"Your subscription is upgraded to {Plan(subscription.plan).label}"
    placed = order_placed(subscription, order, done, sent="A receipt")
    return back_to_subscription(subscription, f"{placed} {takes_effect(subscription)}")


@blueprint.route("/<name>/upgrade", methods=["GET", "POST"])
@roles_required(Role.CUSTOMER)
def upgrade(name: str) -> ResponseReturnValue:
    """*Upgrade plan* → the upgrade, payment method and terms → *Upgrade subscription*."""
    subscription = own_subscription_or_404(name)
    now = app_clock().now()
    today = now.date()
    back = url_for("customer.show", name=subscription.name)
    form = request.form if request.method == "POST" else None

    def page(status: int = 200, key: str | None = None) -> ResponseReturnValue:
        current = Plan(subscription.plan)
        try:
            targets = check_upgradable(subscription, today)
        except Refusal:
            targets = ()  # upgraded meanwhile (another tab): the flash says why
        target = targets[-1] if targets else None
        line = upgrade_line(subscription, target, today) if target else None
        return render_template(
            "customer/upgrade.html",
            subscription=subscription,
            group=linked_group(subscription),
            current=current,
            current_price=yearly_price(current.value),
            targets=[(plan, yearly_price(plan.value)) for plan in targets],
            target=target,
            line=line,
            methods=payment_methods(current_user.id),
            idempotency_key=key or idempotency.new_idempotency_key(),
            accepted=bool(form and form.get("accept_terms") == "1"),
        ), status

    if form is None:  # GET and HEAD only show the page
        with refusal_redirects(back):
            check_upgradable(subscription, today)
        return page()
    with refusal_redirects(back):
        key = idempotency.idempotency_key(form.get(idempotency.FORM_FIELD))
        earlier = idempotency.replayed(subscription, key, OrderKind.PLAN_UPGRADE)
    if earlier is not None:
        return _upgraded(subscription, earlier)
    # Nothing was placed on a refusal: the same key may upgrade on a second try.
    with refusal_renders(lambda refused: page(422, key)):
        if form.get("accept_terms") != "1":
            raise Refused(TERMS_REFUSAL, code="terms_not_accepted")
        plan, method = form.get("plan", ""), chosen_payment_method(request.form)
        order = idempotency.place_once(
            subscription,
            key,
            OrderKind.PLAN_UPGRADE,
            lambda k: upgrade_plan(
                OrderTerms(
                    subscription=subscription, placed_by=current_user, now=now, idempotency_key=k
                ),
                plan,
                method,
            ),
        )
    return _upgraded(subscription, order)
