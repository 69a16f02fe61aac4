"""The scenario vocabulary: every action a step can take and every expectation it can check.

Steps are registered by name with a one-line help and an example; ``provlab scenario steps``
prints them. A handler gets a ``StepContext`` and the step's arguments; it raises
``ScenarioError`` (through ``context.malformed``) for arguments that make no sense, and
``ExpectationFailed`` (through ``context.fail``) when what the parties show is not what the
scenario expects.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

from protocol.clock import parse_utc
from provlab.scenario.loader import Scenario, ScenarioError, Step

if TYPE_CHECKING:
    from provlab.scenario.drivers import GitLabComDriver, InstanceDriver, PortalDriver
    from provlab.scenario.world import World


T = TypeVar("T")


class ExpectationFailed(AssertionError):
    """A scenario's expectation was not met."""


class NotInSetup(LookupError):
    """A step names a subscription or user its scenario's setup never made (a malformed step)."""


def in_setup(found: T | None, missing: str) -> T:
    """What a step named, as its lookup ``found`` it; NotInSetup saying what is ``missing`` when
    the scenario's setup never made it."""
    if found is None:
        raise NotInSetup(missing)
    return found


@dataclass
class StepContext:
    world: World
    scenario: Scenario
    step: Step

    @property
    def portal(self) -> PortalDriver:
        return self.world.portal_driver

    @property
    def instance(self) -> InstanceDriver:
        return self.world.instance_driver

    @property
    def gitlab_com(self) -> GitLabComDriver:
        return self.world.gitlab_com_driver

    def malformed(self, message: str, line: int | None = None) -> NoReturn:
        raise ScenarioError(
            self.scenario.path, line or self.step.line, f"{self.step.kind}: {message}"
        )

    def fail(self, message: str) -> NoReturn:
        raise ExpectationFailed(message)

    def mapping(
        self, args: Any, required: AbstractSet[str], optional: AbstractSet[str] = frozenset()
    ) -> dict[str, Any]:
        """Validate a mapping argument: required keys present, nothing unknown."""
        if not isinstance(args, dict):
            self.malformed(f"expected a mapping with {', '.join(sorted(required | optional))}")
        line = getattr(args, "line", None)
        missing = sorted(required - set(args))
        if missing:
            self.malformed(f"missing {', '.join(missing)}", line)
        unknown = sorted(set(args) - required - optional)
        if unknown:
            allowed = ", ".join(sorted(required | optional))
            self.malformed(f"unknown key(s) {', '.join(unknown)} (allowed: {allowed})", line)
        return dict(args)

    def utc_time(self, args: Any) -> dt.datetime:
        """The step's argument as a UTC time (``2026-03-04T05:00:00Z``); malformed otherwise."""
        try:
            return parse_utc(str(args))
        except ValueError:
            self.malformed("expected a UTC time such as 2026-03-04T05:00:00Z")

    def compare(
        self, row: Any, fields: dict[str, Any], keys: tuple[str, ...], what: str = ""
    ) -> None:
        """Fail unless each of ``keys`` given in ``fields`` equals the row's attribute; ``what``
        names the row in the failure."""
        given = [key for key in keys if key in fields]
        self.compare_shown(
            {key: getattr(row, key) for key in given}, {key: fields[key] for key in given}, what
        )

    def compare_shown(
        self, shown: Mapping[str, Any], wanted: Mapping[str, Any], what: str = ""
    ) -> None:
        """Fail at the first key of ``wanted`` whose value is not the one ``shown`` has for it
        (every key of ``wanted`` is one ``shown`` has); ``what`` names the thing in the
        failure."""
        for key, value in wanted.items():
            if shown[key] != value:
                named = f"{what} {key}" if what else key
                self.fail(f"{named} is {shown[key]!r}, expected {value!r}")

    def compare_active(self, row: Any, fields: dict[str, Any], today: dt.date, what: str) -> None:
        """Fail unless the row's term (starts_on .. ends_on) is in force ``today`` as ``active``
        in ``fields`` says, if it says."""
        active = row.is_active_on(today)
        if "active" in fields and active != fields["active"]:
            self.fail(
                f"{what} is {'' if active else 'not '}active ({row.starts_on} to {row.ends_on})"
            )

    def present(
        self, fields: dict[str, Any], found: T | None, shown: Callable[[T], str], missing: str
    ) -> T | None:
        """For an expectation that takes ``none: true``: fail when ``found`` says otherwise
        (``shown(found)`` says what there is, ``missing`` that nothing is); else ``found``, or
        None when nothing was rightly found and there is nothing more to check."""
        if fields.get("none"):
            if found is not None:
                self.fail(shown(found))
            return None
        if found is None:
            self.fail(missing)
        return found


Handler = Callable[[StepContext, Any], None]


@dataclass(frozen=True)
class Action:
    name: str
    handler: Handler
    help: str
    example: str


ACTIONS: dict[str, Action] = {}
EXPECTATIONS: dict[str, Action] = {}


def _registrar(table: dict[str, Action], name: str, example: str) -> Callable[[Handler], Handler]:
    """A decorator that enters its handler in ``table`` as ``name``, its help the first line of
    the handler's docstring."""

    def register(handler: Handler) -> Handler:
        table[name] = Action(name, handler, (handler.__doc__ or "").strip().split("\n")[0], example)
        return handler

    return register


def action(name: str, example: str) -> Callable[[Handler], Handler]:
    """A scenario step that does something (``- name: args``)."""
    return _registrar(ACTIONS, name, example)


def expectation(name: str, example: str) -> Callable[[Handler], Handler]:
    """A scenario step that checks something (``- expect: {name: args}``)."""
    return _registrar(EXPECTATIONS, name, example)


def run_step(context: StepContext) -> None:
    step = context.step
    found = ACTIONS.get(step.kind)
    if found is None:
        context.malformed(f"unknown action; known actions: {', '.join(sorted(ACTIONS))}")
    try:
        found.handler(context, step.args)
    except NotInSetup as exc:
        context.malformed(str(exc))


@action("expect", "- expect: {license: {type: online_cloud}, duo_menu: shown}")
def expect(context: StepContext, args: Any) -> None:
    """Check what the parties show; each key is an expectation (see the list below)."""
    if not isinstance(args, dict) or not args:
        context.malformed("expected a mapping of expectations, e.g. {duo_menu: shown}")
    failures = []
    for name, value in args.items():
        found = EXPECTATIONS.get(name)
        if found is None:
            context.malformed(
                f"unknown expectation {name!r}; known: {', '.join(sorted(EXPECTATIONS))}"
            )
        try:
            found.handler(context, value)
        except ExpectationFailed as exc:
            failures.append(f"{name}: {exc}")
    if failures:
        raise ExpectationFailed("; ".join(failures))
