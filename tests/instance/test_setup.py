"""The instance's preparation and demo data."""

from __future__ import annotations

from flask import Flask

from instance.models import Job, User, db
from instance.setup import seed_demo
from instance.users import billable_user_count


def test_r30_demo_instance_has_a_realistic_population(app: Flask) -> None:
    seed_demo(app)
    seed_demo(app)  # idempotent
    with app.app_context():
        users = {u.username: u for u in db.session.execute(db.select(User)).scalars()}
        assert {
            "root",
            "alice",
            "gwen",
            "blake",
            "dora",
            "ci_service_account",
            "support-bot",
        } <= set(users)
        assert users["support-bot"].bot_type == "support_bot"
        # Without a license (not Ultimate) guests count; blocked, deactivated and bots do not.
        assert billable_user_count() == 8


def test_prepare_plans_the_daily_sync_and_the_clean_up(app: Flask) -> None:
    with app.app_context():
        jobs = {job.key: job.next_run_at for job in db.session.execute(db.select(Job)).scalars()}
    assert set(jobs) >= {"daily_sync", "seat_cleanup"}
    assert 3 <= jobs["daily_sync"].hour <= 4


def test_a_clean_up_re_plans_a_daily_sync_whose_retries_ran_out(app: Flask) -> None:
    with app.app_context():
        scheduler = app.extensions["jobs"]
        job = db.session.execute(db.select(Job).where(Job.key == "daily_sync")).scalar_one()
        job.next_run_at = None  # parked: its retries ran out
        db.session.commit()
        cleanup = db.session.execute(db.select(Job).where(Job.key == "seat_cleanup")).scalar_one()
        ran = scheduler.run_due(cleanup.next_run_at)
        assert [run.name for run in ran] == ["seat_cleanup"]
        assert scheduler.scheduled_at("daily_sync") is not None
