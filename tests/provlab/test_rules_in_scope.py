"""Every rule in scope is proven by at least one test or scenario of this project (CI runs this)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from provlab.cli import main
from provlab.rules import proofs_by_rule, unknown_rule_ids
from provlab.rules_catalogue import catalogue

ROOT = Path(__file__).resolve().parents[2]


def test_provlab_rules_check_all_passes_on_this_project() -> None:
    result = CliRunner().invoke(main, ["rules", "--check", "--root", str(ROOT)])
    assert result.exit_code == 0, result.output


def test_no_test_or_scenario_names_a_rule_that_does_not_exist() -> None:
    assert unknown_rule_ids(proofs_by_rule(ROOT)) == []


def test_no_rule_is_left_for_later() -> None:
    assert [rule.id for rule in catalogue() if rule.later] == []
