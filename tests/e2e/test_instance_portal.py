"""The instance and the real portal as two real servers, talking over HTTP on loopback, on
simulated time moved in lockstep (R8, R13, R14, R15, R24, R28)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient

from instance.identity import identity
from instance.models import User
from instance.models import db as instance_db
from instance.tokens import create_token
from portal.licensing import ensure_activation_code
from portal.models import Account, Subscription
from portal.models import db as portal_db
from protocol.license import AddOnTier
from provlab.parties import InProcessParty
from provlab.timetravel import travel_to
from tests.instance.conftest import add_user, sign_in
from tests.instance.helpers import activate, assigned_usernames, change_seats, purchase, sync_now
from tests.portal.helpers import make_account, make_subscription, payment_method_ids
from webcore.clock import app_clock

pytestmark = [pytest.mark.e2e, pytest.mark.all_backends]


@dataclass
class Pair:
    portal: Flask
    instance: Flask
    admin: FlaskClient
    instance_url: str

    def travel(self, target: dt.datetime) -> list[dict[str, Any]]:
        return travel_to([InProcessParty(self.portal), InProcessParty(self.instance)], target).runs

    def now(self) -> dt.datetime:
        return app_clock(self.instance).now()

    def slot(self, day: dt.date) -> dt.datetime:
        with self.instance.app_context():
            minute = identity().sync_minute
        return dt.datetime.combine(day, dt.time(3), tzinfo=dt.UTC) + dt.timedelta(minutes=minute)

    def subscription(self, plan: str = "ultimate", **options: Any) -> tuple[str, str]:
        customer = make_account(self.portal, f"owner{options.pop('n', '')}@example.com")
        name = make_subscription(self.portal, customer, plan=plan, **options)
        with self.portal.app_context():
            row = portal_db.session.execute(
                portal_db.select(Subscription).where(Subscription.name == name)
            ).scalar_one()
            code = ensure_activation_code(row)
            portal_db.session.commit()
        return name, code

    def on_portal(self, work: Callable[[Subscription, dt.datetime], Any], name: str) -> None:
        with self.portal.app_context():
            row = portal_db.session.execute(
                portal_db.select(Subscription).where(Subscription.name == name)
            ).scalar_one()
            work(row, app_clock(self.portal).now())
            portal_db.session.commit()


@pytest.fixture
def pair(http_pair: tuple[Flask, Flask], live_server: Callable[[Flask], Any]) -> Pair:
    portal, instance = http_pair
    instance_server = live_server(instance)
    admin = instance.test_client()
    sign_in(admin, "root")
    return Pair(portal, instance, admin, instance_server.url)


def test_r8_r14_activation_and_manual_sync_against_the_real_portal(pair: Pair) -> None:
    name, code = pair.subscription(seats=40)
    status, page = activate(pair.admin, code)
    assert status == 200 and "Your subscription was successfully activated." in page
    page = pair.admin.get("/admin/subscription").get_data(as_text=True)
    assert name in page and "Online license" in page and 'data-testid="seats">40<' in page
    assert sync_now(pair.admin) == {"success": True}
    assert 'data-testid="last-sync">Mar 2, 2026, 00:00 UTC<' in pair.admin.get(
        "/admin/subscription"
    ).get_data(as_text=True)


def test_r8_the_same_code_from_a_second_instance_is_refused(
    pair: Pair, make_instance: Callable[..., Flask]
) -> None:
    name, code = pair.subscription()
    assert "successfully activated" in activate(pair.admin, code)[1]
    other = make_instance(
        PORTAL_URL=pair.instance.config["PORTAL_URL"],
        PORTAL_TRANSPORT="http",
        PORTAL_PUBLIC_KEYS=pair.instance.config["PORTAL_PUBLIC_KEYS"],
    )
    add_user(other, "root", admin=True)
    client = other.test_client()
    sign_in(client, "root")
    status, page = activate(client, code)
    assert status == 422
    assert "This activation code is already in use by another instance" in page


def test_r13_r15_r24_trial_arrives_with_the_daily_sync_at_the_slot(pair: Pair) -> None:
    from portal.leads import start_duo_trial

    name, code = pair.subscription()
    assert "successfully activated" in activate(pair.admin, code)[1]
    pair.on_portal(lambda sub, now: start_duo_trial(sub, AddOnTier.DUO_PRO, now), name)
    assert purchase(pair.instance) is None  # not before the next sync (R13)
    slot = pair.slot(pair.now().date())
    pair.travel(slot - dt.timedelta(minutes=1))
    assert purchase(pair.instance) is None
    pair.travel(slot + dt.timedelta(minutes=1))
    trial = purchase(pair.instance)
    assert trial is not None and trial.trial and trial.tier == "duo_pro"
    assert trial.ends_on - trial.starts_on == dt.timedelta(days=60)
    page = pair.admin.get("/admin/subscription").get_data(as_text=True)
    assert 'data-testid="duo-menu"' in page  # R15
    alice = add_user(pair.instance, "alice")
    assert change_seats(pair.admin, "assign", alice)[0] == 200  # R24
    assert assigned_usernames(pair.instance) == {"alice"}


def _suggest(url: str, token: str) -> int:
    with requests.Session() as session:
        session.trust_env = False
        return session.post(
            f"{url}/api/v4/code_suggestions/completions",
            headers={"PRIVATE-TOKEN": token},
            json={"current_file": {"file_name": "a.py", "content_above_cursor": "x = "}},
        ).status_code


def test_r28_quantity_drop_at_renewal_removes_seats_in_order(pair: Pair) -> None:
    from portal.orders import OrderTerms
    from portal.purchases import buy_duo_pro, renew

    today = pair.now().date()
    name, code = pair.subscription(seats=50, starts_on=today - dt.timedelta(days=360))
    with pair.portal.app_context():
        term_end = portal_db.session.execute(
            portal_db.select(Subscription.ends_on).where(Subscription.name == name)
        ).scalar_one()
    assert "successfully activated" in activate(pair.admin, code)[1]
    with pair.portal.app_context():
        customer_id = portal_db.session.execute(
            portal_db.select(Subscription.customer_id).where(Subscription.name == name)
        ).scalar_one()
    card = payment_method_ids(pair.portal, customer_id)[0]
    sales_id = make_account(pair.portal, "seller@example.com", role="sales")

    def buy(sub: Subscription, now: dt.datetime) -> None:
        from portal.models import PaymentMethod

        buyer = portal_db.session.get(Account, customer_id)
        terms = OrderTerms(subscription=sub, placed_by=buyer, now=now)
        buy_duo_pro(terms, 10, portal_db.session.get(PaymentMethod, card))

    pair.on_portal(buy, name)
    assert sync_now(pair.admin) == {"success": True}  # the manual sync brings the purchase
    ids = [add_user(pair.instance, f"dev_{n}") for n in range(9)]
    for user_id in ids:  # assigned a minute apart: root has no seat
        pair.travel(pair.now() + dt.timedelta(minutes=1))
        assert change_seats(pair.admin, "assign", user_id)[0] == 200
    tokens = {}
    with pair.instance.app_context():
        for n in range(9):
            user = instance_db.session.execute(
                instance_db.select(User).where(User.username == f"dev_{n}")
            ).scalar_one()
            tokens[n] = create_token(user, "ide", ["ai_features"], pair.now())
        instance_db.session.commit()
    for n in range(5):  # dev_0 .. dev_4 use Code Suggestions, dev_0 longest ago
        pair.travel(pair.now() + dt.timedelta(hours=1))
        assert _suggest(pair.instance_url, tokens[n]) == 200
    # Sales renews with 3 Duo seats: from the new term, 6 of the 9 seats must go.
    pair.on_portal(
        lambda sub, now: renew(
            OrderTerms(
                subscription=sub, placed_by=portal_db.session.get(Account, sales_id), now=now
            ),
            add_on_seats=3,
        ),
        name,
    )
    pair.travel(pair.slot(term_end) - dt.timedelta(minutes=1))
    assert len(assigned_usernames(pair.instance)) == 9  # the old term still runs
    pair.travel(pair.slot(term_end) + dt.timedelta(minutes=1))
    assert purchase(pair.instance).quantity == 3  # type: ignore[union-attr]
    # Never users go first, newest assignment first (dev_8..dev_5), then the least recent
    # users (dev_0, dev_1).
    assert assigned_usernames(pair.instance) == {"dev_2", "dev_3", "dev_4"}
    assert _suggest(pair.instance_url, tokens[0]) == 401
    assert _suggest(pair.instance_url, tokens[4]) == 200
