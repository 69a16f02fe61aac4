"""GitLab.com's seat usage feeds the portal's seat reviews (seeds/004): the seats in use each
push's answer reports are kept as the day's billable user count, as Seat Link's are, and a
subscription linked to a group is reviewed quarterly and billed automatically (R31-R34)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from instance.gitlab_com.billable import group_subscription
from portal.billing.usage import has_seat_link, usage_history
from portal.models import Subscription, UsageReport, db
from portal.subscriptions import find_subscription
from tests.portal.billing_helpers import invoices, reviews
from tests.portal.gitlab_com_pair import Pair
from tests.portal.helpers import customer_subscription, make_account, make_subscription
from webcore.clock import app_clock


def _history(pair: Pair, name: str) -> list[tuple[dt.date, int]]:
    with pair.portal.app_context():
        subscription = find_subscription(name)
        assert subscription is not None
        term = usage_history(subscription, subscription.starts_on, subscription.ends_on)
        return [(count.day, count.billable_users) for count in term]


def test_r31_r32_the_groups_seats_in_use_are_the_days_billable_users(pair: Pair) -> None:
    name = customer_subscription(pair.portal, "buyer@example.com", plan="ultimate", seats=20)
    with pair.portal.app_context():
        subscription = find_subscription(name)
        assert subscription is not None and not has_seat_link(subscription)
    pair.link(name)
    pair.run_jobs()
    today = app_clock(pair.portal).now().date()
    # Ultimate: owner and Developer, not the Guest (R31).
    assert _history(pair, name) == [(today, 2)]
    with pair.portal.app_context():
        subscription = find_subscription(name)
        assert subscription is not None and has_seat_link(subscription)  # R32: it shares usage
        report = db.session.execute(
            sa.select(UsageReport).join(Subscription).where(Subscription.name == name)
        ).scalar_one()
        assert (report.gitlab_version, report.instance_id) == (
            "GitLab.com",
            f"gitlab.com/namespaces/{pair.group_id}",
        )
    pair.run_jobs(minutes=2 * 24 * 60)  # two daily pushes
    history = _history(pair, name)
    assert [users for _, users in history] == [2, 2, 2]
    assert [day for day, _ in history] == [today + dt.timedelta(days=n) for n in range(3)]


def test_r34_a_gitlab_com_overage_is_charged_at_the_quarterly_review(pair: Pair) -> None:
    customer = make_account(pair.portal, "buyer@example.com")
    today = app_clock(pair.portal).now().date()
    # Premium, 1 seat, started 80 days ago: its first quarter ends within the next 20 days.
    name = make_subscription(
        pair.portal, customer, plan="premium", seats=1, starts_on=today - dt.timedelta(days=80)
    )
    pair.link(name)
    pair.run_jobs(minutes=20 * 24 * 60)
    # Premium counts the Guest too: 3 users over 1 seat, reported by GitLab.com daily.
    assert reviews(pair.portal, name)[0][:4] == ("quarterly", "Q1", 3, 2)
    charged = [i for i in invoices(pair.portal, name) if i["kind"] == "quarterly_seat_review"]
    assert len(charged) == 1 and charged[0]["lines"][0][0] == 2
    with pair.gitlab_com.app_context():
        provisioned = group_subscription(pair.group_id)
        assert provisioned is not None and provisioned.seats == 3  # the new count is pushed
