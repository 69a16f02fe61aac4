"""What support's doctor said (the last ``doctor`` step's verdict)."""

from __future__ import annotations

from typing import Any

from provlab.scenario.vocabulary import StepContext, expectation


@expectation("verdict", "verdict: {cause: not_yet_synced, rule: R13}")
def expect_verdict(context: StepContext, args: Any) -> None:
    """The last `doctor` step's verdict."""
    fields = context.mapping(args, set(), {"cause", "rule", "healthy"})
    verdict = context.world.last_verdict
    if verdict is None:
        context.malformed("run a `doctor` step first")
    context.compare(verdict, fields, tuple(fields), "verdict")
