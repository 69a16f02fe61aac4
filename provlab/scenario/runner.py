"""Running scenarios: set up both parties, run each step, stop at the first failure.

On failure the result carries the timeline of both parties around the failing step, so the reader
sees what each side did just before things went wrong.
"""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from provlab.scenario.loader import Scenario, ScenarioError, load_scenario
from provlab.scenario.steps import apply_setup  # importing the steps registers the vocabulary
from provlab.scenario.vocabulary import ExpectationFailed, StepContext, run_step
from provlab.scenario.world import Event, World


@dataclass
class ScenarioResult:
    path: Path
    name: str
    rules: tuple[str, ...]
    transport: str
    passed: bool
    seconds: float
    failure: str | None = None
    failed_step: str | None = None
    kind: str = "passed"  # "passed", "failed" (an expectation), "error" (malformed or crashed)
    timeline: list[Event] = field(default_factory=list)

    def report(self) -> str:
        head = (
            f"{'PASS' if self.passed else 'FAIL'}  {self.path}  [{self.transport}] "
            f"{self.seconds:.1f} s  {self.name}"
        )
        if self.passed:
            return head
        lines = [head, f"      {self.failed_step or 'setup'}: {self.failure}"]
        if self.timeline:
            lines.append("      timeline:")
            lines += [f"        {event.render()}" for event in self.timeline]
        return "\n".join(lines)


def run_file(path: Path, transport: str) -> ScenarioResult:
    started = time.perf_counter()
    try:
        scenario = load_scenario(path)
    except ScenarioError as exc:
        return ScenarioResult(path, path.stem, (), transport, False, 0.0, str(exc), None, "error")
    return run_scenario(scenario, transport, started)


def run_scenario(
    scenario: Scenario, transport: str, started: float | None = None
) -> ScenarioResult:
    started = time.perf_counter() if started is None else started
    try:
        world = World(transport, scenario.start, scenario.seed)
    except Exception as exc:  # the parties could not even start: report, don't crash the run
        detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        message = f"starting the parties failed: {detail}"
        return _failed(scenario, transport, started, None, None, message, "error")
    current: StepContext | None = None
    try:
        apply_setup(world, scenario)
        for step in scenario.steps:
            world.timeline.step_index = step.index
            world.timeline.add(world.now(), "scenario", "step", f"{step.kind} (line {step.line})")
            current = StepContext(world, scenario, step)
            run_step(current)
    except ExpectationFailed as exc:
        return _failed(scenario, transport, started, world, current, str(exc), "failed")
    except ScenarioError as exc:
        return _failed(scenario, transport, started, world, current, str(exc), "error")
    except Exception as exc:  # a crash in the apps is a finding, reported with its traceback
        detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        tail = traceback.format_exc().strip().splitlines()[-6:]
        return _failed(
            scenario, transport, started, world, current, detail + "\n" + "\n".join(tail), "error"
        )
    finally:
        world.close()
    return ScenarioResult(
        scenario.path, scenario.name, scenario.rules, transport, True, time.perf_counter() - started
    )


def _failed(
    scenario: Scenario,
    transport: str,
    started: float,
    world: World | None,
    context: StepContext | None,
    message: str,
    kind: str,
) -> ScenarioResult:
    """The result of a run that stopped: where (the step, if one had begun) and, once the parties
    were up, their timeline around it."""
    index = context.step.index if context else 0
    return ScenarioResult(
        scenario.path,
        scenario.name,
        scenario.rules,
        transport,
        False,
        time.perf_counter() - started,
        message,
        context.step.describe() if context else None,
        kind,
        world.timeline.around(index) if world else [],
    )
