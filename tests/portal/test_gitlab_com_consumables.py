"""Compute minutes and storage for a GitLab.com group (R6): bought in the portal on a linked
subscription, charged once per form, confirmed by mail (R7), pushed to GitLab.com at once;
refused for a subscription not linked to a group; the page is the subscription owner's."""

from __future__ import annotations

import re

from instance.gitlab_com.quotas import compute_quota, storage_quota
from portal.errors import Refused
from portal.gitlab_com.consumables import buy_consumable
from portal.models import MailMessage, Order, OrderKind, db
from tests.portal.gitlab_com_pair import Pair
from tests.portal.helpers import (
    customer_order,
    make_account,
    make_subscription,
    payment_method_ids,
    sign_in,
)
from webcore.clock import app_clock


def _buy(pair: Pair, customer: int, name: str, kind: str, packs: int) -> Order:
    with customer_order(pair.portal, customer, name) as (terms, card):
        order = buy_consumable(terms, kind, packs, card)
        db.session.commit()  # before the refresh: the caller reads the order as stored
        db.session.refresh(order)
        db.session.expunge(order)
        return order


def test_packs_bought_for_a_linked_group_reach_gitlab_com_at_once_r6(pair: Pair) -> None:
    customer = make_account(pair.portal, "buyer@example.com")
    name = make_subscription(pair.portal, customer, plan="premium", seats=10)
    pair.link(name)
    pair.run_jobs()
    minutes = _buy(pair, customer, name, OrderKind.COMPUTE_MINUTES, 3)
    storage = _buy(pair, customer, name, OrderKind.STORAGE, 2)
    # 3 x $10 for 3,000 minutes; 2 x $60 for 20 GiB a year.
    assert (minutes.amount_cents, storage.amount_cents) == (3000, 12000)
    assert minutes.payment_reference and storage.payment_reference
    pair.run_jobs()
    today = app_clock(pair.gitlab_com).now().date()
    with pair.gitlab_com.app_context():
        quota = compute_quota(pair.group_id, today)
        assert (quota.monthly_quota, quota.additional_limit) == (10_000, 3000)
        assert storage_quota(pair.group_id, today).purchased == 20 * 1024
    with pair.portal.app_context():
        mails = db.session.execute(db.select(MailMessage.subject)).scalars().all()
        assert sum("is confirmed" in subject for subject in mails) >= 2


def test_a_subscription_not_linked_to_a_group_buys_no_minutes_r6(pair: Pair) -> None:
    customer = make_account(pair.portal, "buyer@example.com")
    name = make_subscription(pair.portal, customer, plan="premium", seats=10)
    try:
        _buy(pair, customer, name, OrderKind.COMPUTE_MINUTES, 1)
    except Refused as refused:
        assert refused.code == "namespace_missing" and refused.rule == "R6"
    else:
        raise AssertionError("a purchase for no group was accepted")
    with pair.portal.app_context():
        assert db.session.execute(db.select(db.func.count(Order.id))).scalar_one() == 0


def test_the_buy_page_charges_once_per_summary_and_is_the_owners_r6(pair: Pair) -> None:
    customer = make_account(pair.portal, "buyer@example.com")
    name = make_subscription(pair.portal, customer, plan="premium", seats=10)
    pair.link(name)
    pair.run_jobs()
    card, _ = payment_method_ids(pair.portal, customer)
    client = sign_in(pair.portal, "buyer@example.com")
    url = f"/gitlab/namespaces/{pair.group_id}/buy_compute_minutes"
    form = client.get(url)
    assert form.status_code == 200 and "Buy additional compute minutes" in form.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token is not None
    summary = client.post(url, data={"csrf_token": token[1], "step": "summary", "packs": "2"})
    assert "$20.00" in summary.text
    key = re.search(r'name="idempotency_key" value="([^"]+)"', summary.text)
    assert key is not None
    data = {
        "csrf_token": token[1],
        "step": "purchase",
        "packs": "2",
        "payment_method": str(card),
        "idempotency_key": key[1],
    }
    assert client.post(url, data=data).status_code == 302
    assert client.post(url, data=data).status_code == 302  # the same form again
    with pair.portal.app_context():
        orders = db.session.execute(db.select(Order.quantity)).scalars().all()
        assert orders == [2]
    make_account(pair.portal, "other@example.com")
    other = sign_in(pair.portal, "other@example.com")
    assert other.get(url).status_code == 404
    assert client.post(url, data={**data, "packs": "0", "step": "summary"}).status_code == 422
