"""A step that may be refused: the portal's refusal is the step's outcome, checked against the
scenario's ``expect_refusal``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from portal.errors import Refused
from provlab.scenario.vocabulary import StepContext


@contextmanager
def refusal_expected(context: StepContext, expected: Any, what: str) -> Iterator[None]:
    """Run the block; a refusal is fine only when ``expected`` (text it must contain) is given,
    and then the block must be refused. The refusal goes on the timeline."""
    outcome = None
    try:
        yield
    except Refused as refused:
        outcome = str(refused.message)
    if expected is None and outcome is not None:
        context.fail(f"the {what} was refused: {outcome}")
    if expected is not None:
        if outcome is None:
            context.fail(f"the {what} succeeded; expected a refusal containing {expected!r}")
        if str(expected).lower() not in outcome.lower():
            context.fail(f"the {what} was refused with {outcome!r}, expected {expected!r}")
    if outcome is not None:
        context.world.timeline.add(context.world.now(), "portal", "refused", f"{what}: {outcome}")
