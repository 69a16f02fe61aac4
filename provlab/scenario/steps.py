"""The scenario vocabulary's actions and expectations (registered on import).

Time: ``advance: DURATION`` and ``travel_to: TIME`` move both parties through every due job.
"""

from __future__ import annotations

from typing import Any

from protocol.clock import format_utc, parse_utc
from provlab.durations import parse_duration
from provlab.scenario.loader import LineDict, Scenario
from provlab.scenario.vocabulary import StepContext, action, expectation
from provlab.scenario.world import World


def apply_setup(world: World, scenario: Scenario) -> None:
    """Build what ``setup:`` describes: the portal first, then the instance (which may activate)."""
    from provlab.scenario import domain

    unknown = sorted(set(scenario.setup) - {"portal", "instance"})
    if unknown:
        raise scenario.error(
            scenario.setup.line,
            f"unknown setup section(s) {', '.join(unknown)}; use portal, instance",
        )
    domain.setup_portal(world, scenario, scenario.setup.get("portal") or LineDict(subscriptions=[]))
    domain.setup_instance(world, scenario, scenario.setup.get("instance") or LineDict())


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
    try:
        target = parse_utc(str(args))
    except ValueError:
        context.malformed("expected a UTC time such as 2026-03-04T05:00:00Z")
    if target < context.world.now():
        context.malformed(
            f"the clocks are at {format_utc(context.world.now())}; they never move backwards"
        )
    context.world.travel_to(target)


@expectation("time", "time: 2026-03-04T05:00:00Z")
def expect_time(context: StepContext, args: Any) -> None:
    """Both parties' clocks show this UTC time."""
    try:
        wanted = parse_utc(str(args))
    except ValueError:
        context.malformed("expected a UTC time such as 2026-03-04T05:00:00Z")
    for party in context.world.parties:
        if party.now() != wanted:
            context.fail(
                f"{party.name} clock is {format_utc(party.now())}, expected {format_utc(wanted)}"
            )


# The parties' vocabulary registers itself on import.
from provlab.scenario import domain as _domain  # noqa: E402,F401
