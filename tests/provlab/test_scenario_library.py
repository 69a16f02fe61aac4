"""The scenario library runs in the test suite, over both transports, and proves what it names.

Each file in scenarios/ is a case a QA or support engineer wrote; running them here is what
makes `provlab rules` honest about the rules they name.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from provlab.scenario.loader import load_scenario
from provlab.scenario.runner import run_file

ROOT = Path(__file__).resolve().parents[2]
LIBRARY = sorted((ROOT / "scenarios").rglob("*.yaml"))


# The billing scenarios travel one to three simulated years, minutes of a run: run first.
CASES = [
    pytest.param(
        path,
        id=str(path.relative_to(ROOT / "scenarios")),
        marks=[pytest.mark.long] if path.parent.name == "billing" else [],
    )
    for path in LIBRARY
]


@pytest.mark.parametrize("transport", ["inprocess", "http"])
@pytest.mark.parametrize("path", CASES)
def test_scenario_passes(path: Path, transport: str) -> None:
    result = run_file(path, transport)
    assert result.passed, result.report()


def test_every_scenario_names_the_rules_it_proves() -> None:
    assert LIBRARY, "the scenario library is empty"
    for path in LIBRARY:
        assert load_scenario(path).rules, f"{path} names no rule"


def test_a_failing_expectation_is_reported_with_the_timeline(tmp_path: Path) -> None:
    source = (ROOT / "scenarios" / "trials" / "embargoed_country.yaml").read_text()
    broken = tmp_path / "broken.yaml"
    broken.write_text(source.replace("reason: embargoed_country}", "reason: email_not_contact}"))
    result = run_file(broken, "inprocess")
    assert not result.passed and result.kind == "failed"
    assert "lead reason is 'embargoed_country', expected 'email_not_contact'" in (
        result.failure or ""
    )
    report = result.report()
    assert "timeline:" in report
    assert "process_leads" in report  # the portal's job that dropped the lead is on it
    assert "POST /api/v1/seat_links" in report  # and the instance's syncs around it


def test_the_same_file_gives_the_same_timeline_every_time(tmp_path: Path) -> None:
    source = (ROOT / "scenarios" / "trials" / "not_yet_synced.yaml").read_text()
    broken = tmp_path / "end.yaml"
    broken.write_text(source + "  - expect: {time: 2000-01-01T00:00:00Z}\n")
    first, second = run_file(broken, "inprocess"), run_file(broken, "inprocess")
    assert [e.render() for e in first.timeline] == [e.render() for e in second.timeline]
    assert first.timeline, "the failure carries its timeline"


def test_an_unknown_action_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "typo.yaml"
    path.write_text("name: typo\nrules: [R13]\nsteps:\n  - advance: 1h\n  - advanse: 1h\n")
    result = run_file(path, "inprocess")
    assert result.kind == "error"
    assert f"{path}:5: advanse: unknown action" in (result.failure or "")
