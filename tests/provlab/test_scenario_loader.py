"""Scenario files: a malformed one gets a precise error naming file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from provlab.scenario.loader import ScenarioError, load_scenario


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "case.yaml"
    path.write_text(text)
    return path


def error_of(path: Path) -> ScenarioError:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    return caught.value


def test_a_well_formed_scenario_loads_with_step_lines(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "name: Two days pass\nrules: [r13]\nseed: 3\nsteps:\n  - advance: 1d\n\n  - advance: 1d\n",
    )
    scenario = load_scenario(path)
    assert scenario.rules == ("R13",)
    assert scenario.seed == 3
    assert [(s.kind, s.args, s.line) for s in scenario.steps] == [
        ("advance", "1d", 5),
        ("advance", "1d", 7),
    ]


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    error = error_of(write(tmp_path, "name: x\nsteps:\n  - advance: [1d\n  - expect: {}\n"))
    assert error.path.endswith("case.yaml")
    assert error.line == 4
    assert "not valid YAML" in str(error)


def test_unknown_top_level_key_is_refused(tmp_path: Path) -> None:
    error = error_of(write(tmp_path, "name: x\nstep:\n  - advance: 1d\n"))
    assert "unknown key(s) step" in error.message
    assert str(error).startswith(f"{tmp_path / 'case.yaml'}:1:")


def test_a_step_with_two_actions_is_refused_at_its_line(tmp_path: Path) -> None:
    error = error_of(
        write(tmp_path, "name: x\nsteps:\n  - advance: 1d\n  - advance: 1d\n    expect: {}\n")
    )
    assert error.line == 4
    assert "exactly one action" in error.message


def test_duplicate_keys_are_refused(tmp_path: Path) -> None:
    error = error_of(write(tmp_path, "name: x\nname: y\nsteps:\n  - advance: 1d\n"))
    assert error.line == 2 and "duplicate key 'name'" in error.message


def test_missing_steps_and_bad_start_are_refused(tmp_path: Path) -> None:
    assert "'steps' must be a non-empty list" in error_of(write(tmp_path, "name: x\n")).message
    bad_start = write(tmp_path, "name: x\nstart: yesterday\nsteps:\n  - advance: 1d\n")
    assert "'start' must be a UTC time" in error_of(bad_start).message


def test_rules_must_be_rule_ids(tmp_path: Path) -> None:
    error = error_of(write(tmp_path, "name: x\nrules: [embargo]\nsteps:\n  - advance: 1d\n"))
    assert "rule IDs" in error.message


def test_a_scenario_naming_an_unknown_rule_is_refused_at_its_rules_line(tmp_path: Path) -> None:
    error = error_of(write(tmp_path, "name: x\n\nrules: [R22, r37]\nsteps:\n  - advance: 1d\n"))
    assert error.line == 3
    assert "unknown rule ID(s) r37" in error.message
    assert str(error).startswith(f"{tmp_path / 'case.yaml'}:3: ")
