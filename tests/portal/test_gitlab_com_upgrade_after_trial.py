"""Buying a plan for a GitLab.com group on its Ultimate trial, or whose trial ended: *Settings
→ Billing* shows the *Upgrade* cards during and after the trial, and the purchase replaces the
trial at once (gitlab-org/gitlab#12187): the trial ends today and never renews, the paid plan is
linked and pushed, the order invoiced (R7), and GitLab.com counts seats on the new plan (R31).
The group keeps its trial (no second one) and a GitLab Duo Pro trial started on it runs on to
its own end (gitlab-org/gitlab#461881). A group with a paid subscription is refused as before,
and bad input changes nothing."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from instance import add_ons
from instance.gitlab_com.billable import billable_member_count, group_subscription
from instance.gitlab_com.groups import add_member, create_group, role_level
from instance.gitlab_com.provisioning import group_duo_purchase
from instance.gitlab_com.trials import ALREADY
from instance.gitlab_com.ultimate_trials import HAD_TRIAL
from instance.models import User
from instance.models import db as instance_db
from portal.errors import Refused
from portal.gitlab_com.models import GitlabComIdentity, NamespaceLink
from portal.gitlab_com.namespaces import change_linked_namespace
from portal.gitlab_com.trials import TrialRefused, start_namespace_duo_trial
from portal.gitlab_com.ultimate_trials import start_namespace_ultimate_trial
from portal.models import Account, Order, Subscription, SubscriptionKind, db
from protocol.license import AddOnTier
from protocol.provisioning import NamespacePlanTrialRequest, NamespaceTrialRequest
from tests.instance.conftest import csrf_token as instance_csrf_token
from tests.instance.conftest import sign_in as instance_sign_in
from tests.portal.billing_helpers import invoices
from tests.portal.gitlab_com_pair import TRIAL_FORM, Pair
from tests.portal.helpers import (
    csrf_token,
    make_account,
    make_subscription,
    payment_method_ids,
    sign_in,
)
from webcore.clock import app_clock

UPGRADE = 'data-testid="upgrade-plans"'


def _gitlab_com(pair: Pair, username: str = "owner") -> FlaskClient:
    client = pair.gitlab_com.test_client()
    instance_sign_in(client, username)
    return client


def _trial(pair: Pair, path: str = "/-/trials") -> str:
    client = _gitlab_com(pair)
    token = instance_csrf_token(client, "/dashboard")
    fields = {**TRIAL_FORM, "step": "trial", "namespace_id": pair.group_id, "csrf_token": token}
    return client.post(path, data=fields, follow_redirects=True).get_data(as_text=True)


def _billing(pair: Pair) -> str:
    return _gitlab_com(pair).get("/groups/acme/-/billings").get_data(as_text=True)


def _buy(pair: Pair, plan: str = "premium", seats: str = "5", **change: str) -> tuple[int, str]:
    """The purchase page GitLab.com's *Upgrade* link leads to, as the buyer."""
    client = sign_in(pair.portal, "buyer@example.com")
    with pair.portal.app_context():
        linked = db.session.execute(sa.select(GitlabComIdentity.id)).first()
    if linked is None:
        pair.link_account(client, "owner")  # the group's Owner on GitLab.com
    url = (
        f"/subscriptions/new?plan_id={plan}&gl_namespace_id={pair.group_id}&gl_namespace_name=acme"
    )
    card, _ = _cards(pair)
    form = {
        "csrf_token": csrf_token(client, url),
        "plan_id": plan,
        "gl_namespace_id": str(pair.group_id),
        "payment_method": str(card),
        "seats": seats,
        **change,
    }
    response = client.post("/subscriptions/new", data=form)
    return response.status_code, response.get_data(as_text=True)


def _cards(pair: Pair) -> tuple[int, int]:
    with pair.portal.app_context():
        buyer = db.session.execute(
            sa.select(Account.id).where(Account.email == "buyer@example.com")
        ).scalar_one()
    return payment_method_ids(pair.portal, buyer)


def _state(pair: Pair) -> dict[str, Any]:
    """The portal's subscriptions, the group's link and the orders."""
    with pair.portal.app_context():
        link = db.session.execute(sa.select(NamespaceLink)).scalar_one_or_none()
        return {
            "subscriptions": [
                (row.name, row.kind, row.plan, row.ends_on, row.ended_on, row.auto_renew)
                for row in db.session.execute(sa.select(Subscription).order_by(Subscription.id))
                .scalars()
                .all()
            ],
            "link": (link.subscription_id, link.trial_subscription_id) if link else None,
            "orders": db.session.execute(sa.select(sa.func.count(Order.id))).scalar_one(),
        }


def _subscription(pair: Pair, kind: str) -> Subscription:
    with pair.portal.app_context():
        row = db.session.execute(
            sa.select(Subscription).where(Subscription.kind == kind)
        ).scalar_one()
        db.session.expunge(row)
        return row


def _trial_and_paid(pair: Pair) -> tuple[Subscription, Subscription]:
    """The group's Ultimate trial and the subscription bought after it."""
    return _subscription(pair, SubscriptionKind.PLAN_TRIAL), _subscription(
        pair, SubscriptionKind.PAID
    )


@pytest.fixture
def buyer(pair: Pair) -> int:
    return make_account(pair.portal, "buyer@example.com")


def test_buying_premium_replaces_a_running_trial_at_once_r4_r7_r31(pair: Pair, buyer: int) -> None:
    _trial(pair)
    start = app_clock(pair.portal).now().date()
    pair.run_jobs(minutes=10 * 24 * 60)  # ten days into the trial
    today = app_clock(pair.portal).now().date()
    billing = _billing(pair)
    # During the trial: the trial's status line and the plans to upgrade to, naming the group.
    assert 'data-testid="ultimate-trial"' in billing and UPGRADE in billing
    assert "Upgrade to Premium" in billing and f"gl_namespace_id={pair.group_id}" in billing
    with pair.gitlab_com.app_context():
        assert billable_member_count(pair.group_id) == 2  # Ultimate: the Guest is not billable
    status, _ = _buy(pair, "premium", "5")
    assert status == 302
    trial, paid = _trial_and_paid(pair)
    # The trial ended today and never renews; the purchase is linked in its place.
    assert (trial.ends_on, trial.ended_on, trial.auto_renew) == (today, today, False)
    assert (paid.plan, paid.seats, paid.starts_on) == ("premium", 5, today)
    assert _state(pair)["link"] == (paid.id, trial.id)
    # R7: invoiced as every order is.
    (invoice,) = invoices(pair.portal, paid.name)
    assert invoice["total_cents"] > 0 and invoice["lines"][0][0] == 5
    pair.run_jobs()  # the push
    with pair.gitlab_com.app_context():
        group = group_subscription(pair.group_id)
        assert group is not None
        assert (group.plan_code, group.trial, group.seats) == ("premium", False, 5)
        # GitLab keeps the trial's dates: the group had its trial.
        assert (group.trial_starts_on, group.trial_ends_on) == (start, today)
        # R31 on Premium: the Guest counts now.
        assert group.seats_in_use == 3 == billable_member_count(pair.group_id)
    billing = _billing(pair)
    assert "Acme is currently using the Premium Plan" in billing
    assert UPGRADE not in billing and "Start a free Ultimate trial" not in billing
    assert "ultimate-trial" not in billing
    # No second Ultimate trial, on either side.
    assert HAD_TRIAL in _trial(pair)
    with pair.portal.app_context():
        request = NamespacePlanTrialRequest(
            pair.group_id, "acme", "o@example.com", *TRIAL_FORM.values()
        )
        with pytest.raises(TrialRefused, match="already had a trial"):
            start_namespace_ultimate_trial(request, app_clock(pair.portal).now())
    # The group now has a paid subscription: a second purchase is refused.
    assert _buy(pair, "ultimate")[0] == 422
    assert len(_state(pair)["subscriptions"]) == 2


def test_buying_ultimate_after_the_trial_ended_keeps_the_duo_trial_running(
    pair: Pair, buyer: int
) -> None:
    _trial(pair)
    assert "successfully started a Duo Pro trial" in _trial(pair, "/-/trials/duo_pro")
    start = app_clock(pair.gitlab_com).now()
    with pair.gitlab_com.app_context():
        duo = group_duo_purchase(pair.group_id)
        assert duo is not None and duo.trial
        duo_ends_on = duo.ends_on
        dev = instance_db.session.execute(
            sa.select(User).where(User.username == "dev")
        ).scalar_one()
        add_ons.assign_seat(duo.id, dev, start)
        instance_db.session.commit()
    pair.run_jobs(minutes=40 * 24 * 60)  # the Ultimate trial ended 10 days ago
    trial_ended = start.date() + dt.timedelta(days=30)
    billing = _billing(pair)
    assert "Acme is currently using the Free Plan" in billing
    assert 'data-testid="ultimate-trial-ended"' in billing and UPGRADE in billing
    status, _ = _buy(pair, "ultimate", "10")
    assert status == 302
    trial, paid = _trial_and_paid(pair)
    # It ended on its own day, which stays.
    assert (trial.ends_on, trial.ended_on, trial.auto_renew) == (trial_ended, trial_ended, False)
    assert _state(pair)["link"] == (paid.id, trial.id)
    pair.run_jobs()
    today = app_clock(pair.gitlab_com).now().date()
    with pair.gitlab_com.app_context():
        group = group_subscription(pair.group_id)
        assert group is not None
        assert (group.plan_code, group.trial, group.seats) == ("ultimate", False, 10)
        assert group.trial_ends_on == trial_ended
        # The Duo trial runs on, its seat kept (capped at the plan's seats, R5).
        duo = group_duo_purchase(pair.group_id)
        assert duo is not None and duo.trial and duo.ends_on == duo_ends_on
        assert duo.is_active_on(today) and duo.quantity == 10
        assert add_ons.assigned_count(duo) == 1
        assert billable_member_count(pair.group_id) == 2  # R31 on Ultimate: no Guest
    # The Duo trial was the group's one, even on the new plan.
    assert ALREADY in _trial(pair, "/-/trials/duo_pro")
    # ... until its own end: then the group is on Ultimate without it.
    pair.run_jobs(minutes=(duo_ends_on - today).days * 24 * 60 + 60)
    with pair.gitlab_com.app_context():
        ended = group_duo_purchase(pair.group_id)
        group = group_subscription(pair.group_id)
        assert group is not None and group.plan_code == "ultimate"
        now = app_clock(pair.gitlab_com).now().date()
        assert ended is None or not ended.is_active_on(now)
    # The portal counts the Duo trial on the replaced Ultimate trial as the group's one too.
    with pair.portal.app_context():
        request = NamespaceTrialRequest(
            pair.group_id, AddOnTier.DUO_PRO, "owner@example.com", *TRIAL_FORM.values()
        )
        with pytest.raises(TrialRefused, match="already has a GitLab Duo"):
            start_namespace_duo_trial(request, app_clock(pair.portal).now())


def test_a_group_with_a_paid_subscription_is_still_refused(pair: Pair, buyer: int) -> None:
    pair.link(make_subscription(pair.portal, buyer, seats=10))
    before = _state(pair)
    status, page = _buy(pair, "ultimate")
    assert status == 422 and "already has a subscription" in page
    assert _state(pair) == before


@pytest.mark.parametrize(
    "change",
    [
        {"plan_id": "free"},
        {"seats": "0"},
        {"gl_namespace_id": "999999"},  # not a group the buyer's GitLab.com account owns
        {"payment_method": "999999"},
    ],
)
def test_bad_input_leaves_the_trial_as_it_was(
    pair: Pair, buyer: int, change: dict[str, str]
) -> None:
    _trial(pair)
    before = _state(pair)
    assert _buy(pair, **change)[0] == (403 if "gl_namespace_id" in change else 422)
    assert _state(pair) == before
    with pair.gitlab_com.app_context():
        group = group_subscription(pair.group_id)
        assert group is not None and group.trial


def test_a_declined_card_leaves_the_trial_as_it_was(pair: Pair, buyer: int) -> None:
    _trial(pair)
    before = _state(pair)
    _, declined = _cards(pair)
    with pair.portal.app_context():
        with pytest.raises(Refused):
            pair.buy_for_acme(buyer, "premium", 5, declined)
        db.session.rollback()
    assert _state(pair) == before


def test_moving_the_purchase_to_another_group_leaves_the_trial_with_its_group(
    pair: Pair, buyer: int
) -> None:
    """A trial is the group's, not the subscription's: after the purchase that replaced Acme's
    trial moves to Beta (*Change linked namespace*), Acme is Free again with its trial's dates
    (no second trial) and may buy a plan again; Beta gets the paid plan and no trial history."""
    _trial(pair)
    trial_started = app_clock(pair.portal).now().date()
    pair.run_jobs(minutes=5 * 24 * 60)
    assert _buy(pair, "premium", "5")[0] == 302
    trial, paid = _trial_and_paid(pair)
    pair.run_jobs()
    with pair.gitlab_com.app_context():
        now = app_clock(pair.gitlab_com).now()
        beta = create_group("Beta", "beta", now)
        owner = instance_db.session.execute(
            sa.select(User).where(User.username == "owner")
        ).scalar_one()
        add_member(beta, owner, role_level("owner"), now)
        instance_db.session.commit()
        beta_id = beta.id
    with pair.portal.app_context():
        subscription = db.session.get(Subscription, paid.id)
        assert subscription is not None
        change_linked_namespace(subscription, beta_id, "beta", app_clock(pair.portal).now())
        db.session.commit()
        links = {
            row.namespace_id: (row.subscription_id, row.trial_subscription_id)
            for row in db.session.execute(sa.select(NamespaceLink)).scalars()
        }
    assert links == {pair.group_id: (trial.id, None), beta_id: (paid.id, None)}
    pair.run_jobs()  # both groups' pushes
    with pair.gitlab_com.app_context():
        acme = group_subscription(pair.group_id)
        assert acme is not None
        assert (acme.plan_code, acme.trial) == ("free", False)
        assert (acme.trial_starts_on, acme.trial_ends_on) == (trial_started, trial.ends_on)
        moved = group_subscription(beta_id)
        assert moved is not None
        assert (moved.plan_code, moved.seats, moved.trial_ends_on) == ("premium", 5, None)
    assert HAD_TRIAL in _trial(pair)  # Acme had its trial
    assert "Acme is currently using the Free Plan" in _billing(pair)
    assert _buy(pair, "ultimate", "3")[0] == 302  # and may buy again: the trial is replaced
    with pair.portal.app_context():
        acme_link = db.session.execute(
            sa.select(NamespaceLink).where(NamespaceLink.namespace_id == pair.group_id)
        ).scalar_one()
        assert acme_link.trial_subscription_id == trial.id
        assert acme_link.subscription.plan == "ultimate"
