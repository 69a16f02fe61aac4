"""Reading scenario files, keeping the line of every mapping so errors can point at it.

A scenario file is YAML::

    name: Embargoed trial request never creates a trial
    rules: [R22]
    start: 2026-03-02T00:00:00Z      # optional; simulated time starts here
    seed: 7                          # optional; fixes every random choice (sync slot, ...)
    setup: {...}                     # optional; see the steps vocabulary
    steps:
      - advance: 2d
      - expect: {...}

Every problem is reported as ``FILE:LINE: message``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from protocol.clock import parse_utc
from provlab.malformed import MalformedFile
from provlab.rules_catalogue import rule_ids

DEFAULT_START = "2026-03-02T00:00:00Z"
TOP_LEVEL_KEYS = {"name", "description", "rules", "start", "seed", "setup", "steps"}


class ScenarioError(MalformedFile):
    """A scenario file is malformed: names the file and line."""


class LineDict(dict[str, Any]):
    """A mapping that remembers the (1-based) line it started on, and the line of each key."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.line = 0
        self.key_lines: dict[str, int] = {}

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


class _Loader(yaml.SafeLoader):
    pass


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    mapping = LineDict()
    mapping.line = node.start_mark.line + 1
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in mapping:
            raise ScenarioError(loader.name, key_node.start_mark.line + 1, f"duplicate key {key!r}")
        if isinstance(key, str):
            mapping.key_lines[key] = key_node.start_mark.line + 1
        mapping[key] = loader.construct_object(value_node, deep=True)
    return mapping


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
# Times stay strings: the scenario's own parser gives better errors than YAML's timestamp type.
_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass(frozen=True)
class Step:
    kind: str
    args: Any
    line: int
    index: int

    def describe(self) -> str:
        return f"step {self.index + 1} ({self.kind}, line {self.line})"


@dataclass(frozen=True)
class Scenario:
    path: Path
    name: str
    description: str
    rules: tuple[str, ...]
    start: dt.datetime
    seed: int
    setup: LineDict
    steps: tuple[Step, ...] = field(default_factory=tuple)

    def error(self, line: int | None, message: str) -> ScenarioError:
        return ScenarioError(self.path, line, message)


def load_scenario(path: Path) -> Scenario:
    try:
        text = path.read_text()
    except OSError as exc:
        raise ScenarioError(path, None, f"cannot read: {exc.strerror}") from None
    loader = _Loader(text)
    loader.name = str(path)
    try:
        document = loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise ScenarioError(path, line, f"not valid YAML: {exc.problem}") from None
    finally:
        loader.dispose()
    if not isinstance(document, LineDict):
        raise ScenarioError(path, 1, "a scenario is a mapping with at least 'name' and 'steps'")
    return _build(path, document)


def _build(path: Path, document: LineDict) -> Scenario:
    unknown = sorted(set(document) - TOP_LEVEL_KEYS)
    if unknown:
        raise ScenarioError(
            path,
            document.line,
            f"unknown key(s) {', '.join(unknown)}; expected {', '.join(sorted(TOP_LEVEL_KEYS))}",
        )
    name = document.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ScenarioError(
            path, document.line, "'name' is required: a sentence saying what the scenario shows"
        )
    rules = document.get("rules", [])
    if not isinstance(rules, list) or not all(
        isinstance(r, str) and r.upper().startswith("R") for r in rules
    ):
        raise ScenarioError(
            path, document.line_of("rules"), "'rules' is a list of rule IDs such as [R22, R13]"
        )
    unknown_rules = [r for r in rules if r.upper() not in rule_ids()]
    if unknown_rules:
        raise ScenarioError(
            path,
            document.line_of("rules"),
            f"unknown rule ID(s) {', '.join(unknown_rules)}: not in docs/rules.md "
            "(`provlab rules` lists them)",
        )
    try:
        start = parse_utc(str(document.get("start", DEFAULT_START)))
    except ValueError:
        raise ScenarioError(
            path, document.line, "'start' must be a UTC time such as 2026-03-02T00:00:00Z"
        ) from None
    seed = document.get("seed", 0)
    if not isinstance(seed, int):
        raise ScenarioError(path, document.line, "'seed' must be an integer")
    setup = document.get("setup") or LineDict()
    if not isinstance(setup, LineDict):
        raise ScenarioError(path, document.line, "'setup' must be a mapping")
    raw_steps = document.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        raise ScenarioError(path, document.line, "'steps' must be a non-empty list")
    steps = []
    for index, raw in enumerate(raw_steps):
        if not isinstance(raw, LineDict) or len(raw) != 1:
            line = raw.line if isinstance(raw, LineDict) else document.line
            raise ScenarioError(
                path,
                line,
                f"step {index + 1} must be a mapping with exactly one action, e.g. '- advance: 1d'",
            )
        ((kind, args),) = raw.items()
        steps.append(Step(str(kind), args, raw.line, index))
    return Scenario(
        path=path,
        name=name.strip(),
        description=str(document.get("description", "")).strip(),
        rules=tuple(r.upper() for r in rules),
        start=start,
        seed=seed,
        setup=setup,
        steps=tuple(steps),
    )
