"""R25: on GitLab.com an owner of a top-level group with an active paid subscription or an
Ultimate trial starts a GitLab Duo Pro trial from Settings → Billing, and it applies to that group
at once (no daily sync, no lead pipeline): the owner can assign seats in the same minute.
Non-owners, Free groups and groups that already have a Duo trial are refused."""

from __future__ import annotations

import datetime as dt

from flask.testing import FlaskClient

from instance import add_ons
from instance.gitlab_com.provisioning import group_duo_purchase
from instance.gitlab_com.trials import ALREADY, NOT_ELIGIBLE, NOT_OWNER
from instance.models import User
from instance.models import db as instance_db
from portal.models import AddOnPurchase, Subscription, SubscriptionKind, db
from tests.instance.conftest import csrf_token, sign_in
from tests.portal.gitlab_com_pair import TRIAL_FORM, Pair
from tests.portal.helpers import customer_subscription
from webcore.clock import app_clock


def _client(pair: Pair, username: str) -> FlaskClient:
    client = pair.gitlab_com.test_client()
    sign_in(client, username)
    return client


def _start_trial(pair: Pair, username: str) -> str:
    client = _client(pair, username)
    token = csrf_token(client, "/dashboard")
    response = client.post(
        "/-/trials/duo_pro",
        data={**TRIAL_FORM, "namespace_id": pair.group_id, "csrf_token": token},
        follow_redirects=True,
    )
    return response.get_data(as_text=True)


def _portal_add_ons(pair: Pair) -> list[AddOnPurchase]:
    with pair.portal.app_context():
        rows = list(db.session.execute(db.select(AddOnPurchase)).scalars())
        db.session.expunge_all()
        return rows


def _linked(pair: Pair, **options: object) -> str:
    name = customer_subscription(pair.portal, "buyer@example.com", seats=10, **options)
    pair.link(name)
    pair.run_jobs(minutes=0)  # the link's push: GitLab.com knows the plan
    return name


def test_an_owner_of_a_paid_group_starts_a_trial_that_applies_at_once_r25(pair: Pair) -> None:
    _linked(pair)
    billing = _client(pair, "owner").get("/groups/acme/-/billings").get_data(as_text=True)
    assert "Start a free GitLab Duo Pro trial" in billing
    before = app_clock(pair.gitlab_com).now()
    page = _start_trial(pair, "owner")
    assert "You have successfully started a Duo Pro trial that will expire on May 1, 2026" in page
    assert 'data-testid="toggle-dev"' in page  # landed on Settings → GitLab Duo
    with pair.gitlab_com.app_context():
        purchase = group_duo_purchase(pair.group_id)
        assert purchase is not None
        # 60 days from 2026-03-02; the subscription's 10 seats.
        assert (purchase.tier, purchase.trial, purchase.quantity) == ("duo_pro", True, 10)
        assert purchase.ends_on == dt.date(2026, 5, 1)
        # No time passed: the owner assigns a seat at once.
        dev = instance_db.session.execute(
            instance_db.select(User).where(User.username == "dev")
        ).scalar_one()
        add_ons.assign_seat(purchase.id, dev, app_clock(pair.gitlab_com).now())
        instance_db.session.commit()
    assert app_clock(pair.gitlab_com).now() == before
    [trial] = _portal_add_ons(pair)
    assert trial.trial and trial.quantity == 10


def test_a_non_owner_is_refused_r25(pair: Pair) -> None:
    _linked(pair)
    assert NOT_OWNER in _start_trial(pair, "dev")
    assert _portal_add_ons(pair) == []


def test_a_free_group_without_an_ultimate_trial_is_refused_r25(pair: Pair) -> None:
    assert NOT_ELIGIBLE in _start_trial(pair, "owner")  # no subscription: Free
    billing = _client(pair, "owner").get("/groups/acme/-/billings").get_data(as_text=True)
    assert "Start a free GitLab Duo Pro trial" not in billing and NOT_ELIGIBLE in billing


def test_a_group_already_on_a_duo_trial_is_refused_r25(pair: Pair) -> None:
    _linked(pair)
    _start_trial(pair, "owner")
    assert ALREADY in _start_trial(pair, "owner")
    assert len(_portal_add_ons(pair)) == 1


def test_an_ultimate_trial_group_can_combine_it_with_a_duo_trial_r25(pair: Pair) -> None:
    # Unlike self-managed (R11), a GitLab.com Ultimate trial (30 days) allows a Duo trial.
    _linked(pair, plan="ultimate", kind=SubscriptionKind.PLAN_TRIAL, starts_on=dt.date(2026, 3, 2))
    page = _start_trial(pair, "owner")
    assert "You have successfully started a Duo Pro trial" in page
    with pair.gitlab_com.app_context():
        purchase = group_duo_purchase(pair.group_id)
        assert purchase is not None and purchase.trial


def test_the_portal_refuses_a_group_it_does_not_know_even_if_gitlab_com_thinks_it_paid(
    pair: Pair,
) -> None:
    name = _linked(pair)
    with pair.portal.app_context():  # the portal's subscription ended; GitLab.com not told yet
        subscription = db.session.execute(
            db.select(Subscription).where(Subscription.name == name)
        ).scalar_one()
        subscription.ended_on = app_clock(pair.portal).now().date()
        db.session.commit()
    page = _start_trial(pair, "owner")
    assert NOT_ELIGIBLE in page
    assert _portal_add_ons(pair) == []
