"""``provlab bench review`` in a small mode: the daily seat review of 50 subscriptions with a
year of daily usage each, run as the job runs it; its result is checked against the pure policy
(no time is asserted), and the check fails when the review's result is wrong."""

from __future__ import annotations

import datetime as dt

import pytest

from provlab import review_bench
from tests.support import databases


def test_r34_bench_review_small_reviews_every_subscription_as_the_policy_says() -> None:
    run = review_bench.bench_review(50)
    assert run.right, run.check
    assert "50 subscriptions reviewed" in run.measurement.detail
    assert "target < 10 s" in run.measurement.render()
    assert run.check.startswith("result right: 150 reviews")


def test_the_bench_check_finds_a_review_that_did_not_run(monkeypatch: pytest.MonkeyPatch) -> None:
    def nothing(now: dt.datetime) -> int:
        return 0

    monkeypatch.setattr(review_bench, "run_seat_reviews", nothing)
    run = review_bench.bench_review(12)
    assert not run.right
    assert "0 of 12 subscriptions reviewed" in run.check
    assert "0 reviews, expected 36" in run.check


def test_r34_bench_review_small_on_postgresql(database_pool: databases.Pool) -> None:
    if not database_pool.postgres_available():
        pytest.skip(f"PostgreSQL is not reachable at {databases.POSTGRES_ADMIN_URL}")
    run = review_bench.bench_review(20, databases.POSTGRES_ADMIN_URL)
    assert run.right, run.check
    assert "(PostgreSQL)" in run.measurement.name
