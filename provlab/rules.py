"""Which rules are proven, and by what: tests and scenarios that name rule IDs.

A test names a rule in its function name (``test_r22_embargoed_trial_fails_silently``,
``test_r2_r30_guests_are_not_eligible``); a scenario names rules in its ``rules:`` list. A rule is
proven when at least one of them names it. The scan reads source files; it imports nothing.
"""

from __future__ import annotations

import ast
import re
import textwrap
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import yaml

from provlab.rules_catalogue import Rule, rule_ids

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
    known = rule_ids()
    return sorted(rule_id for rule_id in proofs if rule_id not in known)


_PACKAGES = ("protocol", "webcore", "portal", "instance", "provlab")


def scan_docstrings(root: Path, rule_id: str) -> list[str]:
    """The functions and classes whose docstring names the rule: where the rule is enforced.

    Operations name the rules they enforce in their docstring (STYLE.md); this lists them as
    ``path::qualified.name`` so a reader goes from a rule to its code.
    """
    named = re.compile(rf"(?<![\w-]){re.escape(rule_id)}(?!\w)")
    found: list[str] = []
    for package in _PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            try:
                tree = ast.parse(path.read_text(), filename=str(path))
            except SyntaxError:
                continue  # the test scan and the linters report it; here it only hides a name
            found.extend(
                f"{path.relative_to(root)}::{name}"
                for name, docstring in _documented(tree)
                if named.search(docstring)
            )
    return found


def _documented(tree: ast.AST, prefix: str = "") -> list[tuple[str, str]]:
    """(qualified name, docstring) of every function and class, nested ones included."""
    found: list[tuple[str, str]] = []
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            name = f"{prefix}{node.name}"
            docstring = ast.get_docstring(node)
            if docstring:
                found.append((name, docstring))
            found.extend(_documented(node, f"{name}."))
    return found


def status(rule: Rule, found: list[Proof]) -> str:
    return "proven" if found else ("later" if rule.later else "NOT PROVEN")


def as_json(rule: Rule, proofs: dict[str, list[Proof]]) -> dict[str, object]:
    return {
        "id": rule.id,
        "area": rule.area,
        "summary": rule.summary,
        "text": rule.text,
        "sources": list(rule.sources),
        "later": rule.later,
        "proven_by": [p.where for p in proofs.get(rule.id, [])],
    }


def describe(rule: Rule, proofs: dict[str, list[Proof]], named_in: list[str]) -> str:
    """One rule in full: its text, sources, and what proves and enforces it."""
    found = proofs.get(rule.id, [])
    lines = [f"{rule.id} · {rule.area} · {status(rule, found)}"]
    lines += textwrap.wrap(rule.text, width=96, initial_indent="  ", subsequent_indent="  ")
    lines.append(f"  sources: {', '.join(rule.sources)} (docs/rules.md, line {rule.line})")
    lines.append("  proven by:" if found else "  proven by: nothing yet")
    lines += [f"    {proof.kind:<8} {proof.where}" for proof in found]
    if named_in:
        lines.append("  named in the docstrings of:")
        lines += [f"    {where}" for where in named_in]
    return "\n".join(lines) + "\n"
