"""Moving both parties' clocks in lockstep through every due job, in time order.

To reach a target time, repeatedly ask every party for its earliest due job, move all clocks to
the earliest of those instants, and run what is due there (the portal before the instance when
both have work at the same instant; a party with nothing due there moves its clock before any job
runs, and a party whose job waits for another's moves to a second before the instant), until
nothing is due before the target. So a lead processed
at 05:00 on the portal is seen by the instance's sync at 03:41 the next day, exactly, every time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

# Each step runs at least one job; a bound keeps a misbehaving job from spinning forever.
MAX_STEPS = 1_000_000
# Where a party with a job due at an instant waits while another party runs first: nothing of its
# own is due yet, and its clock is within a second of the instant (any freshness window allows it).
JUST_BEFORE = dt.timedelta(seconds=1)


class Party(Protocol):
    """One app as the orchestrator sees it (over HTTP or in the same process).

    A party may answer ``next_due`` from what it last learnt of the app's jobs (a run's answer
    includes its next due job) rather than ask again: its own calls are the only change it can
    see coming. Others' it cannot: a job of another party may call this app (the instance's sync
    calls the portal, the portal pushes to GitLab.com), and so may a scenario step or a user
    between two journeys. The orchestrator therefore says when to stop trusting that memory:
    at each journey's start, and after a run of another party that called out."""

    name: str

    def now(self) -> dt.datetime: ...

    def next_due(self) -> dt.datetime | None: ...

    def forget_next_due(self) -> None:
        """Something other than this party's own calls may have changed the app's jobs since it
        last learnt them: the next ``next_due`` must not answer from memory."""

    def run_due(self, at: dt.datetime) -> list[dict[str, Any]]: ...

    def called_out(self) -> bool:
        """Whether the last ``run_due`` may have called another party (and so changed its
        jobs): True when the app does not say."""

    def move_clock(self, at: dt.datetime) -> None:
        """Move the clock to ``at``; only called when no job of this party is due by then."""


@dataclass(frozen=True)
class Travel:
    started_at: dt.datetime
    arrived_at: dt.datetime
    runs: list[dict[str, Any]]


# Told, after each instant the parties reached, that instant and how many jobs have run so far.
Progress = Callable[[dt.datetime, int], None]


def travel_to(
    parties: Sequence[Party], target: dt.datetime, progress: Progress | None = None
) -> Travel:
    """Advance every party to ``target``, running every due job of every party in time order;
    ``progress`` hears of each instant reached (for a progress bar)."""
    for party in parties:  # anything may have happened since the last journey
        party.forget_next_due()
    started = max(party.now() for party in parties)
    if target < started:
        raise ValueError(f"cannot travel back in time: the clocks are at {started.isoformat()}")
    runs: list[dict[str, Any]] = []
    for _ in range(MAX_STEPS):
        dues = [(party, party.next_due()) for party in parties]
        pending = [due for _, due in dues if due is not None and due <= target]
        if not pending:
            break
        instant = max(min(pending), started)
        # Parties with nothing due by ``instant`` move their clocks first (running nothing), so
        # a job sees every idle party already at its instant; then the busy ones run, in order.
        idle = [party for party, due in dues if due is None or due > instant]
        busy = [party for party, due in dues if due is not None and due <= instant]
        for party in idle:
            party.move_clock(max(instant, party.now()))
        # Busy parties all come to just before the instant, so the first to run a job (a push,
        # a sync) finds the others' clocks there too, not where their last job left them.
        for party in busy:
            if len(busy) > 1 and _due(dues, party) == instant:
                party.move_clock(max(instant - JUST_BEFORE, party.now()))
        for party in busy:
            runs.extend(party.run_due(max(instant, party.now())))
            # A job that called another party may have changed any other's jobs (the portal a
            # sync reaches may push to GitLab.com): ask them again. Most runs call nobody (a
            # clean-up, a mail), and then every other party's last answer stays good; its own,
            # the latest, always does.
            if party.called_out():
                for other in parties:
                    if other is not party:
                        other.forget_next_due()
        if progress is not None:
            progress(instant, len(runs))
    else:
        raise RuntimeError(f"time travel did not settle after {MAX_STEPS} steps")
    for party in parties:
        runs.extend(party.run_due(max(target, party.now())))
    if progress is not None:
        progress(target, len(runs))
    return Travel(started, target, runs)


def _due(dues: list[tuple[Party, dt.datetime | None]], party: Party) -> dt.datetime | None:
    return next(due for each, due in dues if each is party)
