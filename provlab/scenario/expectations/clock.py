"""What both parties' clocks show."""

from __future__ import annotations

from typing import Any

from protocol.clock import format_utc
from provlab.scenario.vocabulary import StepContext, expectation


@expectation("time", "time: 2026-03-04T05:00:00Z")
def expect_time(context: StepContext, args: Any) -> None:
    """Both parties' clocks show this UTC time."""
    wanted = context.utc_time(args)
    for party in context.world.parties:
        if party.now() != wanted:
            context.fail(
                f"{party.name} clock is {format_utc(party.now())}, expected {format_utc(wanted)}"
            )
