"""GitLab.com Ultimate trials: the owner of a Free top-level group starts one from Settings →
Billing (``/-/trials/new``); the portal makes a 30-day Ultimate trial subscription linked to the
group and GitLab.com applies it at once. Paid groups, groups that had a trial and non-owners are
refused and nothing changes. A GitLab Duo Pro trial may run on top (R25), unlike self-managed
(R11); when the Ultimate trial ends the group is Free again and the Duo trial runs on."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from instance import add_ons
from instance.gitlab_com.billable import billable_member_count, group_subscription
from instance.gitlab_com.groups import add_member, create_group, find_group, is_owner, role_level
from instance.gitlab_com.provisioning import group_duo_purchase
from instance.gitlab_com.trials import NOT_ELIGIBLE
from instance.gitlab_com.ultimate_trials import HAD_TRIAL, NO_GROUP, NOT_OWNER, PAID_PLAN
from instance.models import User
from instance.models import db as instance_db
from portal.gitlab_com.models import NamespaceLink
from portal.gitlab_com.trials import TrialRefused
from portal.gitlab_com.ultimate_trials import start_namespace_ultimate_trial
from portal.models import Subscription, SubscriptionKind, db
from protocol.provisioning import NamespacePlanTrialRequest
from tests.instance.conftest import csrf_token, sign_in
from tests.portal.gitlab_com_pair import TRIAL_FORM, Pair
from tests.portal.helpers import make_account, make_subscription
from webcore.clock import app_clock


def _client(pair: Pair, username: str) -> FlaskClient:
    client = pair.gitlab_com.test_client()
    sign_in(client, username)
    return client


def _post(pair: Pair, username: str, path: str = "/-/trials", **data: object) -> str:
    client = _client(pair, username)
    token = csrf_token(client, "/dashboard")
    fields = {**TRIAL_FORM, "step": "lead", "namespace_id": pair.group_id, **data}
    response = client.post(path, data={**fields, "csrf_token": token}, follow_redirects=True)
    return response.get_data(as_text=True)


def _portal_subscriptions(pair: Pair) -> list[tuple[str, str, dt.date]]:
    with pair.portal.app_context():
        return [
            (row.kind, row.plan, row.ends_on)
            for row in db.session.execute(sa.select(Subscription)).scalars()
        ]


def _billing(pair: Pair, username: str = "owner") -> str:
    return _client(pair, username).get("/groups/acme/-/billings").get_data(as_text=True)


def _user(username: str) -> User:
    return instance_db.session.execute(
        sa.select(User).where(User.username == username)
    ).scalar_one()


def _start_in_the_portal(pair: Pair) -> None:
    """The portal's own start of the group's Ultimate trial, as GitLab.com asks for it."""
    with pair.portal.app_context():
        request = NamespacePlanTrialRequest(
            pair.group_id, "acme", "o@example.com", *TRIAL_FORM.values()
        )
        start_namespace_ultimate_trial(request, app_clock(pair.portal).now())


def test_a_free_group_owner_starts_an_ultimate_trial_that_applies_at_once_r31(pair: Pair) -> None:
    billing = _billing(pair)
    assert "Start a free Ultimate trial" in billing and "/-/trials/new?namespace_id=" in billing
    assert "Start a Free Ultimate Trial" in _client(pair, "owner").get(
        f"/-/trials/new?namespace_id={pair.group_id}"
    ).get_data(as_text=True)
    page = _post(pair, "owner")
    assert "Congratulations, your free trial is activated." in page
    today = app_clock(pair.gitlab_com).now().date()
    with pair.gitlab_com.app_context():
        subscription = group_subscription(pair.group_id)
        assert subscription is not None
        assert (subscription.plan_code, subscription.trial) == ("ultimate", True)
        assert subscription.trial_starts_on == today
        assert subscription.trial_ends_on == today + dt.timedelta(days=30)
        # R31 on Ultimate: the Guest is not billable (owner and dev are).
        assert subscription.seats_in_use == 2 == billable_member_count(pair.group_id)
    assert _portal_subscriptions(pair) == [
        (SubscriptionKind.PLAN_TRIAL, "ultimate", today + dt.timedelta(days=30))
    ]
    with pair.portal.app_context():
        link = db.session.execute(sa.select(NamespaceLink)).scalar_one()
        assert (link.namespace_id, link.namespace_path) == (pair.group_id, "acme")
        assert link.subscription.contact_email == "owner@example.com"
    billing = _billing(pair)
    assert "Acme is currently using the Ultimate Plan (Trial)" in billing
    assert 'data-testid="ultimate-trial"' in billing
    assert "Start a free Ultimate trial" not in billing


def test_a_non_owner_is_refused_and_nothing_changes(pair: Pair) -> None:
    assert NOT_OWNER in _post(pair, "dev", step="trial")
    assert "Start a free Ultimate trial" not in _client(pair, "dev").get(
        "/groups/acme/-/billings"
    ).get_data(as_text=True)  # not even the page: 404 for a non-owner
    assert _portal_subscriptions(pair) == []


def test_a_group_on_a_paid_plan_is_refused(pair: Pair) -> None:
    customer = make_account(pair.portal, "buyer@example.com")
    pair.link(make_subscription(pair.portal, customer, seats=10))
    pair.run_jobs(minutes=0)  # GitLab.com knows the plan
    assert "Start a free Ultimate trial" not in _billing(pair)
    assert PAID_PLAN in _post(pair, "owner", step="trial")
    assert len(_portal_subscriptions(pair)) == 1
    # The portal refuses on its own too, whatever GitLab.com believes.
    with pytest.raises(TrialRefused, match="paid plan"):
        _start_in_the_portal(pair)


def test_a_second_ultimate_trial_for_the_group_is_refused(pair: Pair) -> None:
    _post(pair, "owner")
    assert HAD_TRIAL in _post(pair, "owner", step="trial")
    assert len(_portal_subscriptions(pair)) == 1
    with pytest.raises(TrialRefused, match="already had a trial"):
        _start_in_the_portal(pair)


@pytest.mark.parametrize(
    ("change", "status"),
    [
        # Bad fields: the lead form again, with GitLab's message (test_gitlab_com_trial_leads).
        ({"first_name": ""}, 400),
        ({"country": "XX"}, 400),
        ({"step": "bogus"}, 400),
        ({"step": "trial", "namespace_id": "abc"}, 400),
        ({"step": "trial", "namespace_id": "999999"}, 404),
    ],
)
def test_bad_input_is_a_4xx_and_changes_nothing(
    pair: Pair, change: dict[str, str], status: int
) -> None:
    client = _client(pair, "owner")
    token = csrf_token(client, "/dashboard")
    data = {**TRIAL_FORM, "step": "lead", "namespace_id": str(pair.group_id), **change}
    response = client.post("/-/trials", data={**data, "csrf_token": token})
    assert response.status_code == status
    assert _portal_subscriptions(pair) == []
    with pair.gitlab_com.app_context():
        assert group_subscription(pair.group_id) is None


def test_several_free_groups_are_offered_to_choose_from(pair: Pair) -> None:
    with pair.gitlab_com.app_context():
        beta = create_group("Beta", "beta", app_clock(pair.gitlab_com).now())
        add_member(beta, _user("owner"), role_level("owner"), app_clock(pair.gitlab_com).now())
        instance_db.session.commit()
    client = _client(pair, "owner")
    token = csrf_token(client, "/dashboard")
    response = client.post(
        "/-/trials", data={**TRIAL_FORM, "step": "lead", "csrf_token": token}, follow_redirects=True
    )
    page = response.get_data(as_text=True)
    assert "Apply your trial to a new or existing group" in page and "Beta" in page
    assert _portal_subscriptions(pair) == []  # nothing until a group is chosen


def test_a_user_who_owns_no_free_group_is_asked_for_a_new_one_and_the_trial_applies_to_it(
    pair: Pair,
) -> None:
    """GitLab's create group flow: with no group that may have the trial, the group step asks
    for a *New group name*; the group is created with the user as its Owner (its path from the
    name, ``acme`` taken so ``acme1``) and the trial applied to it at once."""
    page = _post(pair, "dev", namespace_id="")
    assert "Apply your trial to a new group" in page
    assert "Create a new group to start your GitLab Ultimate trial." in page
    assert 'name="new_group_name"' in page and NO_GROUP not in page
    assert _portal_subscriptions(pair) == []
    blank = _post(pair, "dev", step="trial", namespace_id="0", new_group_name="  ")
    assert "Name can&#39;t be blank" in blank
    with pair.gitlab_com.app_context():
        assert find_group("acme1") is None
    started = _post(pair, "dev", step="trial", namespace_id="0", new_group_name="Acme")
    assert "Congratulations, your free trial is activated." in started
    with pair.gitlab_com.app_context():
        created = find_group("acme1")
        assert created is not None and created.name == "Acme" and created.is_root
        assert is_owner(created, _user("dev"))
        subscription = group_subscription(created.id)
        assert subscription is not None
        assert (subscription.plan_code, subscription.trial) == ("ultimate", True)
    assert [(kind, plan) for kind, plan, _ in _portal_subscriptions(pair)] == [
        ("plan_trial", "ultimate")
    ]


def test_the_create_group_choice_is_refused_where_the_trial_cannot_go_to_a_new_group(
    pair: Pair,
) -> None:
    """The GitLab Duo Pro trial needs a paid group: its prompt has no *Create group*, and a
    forged ``namespace_id`` 0 is a group that does not exist, nothing created."""
    page = _post(
        pair,
        "owner",
        path="/-/trials/duo_pro",
        step="trial",
        namespace_id="0",
        new_group_name="Sneaky",
    )
    assert "Congratulations" not in page
    with pair.gitlab_com.app_context():
        assert find_group("Sneaky") is None


def test_r11_r25_a_duo_trial_rides_on_the_ultimate_trial_and_outlives_it(pair: Pair) -> None:
    """GitLab.com allows the Duo Pro trial on an Ultimate trial (R25), which self-managed
    forbids (R11). When the 30 days are over the group is Free; the Duo trial and its seat run
    on to their own end, as GitLab.com does (gitlab-org/gitlab#461881)."""
    _post(pair, "owner")
    duo = _post(pair, "owner", path="/-/trials/duo_pro", step="trial")
    assert "You have successfully started a Duo Pro trial" in duo
    start = app_clock(pair.gitlab_com).now()
    with pair.gitlab_com.app_context():
        purchase = group_duo_purchase(pair.group_id)
        assert purchase is not None and purchase.trial
        add_ons.assign_seat(purchase.id, _user("dev"), start)
        instance_db.session.commit()
    pair.run_jobs(minutes=31 * 24 * 60)
    today = app_clock(pair.gitlab_com).now().date()
    with pair.gitlab_com.app_context():
        subscription = group_subscription(pair.group_id)
        assert subscription is not None
        assert (subscription.plan_code, subscription.trial) == ("free", False)
        assert subscription.trial_ends_on == start.date() + dt.timedelta(days=30)
        purchase = group_duo_purchase(pair.group_id)
        assert purchase is not None and purchase.is_active_on(today)
        assert add_ons.assigned_count(purchase) == 1
        assert billable_member_count(pair.group_id) == 3  # Free: the Guest counts again (R31)
    billing = _billing(pair)
    assert "Acme is currently using the Free Plan" in billing
    assert "ultimate-trial-ended" in billing and "Start a free Ultimate trial" not in billing
    assert HAD_TRIAL in _post(pair, "owner", step="trial")
    # The Duo trial was the group's one: no new one now that it is Free.
    assert NOT_ELIGIBLE in _post(pair, "owner", path="/-/trials/duo_pro", step="trial")
