"""The Customers Portal's pages for GitLab.com groups: buying Premium or Ultimate for a group,
*Change linked namespace*, and *Add seats* from the group's *Usage Quotas → GitLab Duo* tab
(seeds/000 "For GitLab.com": *Add additional seats*, the Privacy Policy and Terms of Service
checkbox, *Purchase seats*, then the *GitLab SaaS* tab), with their refusals (R3, R4, R5)."""

from __future__ import annotations

import re

import sqlalchemy as sa
from flask.testing import FlaskClient

from instance.gitlab_com.billable import group_subscription
from instance.gitlab_com.groups import add_member, create_group, role_level
from instance.gitlab_com.provisioning import group_duo_purchase
from instance.models import User
from instance.models import db as instance_db
from instance.namespace_models import Namespace
from portal.gitlab_com.models import NamespaceLink
from portal.models import Order, Subscription, db
from portal.purchases import buy_duo_pro
from portal.subscriptions import find_subscription
from tests.portal.gitlab_com_pair import Pair
from tests.portal.helpers import (
    csrf_token,
    customer_order,
    customer_subscription,
    make_account,
    make_subscription,
    sign_in,
    sign_in_staff,
)
from webcore.clock import app_clock


def _with_duo_pro(pair: Pair, name: str, customer: int, seats: int) -> None:
    with customer_order(pair.portal, customer, name) as (terms, card):
        buy_duo_pro(terms, seats, card)


def _orders(pair: Pair) -> list[tuple[str, int]]:
    with pair.portal.app_context():
        rows = db.session.execute(sa.select(Order).order_by(Order.id)).scalars()
        return [(row.kind, row.quantity) for row in rows]


def _extra_seats_form(client: FlaskClient, url: str) -> dict[str, str]:
    page = client.get(url)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for words in (
        "Add additional seats",
        "Billing information",
        "Privacy Policy",
        "Purchase seats",
    ):
        assert words in html
    key = re.search(r'name="idempotency_key" value="([^"]+)"', html)
    method = re.search(r'<option value="(\d+)"', html)
    assert key and method
    return {
        "csrf_token": csrf_token(client, url),
        "idempotency_key": key.group(1),
        "payment_method": method.group(1),
    }


def test_r5_add_seats_from_usage_quotas_needs_the_terms_then_shows_on_the_saas_tab(
    pair: Pair,
) -> None:
    customer = make_account(pair.portal, "buyer@example.com")
    name = make_subscription(pair.portal, customer, plan="ultimate", seats=10)
    pair.link(name)
    _with_duo_pro(pair, name, customer, 4)
    pair.run_jobs()
    client = sign_in(pair.portal, "buyer@example.com")
    url = f"/gitlab/namespaces/{pair.group_id}/extra_seats"
    form = _extra_seats_form(client, url)
    before = _orders(pair)

    # The checkbox not selected: refused, nothing bought.
    unaccepted = client.post(url, data={**form, "seats": "3"})
    assert unaccepted.status_code == 422
    assert "Accept the Privacy Policy and Terms of Service" in unaccepted.get_data(as_text=True)
    # R5: 4 + 7 > the subscription's 10 seats.
    too_many = client.post(url, data={**form, "seats": "7", "accept_terms": "1"})
    assert too_many.status_code == 422
    # No CSRF token: refused before anything.
    forged = client.post(url, data={**form, "csrf_token": "", "seats": "3", "accept_terms": "1"})
    assert forged.status_code in (400, 403)
    assert _orders(pair) == before

    bought = client.post(url, data={**form, "seats": "3", "accept_terms": "1"})
    assert bought.status_code == 302 and bought.location.endswith("/subscriptions")
    again = client.post(url, data={**form, "seats": "3", "accept_terms": "1"})  # a retry
    assert again.status_code == 302
    assert _orders(pair) == [*before, ("add_on_seats", 3)]
    saas = client.get("/subscriptions?tab=gitlab_saas").get_data(as_text=True)
    assert "7 seats" in saas and "acme" in saas
    self_managed = client.get("/subscriptions?tab=gitlab_self_managed").get_data(as_text=True)
    assert name not in self_managed
    pair.run_jobs()
    with pair.gitlab_com.app_context():
        purchase = group_duo_purchase(pair.group_id)
        assert purchase is not None and (purchase.tier, purchase.quantity) == ("duo_pro", 7)


def test_r4_add_seats_for_a_group_without_an_add_on_or_of_another_customer_is_refused(
    pair: Pair,
) -> None:
    name = customer_subscription(pair.portal, "buyer@example.com", seats=10)
    pair.link(name)
    client = sign_in(pair.portal, "buyer@example.com")
    url = f"/gitlab/namespaces/{pair.group_id}/extra_seats"
    assert client.get(url).status_code == 302  # no add-on to add seats to: back to the cards
    data = {"csrf_token": csrf_token(client), "seats": "2", "accept_terms": "1"}
    assert client.post(url, data=data).status_code == 422
    make_account(pair.portal, "other@example.com")
    other = sign_in(pair.portal, "other@example.com")
    assert other.get(url).status_code == 404
    assert other.get("/gitlab/namespaces/x/extra_seats").status_code == 404
    assert _orders(pair) == []


def test_r3_duo_pro_self_serve_and_duo_enterprise_by_sales_reach_the_group(pair: Pair) -> None:
    customer = make_account(pair.portal, "buyer@example.com")
    name = make_subscription(pair.portal, customer, plan="ultimate", seats=10)
    pair.link(name)
    client = sign_in(pair.portal, "buyer@example.com")
    card = client.get(f"/subscriptions/{name}").get_data(as_text=True)
    assert "Buy GitLab Duo Pro" in card and "Change linked namespace" in card
    # R3: the customer can't buy Enterprise self-serve; the sales order page is sales'.
    token = csrf_token(client)
    order = {"csrf_token": token, "kind": "duo_enterprise", "seats": "5"}
    assert client.post(f"/sales/subscriptions/{name}/orders", data=order).status_code in (403, 404)
    _with_duo_pro(pair, name, customer, 2)
    pair.run_jobs()
    with pair.gitlab_com.app_context():
        purchase = group_duo_purchase(pair.group_id)
        assert purchase is not None and (purchase.tier, purchase.quantity) == ("duo_pro", 2)
    sales = sign_in_staff(pair.portal, "sales")
    page = sales.get(f"/sales/subscriptions/{name}").get_data(as_text=True)
    key = re.search(
        r'name="kind" value="duo_enterprise".*?name="idempotency_key" value="([^"]+)"', page, re.S
    )
    order = {
        "csrf_token": csrf_token(sales, f"/sales/subscriptions/{name}"),
        "kind": "duo_enterprise",
        "seats": "5",
        "idempotency_key": key.group(1) if key else "",
    }
    assert sales.post(f"/sales/subscriptions/{name}/orders", data=order).status_code == 302
    pair.run_jobs()
    with pair.gitlab_com.app_context():
        purchase = group_duo_purchase(pair.group_id)
        assert purchase is not None and (purchase.tier, purchase.quantity) == ("duo_enterprise", 5)


def _group(pair: Pair, path: str, owners: dict[str, str], parent: int | None = None) -> int:
    """A group on GitLab.com with members by role (``{"owner": "maintainer"}``)."""
    with pair.gitlab_com.app_context():
        now = app_clock(pair.gitlab_com).now()
        above = instance_db.session.get(Namespace, parent) if parent else None
        group = create_group(path.title(), path, now, parent=above)
        for username, role in owners.items():
            user = instance_db.session.execute(
                sa.select(User).where(User.username == username)
            ).scalar_one()
            add_member(group, user, role_level(role), now)
        instance_db.session.commit()
        return group.id


def test_buying_ultimate_for_a_group_from_gitlab_coms_link(pair: Pair) -> None:
    make_account(pair.portal, "buyer@example.com")
    client = sign_in(pair.portal, "buyer@example.com")
    url = f"/subscriptions/new?plan_id=ultimate&gl_namespace_id={pair.group_id}&gl_namespace_name=acme"
    # Without a linked GitLab.com account: no group to choose, and a POST buys nothing.
    first = client.get(url).get_data(as_text=True)
    assert "Link your GitLab.com account first" in first and "group-select" not in first
    token = csrf_token(client, url)
    unlinked = {"csrf_token": token, "gl_namespace_id": str(pair.group_id), "seats": "5"}
    refused = client.post("/subscriptions/new", data={**unlinked, "plan_id": "ultimate"})
    assert refused.status_code == 422 and "Link your GitLab.com account first" in refused.text
    pair.link_account(client, "owner")
    page = client.get(url).get_data(as_text=True)
    assert "@owner" in page
    assert f'<option value="{pair.group_id}" selected>acme</option>' in page
    method = re.search(r'<option value="(\d+)"', page.split('name="payment_method"')[1])
    assert method
    form = {
        "csrf_token": token,
        "gl_namespace_id": str(pair.group_id),
        "payment_method": method.group(1),
        "seats": "5",
    }
    # R4: Free is not sold; a bad seat count is refused; nothing is bought.
    for bad in ({"plan_id": "free"}, {"plan_id": "ultimate", "seats": "0"}):
        assert client.post("/subscriptions/new", data={**form, **bad}).status_code == 422
    # A subgroup the account owns (inherited) is not a top-level group: refused.
    sub = _group(pair, "sub", {}, parent=pair.group_id)
    forged = client.post(
        "/subscriptions/new", data={**form, "plan_id": "ultimate", "gl_namespace_id": str(sub)}
    )
    assert forged.status_code == 403 and "Choose one of the top-level groups" in forged.text
    assert _orders(pair) == []
    bought = client.post("/subscriptions/new", data={**form, "plan_id": "ultimate"})
    assert bought.status_code == 302
    card = client.get(bought.location).get_data(as_text=True)
    # A GitLab.com subscription: its group, no license type, no activation code.
    assert "Ultimate (SaaS)" in card and "acme (GitLab.com)" in card
    assert "Generate activation code" not in card and 'data-testid="license-type"' not in card
    name = card.split('data-testid="subscription-badge"')[0].rsplit("A-S", 1)[-1]
    subscription_name = "A-S" + re.match(r"\d+", name).group(0)  # type: ignore[union-attr]
    refused = client.post(
        f"/subscriptions/{subscription_name}/activation_code",
        data={"csrf_token": form["csrf_token"]},
    )
    assert refused.status_code == 302
    with pair.portal.app_context():
        found = find_subscription(subscription_name)
        assert found is not None and found.activation_code is None
    # The same group a second time: refused.
    assert client.post("/subscriptions/new", data={**form, "plan_id": "premium"}).status_code == 422
    pair.run_jobs()
    with pair.gitlab_com.app_context():
        provisioned = group_subscription(pair.group_id)
        assert provisioned is not None and (provisioned.plan_code, provisioned.seats) == (
            "ultimate",
            5,
        )


def test_change_linked_namespace_moves_the_subscription_to_another_group(pair: Pair) -> None:
    customer = make_account(pair.portal, "buyer@example.com")
    name = make_subscription(pair.portal, customer, plan="premium", seats=8)
    taken = make_subscription(pair.portal, customer, plan="premium", seats=3)
    pair.link(name)
    beta = _group(pair, "beta", {"owner": "owner"})
    gamma = _group(pair, "gamma", {"owner": "owner"})
    maintained = _group(pair, "maintained", {"owner": "maintainer", "dev": "owner"})
    others = _group(pair, "others", {"guest": "owner"})
    pair.link(taken, namespace_id=gamma)
    pair.run_jobs()
    client = sign_in(pair.portal, "buyer@example.com")
    url = f"/subscriptions/{name}/change_linked_namespace"
    assert "Link your GitLab.com account first" in client.get(url).text
    pair.link_account(client, "owner")
    page = client.get(url).get_data(as_text=True)
    assert "Change linked namespace" in page
    offered = re.findall(r'<option value="(\d+)"', page)
    assert offered == [str(pair.group_id), str(beta), str(gamma)]
    token = csrf_token(client, url)
    # A group with a subscription, the same group: refused, the link unchanged.
    for group_id in (gamma, pair.group_id):
        data = {"csrf_token": token, "gl_namespace_id": str(group_id)}
        assert client.post(url, data=data).status_code == 422
    # A Maintainer's group, another user's group, a bad id: not the account's to choose.
    for group_id in (maintained, others, 0):
        data = {"csrf_token": token, "gl_namespace_id": str(group_id)}
        refused = client.post(url, data=data)
        assert refused.status_code == 403 and "@owner owns" in refused.text
    forged = {"gl_namespace_id": str(beta)}
    assert client.post(url, data=forged).status_code == 400  # no CSRF token
    assert pair.link_row(name).namespace_id == pair.group_id
    make_account(pair.portal, "other@example.com")
    other_client = sign_in(pair.portal, "other@example.com")
    assert other_client.get(url).status_code == 404

    moved = client.post(url, data={**forged, "csrf_token": token})
    assert moved.status_code == 302
    link = pair.link_row(name)
    assert (link.namespace_id, link.namespace_path, link.seats_in_use) == (beta, "beta", None)
    pair.run_jobs()
    with pair.gitlab_com.app_context():
        provisioned = group_subscription(beta)
        assert provisioned is not None and (provisioned.plan_code, provisioned.seats) == (
            "premium",
            8,
        )
        left = group_subscription(pair.group_id)  # the group it left is back on Free
        assert left is not None and (left.plan_code, left.seats) == ("free", 0)


def test_linking_an_activated_self_managed_subscription_is_refused(pair: Pair) -> None:
    name = customer_subscription(pair.portal, "buyer@example.com")
    client = sign_in(pair.portal, "buyer@example.com")
    token = csrf_token(client)
    assert (
        client.post(
            f"/subscriptions/{name}/activation_code", data={"csrf_token": token}
        ).status_code
        == 302
    )
    pair.link_account(client, "owner")
    url = f"/subscriptions/{name}/change_linked_namespace"
    data = {"csrf_token": token, "gl_namespace_id": str(pair.group_id)}
    response = client.post(url, data=data)
    assert response.status_code == 422
    assert "self-managed subscription with an activation code" in response.get_data(as_text=True)
    with pair.portal.app_context():
        assert db.session.execute(sa.select(NamespaceLink)).first() is None
        assert db.session.execute(sa.select(Subscription.name)).scalars().all() == [name]
