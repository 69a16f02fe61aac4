"""Faults: what breaks between the parties (the wire, the proxy, the clocks) until cleared."""

from __future__ import annotations

import datetime as dt
from typing import Any

from provlab.durations import parse_duration
from provlab.scenario.vocabulary import StepContext, action


@action(
    "fault",
    "- fault: unreachable    # or timeout, server_error, tampered, wrong_key, replay, proxy",
)
def fault(context: StepContext, args: Any) -> None:
    """Inject a fault between the instance and the portal, until cleared."""
    try:
        context.world.faults.set(str(args))
    except ValueError as exc:
        context.malformed(str(exc))
    context.world.timeline.add(context.world.now(), "scenario", "fault", f"{args} on")


@action("clear_faults", "- clear_faults: all     # or one fault's name")
def clear_faults(context: StepContext, args: Any) -> None:
    """Clear one fault, or all."""
    context.world.faults.clear(None if args in (None, "all") else str(args))
    context.world.timeline.add(context.world.now(), "scenario", "fault", f"{args or 'all'} cleared")


@action("clear_proxy", "- clear_proxy: true")
def clear_proxy(context: StepContext, args: Any) -> None:
    """The admin fixes the instance's proxy setting (removes the wrong one)."""
    context.world.clear_proxy()
    context.world.timeline.add(context.world.now(), "instance", "admin", "proxy setting removed")


@action("skew_clock", "- skew_clock: 10m      # the instance's clock runs ahead; 0s ends it")
def skew_clock(context: StepContext, args: Any) -> None:
    """Put the instance's clock ahead of the portal's (a fault: signed requests become stale)."""
    try:
        offset = (
            dt.timedelta() if str(args).strip() in ("0", "0s", "off") else parse_duration(str(args))
        )
    except ValueError as exc:
        context.malformed(str(exc))
    context.world.skew_instance(offset)
