"""The portal provisions GitLab.com: a linked subscription's plan and add-ons are pushed to its
top-level group at once, signed both ways; a push that fails is retried from the job table and
shown to support; GitLab.com's answer brings the group's seat usage back (R31, R32)."""

from __future__ import annotations

import datetime as dt

import pytest

from instance.gitlab_com.billable import group_subscription
from instance.gitlab_com.provisioning import group_duo_purchase
from portal.errors import Refused
from portal.gitlab_com.client import SESSION_HOOK
from portal.gitlab_com.provisioning import failed_pushes, pending_push
from portal.models import db
from portal.purchases import buy_duo_pro
from portal.subscriptions import find_subscription
from tests.portal.gitlab_com_pair import Pair
from tests.portal.helpers import (
    customer_order,
    customer_subscription,
    make_account,
    make_subscription,
    payment_method_ids,
    sign_in,
)


def _support_page(pair: Pair, name: str) -> str:
    make_account(pair.portal, "support@provlab.example", role="support")
    client = sign_in(pair.portal, "support@provlab.example", "/support/sign_in")
    return client.get(f"/support/subscriptions/{name}").get_data(as_text=True)


def test_linking_a_subscription_provisions_the_group_at_once(pair: Pair) -> None:
    name = customer_subscription(pair.portal, "buyer@example.com", plan="ultimate", seats=20)
    pair.link(name)
    runs = pair.run_jobs()
    assert [run["name"] for run in runs if run["name"] == "provision_namespace"]
    with pair.gitlab_com.app_context():
        subscription = group_subscription(pair.group_id)
        assert subscription is not None
        assert (subscription.plan_code, subscription.seats) == ("ultimate", 20)
    link = pair.link_row(name)
    # Ultimate: the Guest is not billable (R31): owner and dev.
    assert (link.seats_in_use, link.max_seats_used, link.last_error) == (2, 2, None)


def test_buying_duo_pro_for_a_linked_subscription_reaches_the_group_r3(pair: Pair) -> None:
    customer = make_account(pair.portal, "buyer@example.com")
    name = make_subscription(pair.portal, customer, seats=10)
    pair.link(name)
    pair.run_jobs()
    with customer_order(pair.portal, customer, name) as (terms, card):
        buy_duo_pro(terms, 4, card)
    pair.run_jobs()
    with pair.gitlab_com.app_context():
        purchase = group_duo_purchase(pair.group_id)
        assert purchase is not None
        assert (purchase.tier, purchase.quantity) == ("duo_pro", 4)


def test_a_push_that_does_not_get_through_is_retried_and_shown_to_support(pair: Pair) -> None:
    name = customer_subscription(pair.portal, "buyer@example.com")
    working = pair.portal.extensions.pop(SESSION_HOOK)  # GitLab.com unreachable
    pair.portal.config["GITLAB_COM_TRANSPORT"] = "inprocess"
    pair.link(name)
    runs = pair.run_jobs(minutes=0)  # the push is due at once
    assert [run["outcome"] for run in runs if run["name"] == "provision_namespace"] == ["retrying"]
    with pair.portal.app_context():
        subscription = find_subscription(name)
        assert subscription is not None
        job = pending_push(subscription.id)
        assert job is not None and job.attempts == 1 and "Unreachable" in job.last_error
        assert [row.key for row in failed_pushes()] == [job.key]
    assert "1 failed tries; last error: Unreachable" in _support_page(pair, name)
    pair.portal.extensions[SESSION_HOOK] = working
    runs = pair.run_jobs(minutes=2)  # the retry a minute later gets through
    outcomes = [run["outcome"] for run in runs if run["name"] == "provision_namespace"]
    assert outcomes == ["rescheduled"]  # landed: next, the daily push at midnight
    with pair.gitlab_com.app_context():
        assert group_subscription(pair.group_id) is not None
    with pair.portal.app_context():
        job = pending_push(subscription.id)
        assert job is not None and job.attempts == 0 and failed_pushes() == []
        assert job.next_run_at == dt.datetime(2026, 3, 3, tzinfo=dt.UTC)


def test_a_push_gitlab_com_refuses_is_recorded_not_retried(pair: Pair) -> None:
    name = customer_subscription(pair.portal, "buyer@example.com")
    pair.link(name, namespace_id=9999)
    pair.run_jobs()
    assert pair.link_row(name).last_error == "Namespace Not Found (namespace_not_found)"
    assert "GitLab.com refused the last push" in _support_page(pair, name)
    with pair.portal.app_context():
        subscription = find_subscription(name)
        assert subscription is not None and pending_push(subscription.id) is None


def test_a_group_holds_one_subscription_and_a_subscription_one_group(pair: Pair) -> None:
    customer = make_account(pair.portal, "buyer@example.com")
    first = make_subscription(pair.portal, customer)
    second = make_subscription(pair.portal, customer)
    pair.link(first)
    with pytest.raises(Refused) as taken:
        pair.link(second)
    assert taken.value.code == "namespace_has_subscription"
    with pytest.raises(Refused) as linked:
        pair.link(first, namespace_id=77)
    assert linked.value.code == "subscription_linked"


def test_buying_a_plan_for_a_group_charges_links_and_provisions(pair: Pair) -> None:
    customer = make_account(pair.portal, "buyer@example.com")
    card, declined = payment_method_ids(pair.portal, customer)
    with pair.portal.app_context():
        with pytest.raises(Refused):
            pair.buy_for_acme(customer, "free", 5, card)
        subscription = pair.buy_for_acme(customer, "premium", 5, card)
        db.session.commit()
        assert subscription.plan == "premium" and declined != card
    pair.run_jobs()
    with pair.gitlab_com.app_context():
        provisioned = group_subscription(pair.group_id)
        assert provisioned is not None
        assert (provisioned.plan_code, provisioned.seats) == ("premium", 5)
        assert provisioned.seats_in_use == 3  # Premium: the Guest counts too


def test_add_seats_from_a_group_without_an_add_on_goes_back_to_the_saas_tab_r5(pair: Pair) -> None:
    name = customer_subscription(pair.portal, "buyer@example.com", seats=10)
    pair.link(name)
    client = sign_in(pair.portal, "buyer@example.com")
    response = client.get(f"/gitlab/namespaces/{pair.group_id}/extra_seats")
    assert response.status_code == 302  # no add-on to add seats to (see test_gitlab_com_pages)
    assert response.headers["Location"].endswith("/subscriptions?tab=gitlab_saas")
    make_account(pair.portal, "other@example.com")
    other = sign_in(pair.portal, "other@example.com")
    assert other.get(f"/gitlab/namespaces/{pair.group_id}/extra_seats").status_code == 404
