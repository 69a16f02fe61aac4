"""Which rules are proven, and by what: tests and scenarios that name rule IDs.

A test names a rule in its function name (``test_r22_embargoed_trial_fails_silently``,
``test_r2_r30_guests_are_not_eligible``); a scenario names rules in its ``rules:`` list. A rule is
proven when at least one of them names it. The scan reads source files; it imports nothing.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import yaml

from provlab.rules_catalogue import BY_ID, CATALOGUE, Rule

_RULE_IN_NAME = re.compile(r"(?:^|_)r(\d{1,2})(?=_|$)")


@dataclass(frozen=True)
class Proof:
    kind: str  # "test" or "scenario"
    where: str  # tests/portal/test_x.py::test_r4_... or scenarios/x.yaml


def rule_ids_in_test_name(name: str) -> list[str]:
    return [f"R{int(number)}" for number in _RULE_IN_NAME.findall(name.removeprefix("test"))]


def scan_tests(root: Path) -> dict[str, list[Proof]]:
    proofs: dict[str, list[Proof]] = defaultdict(list)
    for path in sorted((root / "tests").rglob("test_*.py")):
        try:
            tree = ast.parse(path.read_text(), filename=str(path))
        except SyntaxError as exc:
            where = f"{path.relative_to(root)}, line {exc.lineno}"
            raise ValueError(f"cannot scan {where}: {exc.msg}") from None
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith(
                "test"
            ):
                for rule_id in rule_ids_in_test_name(node.name):
                    proofs[rule_id].append(Proof("test", f"{path.relative_to(root)}::{node.name}"))
    return proofs


def scan_scenarios(root: Path) -> dict[str, list[Proof]]:
    proofs: dict[str, list[Proof]] = defaultdict(list)
    for path in sorted((root / "scenarios").rglob("*.y*ml")):
        try:
            document = yaml.safe_load(path.read_text())
        except yaml.YAMLError:
            continue  # a malformed scenario proves nothing; `provlab scenario run` reports it
        rules = document.get("rules", []) if isinstance(document, dict) else []
        for rule_id in rules if isinstance(rules, list) else []:
            proofs[str(rule_id).upper()].append(Proof("scenario", str(path.relative_to(root))))
    return proofs


def proofs_by_rule(root: Path) -> dict[str, list[Proof]]:
    merged: dict[str, list[Proof]] = defaultdict(list)
    for found in (scan_tests(root), scan_scenarios(root)):
        for rule_id, proofs in found.items():
            merged[rule_id].extend(proofs)
    return merged


def unknown_rule_ids(proofs: dict[str, list[Proof]]) -> list[str]:
    return sorted(rule_id for rule_id in proofs if rule_id not in BY_ID)


def catalogue() -> tuple[Rule, ...]:
    return CATALOGUE
