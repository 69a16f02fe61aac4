"""The rule catalogue, read from the project's ``docs/rules.md`` (R1..R36): the page is the source.

The page is for people; this module reads the part of it that is a catalogue. A rule is a list
item that starts with its bold ID, may carry the ``*(later)*`` scope marker right after it, and
ends with its sources in brackets::

    ## Trials

    - **R25** *(later)* GitLab.com: an owner of a top-level group ... can start a Duo Pro
      trial from *Settings → Billing*; the trial applies at once to that group. [000]

The ``##`` heading above a rule is its area. Rules marked ``later`` are out of scope for now
(GitLab.com), so ``provlab rules --check`` without IDs does not require them. A page that breaks
the format is refused as ``FILE:LINE: message`` rather than read half-way: a rule that silently
dropped out of the catalogue would stop being checked.

The page lives in the repository, beside the packages, not inside one: the project runs from its
source tree (``pip install -e .``, as ``scripts/bootstrap`` installs it), so it is found relative
to this package.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

from provlab.malformed import MalformedFile

RULES_PAGE = Path(__file__).resolve().parent.parent / "docs" / "rules.md"

_HEADING = re.compile(r"^(#{1,6})\s+(?P<title>.+?)\s*#*\s*$")
# A list item whose first word is bold and looks like a rule ID: the candidates the format is
# checked on (so "- **R7**" with no sources is an error, not a line skipped).
_RULE_ITEM = re.compile(r"^[-*+]\s+\*\*(?P<id>[Rr]\d\w*)\*\*(?P<rest>.*)$")
_RULE_ID = re.compile(r"^R[1-9]\d*$")
_LATER = re.compile(r"^\*\(later\)\*\s*")
_SOURCES = re.compile(r"\s*\[(?P<sources>\d{3}(?:\s*,\s*\d{3})*)\]\s*$")
_SOURCE_ROW = re.compile(r"^\|\s*(?P<source>\d{3})\s*\|")
_AREA_QUALIFIER = re.compile(r"\s*\([^)]*\)$")
# The first sentence: up to a full stop followed by a capital (so "e.g. renewed" stays whole).
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z*\"'(])")


class RulesPageError(MalformedFile, ValueError):
    """docs/rules.md breaks the catalogue's format: names the file and line."""


@dataclass(frozen=True)
class Rule:
    id: str
    area: str
    text: str
    sources: tuple[str, ...]
    later: bool = False
    line: int = 0  # where the rule starts in docs/rules.md

    @property
    def summary(self) -> str:
        """The rule's first sentence."""
        return _SENTENCE_END.split(self.text, maxsplit=1)[0]


def parse_rules(text: str, path: Path | str = "docs/rules.md") -> tuple[Rule, ...]:
    """Every rule on the page, in page order; a broken rule item raises RulesPageError."""
    rules: list[Rule] = []
    area: str | None = None
    item: list[str] = []  # the lines of the rule item being read
    item_line = 0
    declared_sources: set[str] = set()

    def finish() -> None:
        if item:
            rules.append(_rule(path, item_line, area, " ".join(item)))
            item.clear()

    in_fence = False
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip()
        if line.lstrip().startswith(("```", "~~~")):
            finish()
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        heading = _HEADING.match(line)
        rule_item = _RULE_ITEM.match(line)
        if heading:
            finish()
            if len(heading.group(1)) == 2:
                area = _AREA_QUALIFIER.sub("", heading.group("title"))
        elif rule_item:
            finish()
            item_line = number
            item.append(line)
        elif item and line[:1].isspace() and line.strip():
            item.append(line.strip())  # continuation of the rule's text
        else:
            finish()
            source_row = _SOURCE_ROW.match(line)
            if source_row:
                declared_sources.add(source_row.group("source"))
    finish()
    if not rules:
        raise RulesPageError(path, 1, "no rules found: expected list items such as '- **R1** ...'")
    seen: dict[str, Rule] = {}
    for rule in rules:
        if rule.id in seen:
            raise RulesPageError(
                path, rule.line, f"{rule.id} is already defined on line {seen[rule.id].line}"
            )
        seen[rule.id] = rule
        undeclared = [s for s in rule.sources if s not in declared_sources]
        if undeclared:
            raise RulesPageError(
                path,
                rule.line,
                f"{rule.id} cites source(s) {', '.join(undeclared)} missing from the sources table",
            )
    return tuple(rules)


def _rule(path: Path | str, line: int, area: str | None, item: str) -> Rule:
    match = _RULE_ITEM.match(item)
    assert match is not None  # the item was started by a line that matched
    rule_id = match.group("id")
    if not _RULE_ID.match(rule_id):
        raise RulesPageError(path, line, f"{rule_id!r} is not a rule ID such as R7")
    if area is None:
        raise RulesPageError(path, line, f"{rule_id} comes before any '## Area' heading")
    rest = match.group("rest").strip()
    later = bool(_LATER.match(rest))
    rest = _LATER.sub("", rest)
    sources = _SOURCES.search(rest)
    if sources is None:
        raise RulesPageError(
            path, line, f"{rule_id} must end with its sources in brackets, such as [000, 001]"
        )
    text = rest[: sources.start()].strip()
    if not text:
        raise RulesPageError(path, line, f"{rule_id} has no text")
    return Rule(
        id=rule_id,
        area=area,
        text=text,
        sources=tuple(s.strip() for s in sources.group("sources").split(",")),
        later=later,
        line=line,
    )


@functools.cache
def catalogue(path: Path = RULES_PAGE) -> tuple[Rule, ...]:
    """The rules of docs/rules.md, read once per process."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RulesPageError(path, 0, f"cannot read the rule catalogue: {exc.strerror}") from None
    return parse_rules(text, path)


def rule_ids() -> frozenset[str]:
    return frozenset(rule.id for rule in catalogue())


def rule_by_id(rule_id: str) -> Rule | None:
    wanted = rule_id.upper()
    return next((rule for rule in catalogue() if rule.id == wanted), None)
