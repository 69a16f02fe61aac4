"""The portal provisions GitLab.com: a linked subscription's plan and add-ons are pushed to its
top-level group at once, signed both ways; a push that fails is retried from the job table and
shown to support; GitLab.com's answer brings the group's seat usage back (R31, R32)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from flask import Flask

from instance.gitlab_com.groups import add_member, create_group, role_level
from instance.gitlab_com.provisioning import group_duo_purchase, group_subscription
from instance.identity import instance_key
from instance.models import db as instance_db
from portal.errors import Refused
from portal.gitlab_com.client import SESSION_HOOK
from portal.gitlab_com.models import NamespaceLink
from portal.gitlab_com.namespaces import buy_namespace_subscription, link_namespace
from portal.gitlab_com.provisioning import failed_pushes, pending_push
from portal.keys import published_keys
from portal.models import Account, PaymentMethod, Subscription, db
from portal.purchases import buy_duo_pro
from portal.subscriptions import find_subscription
from protocol.signing import KeySet
from provlab.parties import InProcessParty
from provlab.timetravel import travel_to
from tests.instance.conftest import add_user
from tests.portal.helpers import make_account, make_subscription, payment_method_ids
from webcore.clock import app_clock
from webcore.transport import in_process_session

GITLAB_COM_URL = "http://gitlab-com.test"


@dataclass
class Pair:
    portal: Flask
    gitlab_com: Flask
    group_id: int

    def run_jobs(self, minutes: int = 1) -> list[dict[str, object]]:
        target = app_clock(self.portal).now() + dt.timedelta(minutes=minutes)
        parties = [InProcessParty(self.portal), InProcessParty(self.gitlab_com)]
        return travel_to(parties, target).runs

    def link(self, name: str, namespace_id: int | None = None) -> None:
        with self.portal.app_context():
            subscription = find_subscription(name)
            assert subscription is not None
            link_namespace(
                subscription, namespace_id or self.group_id, "acme", app_clock(self.portal).now()
            )
            db.session.commit()

    def link_row(self, name: str) -> NamespaceLink:
        with self.portal.app_context():
            row = db.session.execute(
                sa.select(NamespaceLink).join(Subscription).where(Subscription.name == name)
            ).scalar_one()
            db.session.expunge(row)
            return row


@pytest.fixture
def pair(make_portal: Callable[..., Flask], make_instance: Callable[..., Flask]) -> Pair:
    portal = make_portal()
    with portal.app_context():
        portal_keys = json.dumps(published_keys(portal).to_jwks())
    gitlab_com = make_instance(GITLAB_COM=True, PORTAL_PUBLIC_KEYS=portal_keys)
    with gitlab_com.app_context():
        own_keys = json.dumps(KeySet((instance_key().verifying_key(),)).to_jwks())
        group = create_group("Acme", "acme", app_clock(gitlab_com).now())
        instance_db.session.commit()
        group_id = group.id
    for username in ("owner", "dev", "guest"):
        add_user(gitlab_com, username)
    with gitlab_com.app_context():
        from instance.models import User

        for username, role in (("owner", "owner"), ("dev", "developer"), ("guest", "guest")):
            user = instance_db.session.execute(
                sa.select(User).where(User.username == username)
            ).scalar_one()
            add_member(group, user, role_level(role), app_clock(gitlab_com).now())
        instance_db.session.commit()
    portal.config.update(GITLAB_COM_URL=GITLAB_COM_URL, GITLAB_COM_PUBLIC_KEYS=own_keys)
    portal.extensions[SESSION_HOOK] = in_process_session(gitlab_com, GITLAB_COM_URL)
    return Pair(portal, gitlab_com, group_id)


def test_linking_a_subscription_provisions_the_group_at_once(pair: Pair) -> None:
    customer = make_account(pair.portal, "buyer@example.com")
    name = make_subscription(pair.portal, customer, plan="ultimate", seats=20)
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
    card, _ = payment_method_ids(pair.portal, customer)
    with pair.portal.app_context():
        subscription = find_subscription(name)
        assert subscription is not None
        buyer = db.session.get(Account, customer)
        assert buyer is not None
        now = app_clock(pair.portal).now()
        buy_duo_pro(subscription, 4, db.session.get(PaymentMethod, card), now, buyer)
        db.session.commit()
    pair.run_jobs()
    with pair.gitlab_com.app_context():
        purchase = group_duo_purchase(pair.group_id)
        assert purchase is not None
        assert (purchase.tier, purchase.quantity) == ("duo_pro", 4)


def test_a_push_that_does_not_get_through_is_retried_and_shown_to_support(pair: Pair) -> None:
    customer = make_account(pair.portal, "buyer@example.com")
    name = make_subscription(pair.portal, customer)
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
    customer = make_account(pair.portal, "buyer@example.com")
    name = make_subscription(pair.portal, customer)
    pair.link(name, namespace_id=9999)
    pair.run_jobs()
    assert pair.link_row(name).last_error == "Namespace Not Found (namespace_not_found)"
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
        buyer = db.session.get(Account, customer)
        assert buyer is not None
        now = app_clock(pair.portal).now()
        with pytest.raises(Refused):
            buy_namespace_subscription(
                buyer,
                namespace_id=pair.group_id,
                namespace_path="acme",
                plan="free",
                seats=5,
                payment_method=db.session.get(PaymentMethod, card),
                now=now,
            )
        subscription = buy_namespace_subscription(
            buyer,
            namespace_id=pair.group_id,
            namespace_path="acme",
            plan="premium",
            seats=5,
            payment_method=db.session.get(PaymentMethod, card),
            now=now,
        )
        db.session.commit()
        assert subscription.plan == "premium" and declined != card
    pair.run_jobs()
    with pair.gitlab_com.app_context():
        provisioned = group_subscription(pair.group_id)
        assert provisioned is not None
        assert (provisioned.plan_code, provisioned.seats) == ("premium", 5)
        assert provisioned.seats_in_use == 3  # Premium: the Guest counts too
