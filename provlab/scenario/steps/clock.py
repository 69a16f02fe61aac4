"""Time: ``advance: DURATION`` and ``travel_to: TIME`` move both parties through every due job."""

from __future__ import annotations

from typing import Any

from protocol.clock import format_utc
from provlab.durations import parse_duration
from provlab.scenario.vocabulary import StepContext, action


@action("advance", "- advance: 1d12h")
def advance(context: StepContext, args: Any) -> None:
    """Move both clocks forward, running every due job of both parties in time order."""
    try:
        delta = parse_duration(str(args))
    except ValueError as exc:
        context.malformed(str(exc))
    context.world.travel_to(context.world.now() + delta)


@action("travel_to", "- travel_to: 2026-03-04T05:00:00Z")
def travel_to(context: StepContext, args: Any) -> None:
    """Move both clocks forward to a UTC time, running every due job on the way."""
    target = context.utc_time(args)
    if target < context.world.now():
        context.malformed(
            f"the clocks are at {format_utc(context.world.now())}; they never move backwards"
        )
    context.world.travel_to(target)
