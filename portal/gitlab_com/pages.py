"""The Customers Portal pages for GitLab.com groups.

- ``/gitlab/namespaces/:id/extra_seats``: where *Add seats* on a group's *Usage Quotas → GitLab
  Duo* tab leads (seeds/000 "For GitLab.com"): the *Add additional seats* field, *Billing
  information* with the payment method, the *Privacy Policy* and *Terms of Service* checkbox,
  *Purchase seats*; then the *GitLab SaaS* tab of *Subscriptions & purchases* shows the seats.
  The purchase is the subscription's *Add seats* (R5: never more add-on seats than the
  subscription's seats), pushed to the group at once.
- ``/subscriptions/new``: buy Premium or Ultimate for a top-level group. GitLab.com's *Upgrade*
  links name the group (``gl_namespace_id``, ``gl_namespace_name``), as the real product's do:
  it is preselected if it is one of the customer's.
- ``/subscriptions/:name/change_linked_namespace``: *Change linked namespace* (or link a first
  group).

Which groups are the customer's: those their linked GitLab.com account owns, top-level ones
only, as GitLab.com lists them now with the account's token (``linked_token.owned_groups``,
which refreshes a token GitLab.com no longer accepts; it is asked before the views write).
Both pages offer those in a select; the POST asks GitLab.com again and refuses any other id
(a Maintainer's group, a subgroup, someone else's group) before anything is written. Without a
linked account the page says to link one first (``account_pages``).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user

from portal import idempotency, purchases
from portal.customer import MAX_SEATS
from portal.errors import Refused
from portal.gitlab_com.account_pages import linked_identity
from portal.gitlab_com.consumables import group_link
from portal.gitlab_com.linked_token import owned_groups
from portal.gitlab_com.models import GitlabComIdentity, NamespaceLink
from portal.gitlab_com.namespaces import (
    buy_namespace_subscription,
    change_linked_namespace,
    linked_group,
)
from portal.gitlab_com.oauth_client import GitLabComUnavailable, OwnedGroup
from portal.models import OrderKind, Role
from portal.orders import OrderTerms
from portal.payments import chosen_payment_method, payment_methods
from portal.pricing import format_money, yearly_price
from portal.subscriptions import active_add_on
from portal.views import back_to_subscription, own_subscription_or_404
from protocol.license import Plan
from webcore.auth import roles_required
from webcore.clock import app_clock
from webcore.errors import refusal_redirects, refusal_renders
from webcore.params import InvalidNumber, int_arg, parse_int

blueprint = Blueprint("gitlab_com_pages", __name__, url_prefix="/gitlab/namespaces")
subscriptions = Blueprint("gitlab_com_subscriptions", __name__, url_prefix="/subscriptions")

SAAS_TAB = "gitlab_saas"
PLANS = (Plan.PREMIUM, Plan.ULTIMATE)
TERMS_REFUSAL = "Accept the Privacy Policy and Terms of Service to purchase seats."


def _number(field: str, maximum: int = MAX_SEATS) -> int | None:
    try:
        return int_arg(request.form, field, minimum=1, maximum=maximum)
    except InvalidNumber:
        return None


# -- Add seats from the group's Usage Quotas ---------------------------------------------------


def own_group_link(namespace_id: str) -> NamespaceLink:
    """The link of the group a page's URL names, when the signed-in customer's subscription
    holds it; any other id is Not Found."""
    # Not an <int:> route: whoever may not see the page learns so before any lookup.
    try:
        link = group_link(parse_int(namespace_id, minimum=1))
    except InvalidNumber:
        abort(404)
    if link is None or link.subscription.customer_id != current_user.id:
        abort(404)
    return link


@blueprint.route("/<namespace_id>/extra_seats", methods=["GET", "POST"])
@roles_required(Role.CUSTOMER)
def extra_seats(namespace_id: str) -> ResponseReturnValue:
    """R5 on GitLab.com: *Add additional seats* → payment method → the Privacy Policy and Terms
    of Service checkbox → *Purchase seats*."""
    link = own_group_link(namespace_id)
    subscription, now = link.subscription, app_clock().now()
    today = now.date()

    def page(status: int = 200, **extra: object) -> ResponseReturnValue:
        active = active_add_on(subscription, today)
        return render_template(
            "gitlab_com/extra_seats.html",
            link=link,
            subscription=subscription,
            active=active,
            methods=payment_methods(current_user.id),
            per_seat=yearly_price(active.tier) if active else None,
            idempotency_key=idempotency.new_idempotency_key(),
            **extra,
        ), status

    if request.method != "POST":
        with refusal_redirects(url_for("customer.index", tab=SAAS_TAB)):
            purchases.check_add_seats(subscription, 1, today)  # no add-on: nothing to add to
        return page()
    form = request.form
    with refusal_redirects(url_for(".extra_seats", namespace_id=link.namespace_id)):
        key = idempotency.idempotency_key(form.get(idempotency.FORM_FIELD))
        earlier = idempotency.replayed(subscription, key, OrderKind.ADD_ON_SEATS)
    if earlier is None:
        seats = _number("seats")
        with refusal_renders(lambda refused: page(422, seats=form.get("seats", ""))):
            if seats is None:
                raise Refused("Enter a number of seats of at least 1.", code="invalid_seats")
            if form.get("accept_terms") != "1":
                raise Refused(TERMS_REFUSAL, code="terms_not_accepted")
            method = chosen_payment_method(request.form)
            earlier = idempotency.place_once(
                subscription,
                key,
                OrderKind.ADD_ON_SEATS,
                lambda k: purchases.add_seats(
                    OrderTerms(
                        subscription=subscription,
                        placed_by=current_user,
                        now=now,
                        idempotency_key=k,
                    ),
                    seats,
                    method,
                ),
            )
    flash(
        f"Your purchase of {earlier.quantity} seats for {link.namespace_path} is complete "
        f"(order #{earlier.id}, {format_money(earlier.amount_cents)}). A confirmation was sent "
        f"to {subscription.contact_email}.",
        "success",
    )
    return redirect(url_for("customer.index"))


# -- a subscription for a group ----------------------------------------------------------------


@dataclass(frozen=True)
class CustomerGroups:
    """The customer's linked GitLab.com account and the top-level groups it owns (None when
    GitLab.com could not list them, with why)."""

    identity: GitlabComIdentity | None
    groups: list[OwnedGroup] | None
    unavailable: str | None = None


def _customer_groups() -> CustomerGroups:
    identity = linked_identity(current_user.id)
    if identity is None:
        return CustomerGroups(None, None)
    try:
        return CustomerGroups(identity, owned_groups(current_app, identity))
    except GitLabComUnavailable as failed:
        return CustomerGroups(identity, None, str(failed))


def _chosen_group(found: CustomerGroups) -> OwnedGroup:
    """The group the form names, if the linked account owns it on GitLab.com now."""
    if found.identity is None:
        raise Refused(
            "Link your GitLab.com account first: the groups it owns are offered then.",
            code="gitlab_com_account_not_linked",
        )
    if found.groups is None:
        raise Refused(
            f"Your groups on GitLab.com could not be read ({found.unavailable}). "
            "Link your GitLab.com account again.",
            code="gitlab_com_unavailable",
        )
    try:
        namespace_id = int_arg(request.form, "gl_namespace_id", minimum=1, maximum=2**31 - 1)
    except InvalidNumber:
        namespace_id = None
    for group in found.groups:
        if group.id == namespace_id:
            return group
    raise Refused(
        "Choose one of the top-level groups your GitLab.com account "
        f"@{found.identity.gitlab_username} owns.",
        code="namespace_not_owned",
        status=403,
    )


@subscriptions.route("/new", methods=["GET", "POST"])
@roles_required(Role.CUSTOMER)
def new() -> ResponseReturnValue:
    """Buy Premium or Ultimate for a top-level group (GitLab.com's *Upgrade* links here)."""
    source = request.form if request.method == "POST" else request.args
    found = _customer_groups()

    def page(status: int = 200) -> ResponseReturnValue:
        return render_template(
            "gitlab_com/new_subscription.html",
            plans=[(plan, yearly_price(plan.value)) for plan in PLANS],
            methods=payment_methods(current_user.id),
            plan=source.get("plan_id", Plan.PREMIUM.value),
            found=found,
            namespace_id=source.get("gl_namespace_id", ""),
            seats=source.get("seats", ""),
        ), status

    if request.method != "POST":
        return page()
    seats = _number("seats")
    with refusal_renders(lambda refused: page(refused.status)):
        group = _chosen_group(found)
        if seats is None:
            raise Refused("Enter a number of seats of at least 1.", code="invalid_seats")
        subscription = buy_namespace_subscription(
            current_user,
            namespace_id=group.id,
            namespace_path=group.full_path,
            plan=request.form.get("plan_id", ""),
            seats=seats,
            payment_method=chosen_payment_method(request.form),
            now=app_clock().now(),
        )
    return back_to_subscription(
        subscription,
        f"Your {Plan(subscription.plan).label} subscription for {group.full_path} is "
        "active: GitLab.com applies it to the group now.",
    )


@subscriptions.route("/<name>/change_linked_namespace", methods=["GET", "POST"])
@roles_required(Role.CUSTOMER)
def change_namespace(name: str) -> ResponseReturnValue:
    """*Change linked namespace* (or link a first group) of the customer's subscription."""
    subscription = own_subscription_or_404(name)
    link = linked_group(subscription)
    found = _customer_groups()

    def page(status: int = 200) -> ResponseReturnValue:
        form = request.form if request.method == "POST" else None
        return render_template(
            "gitlab_com/change_namespace.html",
            subscription=subscription,
            link=link,
            found=found,
            namespace_id=form.get("gl_namespace_id", "") if form else "",
        ), status

    if request.method != "POST":
        return page()
    with refusal_renders(lambda refused: page(refused.status)):
        group = _chosen_group(found)
        moved = change_linked_namespace(subscription, group.id, group.full_path, app_clock().now())
    return back_to_subscription(
        subscription,
        f"{subscription.name} is now linked to {moved.namespace_path}: GitLab.com applies it "
        "to the group now.",
    )


def init_app(app: Flask) -> None:
    """The templates ask which group a subscription is linked to (the *GitLab SaaS* tab, the
    card's linked group instead of a license) and which GitLab.com account is linked."""
    app.jinja_env.globals["linked_group"] = linked_group
    # The *GitLab SaaS* tab's *Your GitLab.com account* card.
    app.jinja_env.globals["linked_gitlab_com_account"] = lambda: linked_identity(current_user.id)
