"""``provlab bench year``'s world (one portal, one cloud-licensed instance) as its days go by: a
day where nothing happens but the daily work (the instance's sync and seat clean-ups, the portal's
nightly jobs and the sync it answers) costs a fixed, small number of statements per party,
however many days and users came before (issue 15; no time is asserted)."""

from __future__ import annotations

import collections
import datetime as dt
from typing import Any

import sqlalchemy as sa

from provlab import bench
from provlab.scenario.steps import apply_setup
from provlab.scenario.world import World

# Today's counts (BEGIN and savepoints included). Each job run: its claim, its handler's
# savepoint, its bookkeeping (which also returns the next due time), the handler's own statements.
# The instance, 34 (35 before the identity and the license were read together, 40 before the
# sync read each thing once, 46 before the bookkeeping returned the next due time and the
# savepoint lost its release): 16 of the job runner's (five transactions, four claims, three
# savepoints and bookkeepings, the next due time); the sync's report (the identity with the
# license, the billable count with the day's row, the add-on seats, the daily counts with the
# term's maximum) and, after the call, its install (the status locked, the license re-checked,
# the status updated, both purchases locked, Duo's seats counted): 9; two seat clean-ups (the seats to free, the day's count recorded?, the daily sync
# still planned?): 6; the day's count recorded once (the plan, the count with the day's row, the
# row): 3. The portal, 29 (37 before the bookkeeping's change): three nightly jobs, the lead
# pass and the sync it answers.
MAX_STATEMENTS_PER_DAY = {"instance": 34, "portal": 29}


def _statements_per_day(users: int, days: int) -> list[dict[str, int]]:
    world = World("inprocess", bench.START, 0)
    try:
        apply_setup(world, bench._scenario(users=users, seats=users))
        world.travel_to(world.now() + dt.timedelta(days=1))  # the first day's one-off work
        counts: collections.Counter[str] = collections.Counter()
        for app in (world.portal, world.instance):

            def note(*_args: Any, name: str = app.name) -> None:
                counts[name] += 1

            with app.app_context():
                sa.event.listen(app.extensions["sqlalchemy"].engine, "before_cursor_execute", note)
        per_day = []
        for _ in range(days):
            counts.clear()
            world.travel_to(world.now() + dt.timedelta(days=1))
            per_day.append(dict(counts))
        return per_day
    finally:
        world.close()


def test_a_quiet_day_costs_a_fixed_small_number_of_statements_per_party() -> None:
    per_day = _statements_per_day(users=30, days=3)
    assert per_day[0] == per_day[-1], per_day  # the same every day: nothing grows with history
    for party, budget in MAX_STATEMENTS_PER_DAY.items():
        assert 0 < per_day[0][party] <= budget, (party, per_day)


def test_the_statements_of_a_day_do_not_grow_with_the_instances_users() -> None:
    assert _statements_per_day(users=5, days=1) == _statements_per_day(users=200, days=1)
