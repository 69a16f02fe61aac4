"""The rule catalogue is read from docs/rules.md; a page that breaks the format is refused."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from provlab.rules_catalogue import RULES_PAGE, RulesPageError, catalogue, parse_rules

ROOT = Path(__file__).resolve().parents[2]

SOURCES = "\n## Sources\n\n| source | document |\n|---|---|\n| 000 | a |\n| 003 | b |\n"


def test_the_catalogue_is_the_projects_own_docs_rules_md() -> None:
    assert RULES_PAGE == ROOT / "docs" / "rules.md"


def test_the_catalogue_has_exactly_the_ids_of_docs_rules_md() -> None:
    on_the_page = re.findall(r"^- \*\*(R\d+)\*\*", RULES_PAGE.read_text(), flags=re.MULTILINE)
    assert [rule.id for rule in catalogue()] == on_the_page == [f"R{n}" for n in range(1, 37)]


def test_rules_keep_their_area_full_text_sources_and_scope() -> None:
    rules = {rule.id: rule for rule in catalogue()}
    assert rules["R5"].area == "Products and purchases"  # "(Customers Portal)" is for people
    assert rules["R5"].text.endswith("can never exceed the subscription's own seat count.")
    assert rules["R5"].summary == (
        "*Add seats*: more seats can be bought for an add-on the subscription already has."
    )
    assert rules["R28"].summary.endswith("assignments are removed until they fit.")  # not "e.g"
    assert rules["R13"].sources == ("003", "000")
    # Every rule is in scope now that GitLab.com (R25, R31) is built; the marker is still read.
    assert [rule.id for rule in rules.values() if rule.later] == []
    assert rules["R25"].text.startswith("GitLab.com: an owner of a top-level group")


def test_a_rule_may_continue_on_indented_lines_and_fenced_examples_are_not_rules() -> None:
    page = (
        "# Rules\n\n```\n- **R9** an example in a fence [000]\n```\n\n## Area (qualifier)\n\n"
        "- **R1** First sentence. Second\n    sentence. [000, 003]\n* **R2** *(later)* Two. [000]\n"
        + SOURCES
    )
    rules = parse_rules(page)
    assert [(r.id, r.area, r.text, r.sources, r.later, r.line) for r in rules] == [
        ("R1", "Area", "First sentence. Second sentence.", ("000", "003"), False, 9),
        ("R2", "Area", "Two.", ("000",), True, 11),
    ]


@pytest.mark.parametrize(
    ("page", "line", "message"),
    [
        ("## A\n\n- **R1** no sources\n", 3, "must end with its sources"),
        ("## A\n\n- **R1** one [000]\n- **R1** again [000]\n", 4, "already defined on line 3"),
        ("## A\n\n- **R1** cites [004]\n", 3, "004 missing from the sources table"),
        ("## A\n\n- **R1x** bad [000]\n", 3, "'R1x' is not a rule ID"),
        ("- **R1** homeless [000]\n", 1, "before any '## Area' heading"),
        ("## A\n\n- **R1** [000]\n", 3, "R1 has no text"),
        ("## A\n\nno rules here\n", 1, "no rules found"),
    ],
)
def test_a_page_that_breaks_the_format_is_refused_at_its_line(
    page: str, line: int, message: str
) -> None:
    with pytest.raises(RulesPageError) as caught:
        parse_rules(page + SOURCES, "rules.md")
    assert caught.value.line == line
    assert message in caught.value.message
    assert str(caught.value).startswith(f"rules.md:{line}: ")


def test_a_missing_page_is_named(tmp_path: Path) -> None:
    with pytest.raises(RulesPageError, match="cannot read the rule catalogue"):
        catalogue(tmp_path / "rules.md")


def _anchors(page: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces as hyphens."""
    headings = re.findall(r"^#+\s+(.+?)\s*$", page.read_text(), flags=re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", h.lower()).replace(" ", "-") for h in headings}


def test_relative_links_in_the_docs_point_at_files_and_headings_that_exist() -> None:
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    broken = []
    for page in pages:
        for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text()):
            if re.match(r"[a-z]+:", target):
                continue  # web links
            file, _, anchor = target.partition("#")
            linked = (page.parent / file) if file else page
            if not linked.exists() or (
                anchor and linked.suffix == ".md" and anchor not in _anchors(linked)
            ):
                broken.append(f"{page.relative_to(ROOT)} → {target}")
    assert broken == []
