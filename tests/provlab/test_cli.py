"""The ``provlab`` command: help everywhere, the rule catalogue and its check, durations."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import textwrap
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from provlab.cli import main
from provlab.durations import parse_duration
from provlab.rules import rule_ids_in_test_name


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def _command_paths(group: click.Group, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None
        yield (*prefix, name)
        if isinstance(command, click.Group):
            yield from _command_paths(command, (*prefix, name))


def test_provlab_help_lists_the_fixed_commands(runner: CliRunner) -> None:
    result = runner.invoke(main, ["--help"])
    assert result.exit_code == 0
    for command in ("up", "clock", "rules", "scenario", "doctor"):
        assert f"  {command} " in result.output
    assert runner.invoke(main, ["-h"]).output == result.output


def test_every_command_and_subcommand_answers_help(runner: CliRunner) -> None:
    paths = list(_command_paths(main))
    assert ("clock", "advance") in paths and ("up",) in paths
    for path in paths:
        result = runner.invoke(main, [*path, "--help"], prog_name="provlab")
        assert result.exit_code == 0, (path, result.output)
        assert result.output.startswith("Usage: provlab " + " ".join(path)), path
        assert "--help" in result.output


def _fake_project(root: Path, tests: str = "", scenario_rules: list[str] | None = None) -> Path:
    (root / "tests" / "portal").mkdir(parents=True)
    (root / "tests" / "portal" / "test_fake.py").write_text(textwrap.dedent(tests))
    (root / "scenarios").mkdir()
    if scenario_rules is not None:
        (root / "scenarios" / "case.yaml").write_text(
            "name: a case\nrules: [" + ", ".join(scenario_rules) + "]\n"
        )
    (root / "scenarios" / "broken.yaml").write_text("rules: [R9\n  : nope")
    return root


def test_rules_lists_r1_to_r36_with_what_proves_each(runner: CliRunner, tmp_path: Path) -> None:
    root = _fake_project(
        tmp_path,
        "def test_r5_add_seats_to_an_existing_add_on():\n    pass\n",
        scenario_rules=["R7"],
    )
    result = runner.invoke(main, ["rules", "--root", str(root)])
    assert result.exit_code == 0, result.output
    listed = [line.split()[0] for line in result.output.splitlines() if line[:1] == "R"]
    assert listed == [f"R{n}" for n in range(1, 37)]
    assert "tests/portal/test_fake.py::test_r5_add_seats_to_an_existing_add_on" in result.output
    assert "scenarios/case.yaml" in result.output
    assert "2 of 36 rules proven" in result.output
    # Every rule is in scope, GitLab.com's too: R25 is listed as unproven, not as "later".
    assert re.search(r"^R25  NOT PROVEN ", result.output, re.M)


def test_rules_json_names_the_proofs(runner: CliRunner, tmp_path: Path) -> None:
    root = _fake_project(tmp_path, "def test_r2_r30_guests_are_not_billable():\n    pass\n")
    result = runner.invoke(main, ["rules", "--root", str(root), "--json"])
    assert result.exit_code == 0
    rules = {rule["id"]: rule for rule in json.loads(result.output)}
    assert len(rules) == 36
    assert rules["R2"]["proven_by"] == [
        "tests/portal/test_fake.py::test_r2_r30_guests_are_not_billable"
    ]
    assert rules["R30"]["proven_by"] == rules["R2"]["proven_by"]
    assert rules["R3"]["proven_by"] == []


def test_rules_check_exits_0_for_a_proven_rule_and_1_for_an_unproven_one(
    runner: CliRunner, tmp_path: Path
) -> None:
    root = _fake_project(
        tmp_path,
        """
        def test_r22_embargoed_trial_request_fails_silently():
            pass

        def helper_r6_is_not_a_test():
            pass
        """,
        scenario_rules=["r13"],
    )
    assert runner.invoke(main, ["rules", "--root", str(root), "--check", "R22"]).exit_code == 0
    assert (
        runner.invoke(
            main, ["rules", "--root", str(root), "--check", "r22", "--check", "R13"]
        ).exit_code
        == 0
    )

    unproven = runner.invoke(
        main, ["rules", "--root", str(root), "--check", "R22", "--check", "R6"]
    )
    assert unproven.exit_code == 1
    assert "not proven: R6" in unproven.output

    everything = runner.invoke(main, ["rules", "--root", str(root), "--check"])
    assert everything.exit_code == 1
    assert "R25" in everything.output.split("not proven:")[1]  # no rule is left for later


def test_rules_check_refuses_unknown_rule_ids(runner: CliRunner, tmp_path: Path) -> None:
    root = _fake_project(tmp_path)
    result = runner.invoke(main, ["rules", "--root", str(root), "--check", "R99"])
    assert result.exit_code == 2
    assert "unknown rule ID(s): R99" in result.output
    assert runner.invoke(main, ["rules", "--root", str(root), "--check", "banana"]).exit_code == 2


def test_rules_with_an_id_shows_just_that_rule_in_full_with_its_proofs(
    runner: CliRunner, tmp_path: Path
) -> None:
    root = _fake_project(
        tmp_path,
        "def test_r10_duo_needs_a_cloud_license():\n    pass\n",
        scenario_rules=["R10"],
    )
    (root / "instance").mkdir()
    (root / "instance" / "licenses.py").write_text(
        'def is_online_cloud():\n    """R10: Duo needs an online cloud license."""\n'
        'def is_legacy():\n    """R1: not this one, nor R100."""\n'
    )
    result = runner.invoke(main, ["rules", "--root", str(root), "r10"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("R10 · Licenses and activation · proven\n")
    assert "the fix is to generate an activation code and activate with it." in result.output
    assert "sources: 003" in result.output
    assert "tests/portal/test_fake.py::test_r10_duo_needs_a_cloud_license" in result.output
    assert "scenario scenarios/case.yaml" in result.output
    assert "instance/licenses.py::is_online_cloud" in result.output
    assert "is_legacy" not in result.output
    assert not any(line.startswith(("R1 ", "R11", "R9 ")) for line in result.output.splitlines())


def test_rules_with_an_unknown_id_is_a_usage_error(runner: CliRunner, tmp_path: Path) -> None:
    root = _fake_project(tmp_path)
    result = runner.invoke(main, ["rules", "--root", str(root), "R10", "R37"])
    assert result.exit_code == 2
    assert "unknown rule ID(s): R37" in result.output
    assert "R10 ·" not in result.output


def test_rules_json_with_an_id_gives_that_rule_with_its_text_and_sources(
    runner: CliRunner, tmp_path: Path
) -> None:
    root = _fake_project(tmp_path)
    result = runner.invoke(main, ["rules", "--root", str(root), "--json", "R25"])
    assert result.exit_code == 0, result.output
    (rule,) = json.loads(result.output)
    assert (rule["id"], rule["later"], rule["sources"]) == ("R25", False, ["000"])
    assert rule["text"].endswith("the trial applies at once to that group.")


def test_rules_refuses_tests_that_name_a_rule_that_does_not_exist(
    runner: CliRunner, tmp_path: Path
) -> None:
    root = _fake_project(tmp_path, "def test_r37_made_up():\n    pass\n")
    result = runner.invoke(main, ["rules", "--root", str(root)])
    assert result.exit_code == 1
    assert "do not exist: R37" in result.output


@pytest.mark.parametrize(
    ("name", "ids"),
    [
        ("test_r22_embargoed_trial_request_fails_silently", ["R22"]),
        ("test_r2_r30_guests_are_not_eligible", ["R2", "R30"]),
        ("test_r4", ["R4"]),
        ("test_error_rate_limits", []),
        ("test_r100_is_not_a_rule_id", []),
        ("test_sr5_prefix_does_not_count", []),
        ("test_r5x_suffix_does_not_count", []),
    ],
)
def test_rule_ids_are_read_from_test_names(name: str, ids: list[str]) -> None:
    assert rule_ids_in_test_name(name) == ids


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2d", dt.timedelta(days=2)),
        ("48h", dt.timedelta(hours=48)),
        ("1d12h", dt.timedelta(days=1, hours=12)),
        ("90m", dt.timedelta(minutes=90)),
        ("1w", dt.timedelta(weeks=1)),
        ("30s", dt.timedelta(seconds=30)),
        (" 1D 2H ", dt.timedelta(days=1, hours=2)),
        ("1h30m15s", dt.timedelta(hours=1, minutes=30, seconds=15)),
    ],
)
def test_durations_parse_as_people_type_them(text: str, expected: dt.timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "2", "d", "2 days", "1.5h", "-1d", "2y", "1d-2h", "h2"])
def test_bad_durations_are_refused_with_a_hint(text: str) -> None:
    with pytest.raises(ValueError, match="e.g. 2d or 1d12h"):
        parse_duration(text)


def test_clock_advance_refuses_a_bad_duration_before_looking_for_servers(
    runner: CliRunner, tmp_path: Path
) -> None:
    result = runner.invoke(main, ["clock", "--var", str(tmp_path), "advance", "soon"])
    assert result.exit_code == 2
    assert "not a duration" in result.output


def test_clock_without_a_running_pair_says_how_to_start_one(
    runner: CliRunner, tmp_path: Path
) -> None:
    result = runner.invoke(main, ["clock", "--var", str(tmp_path), "show"])
    assert result.exit_code == 1
    assert "provlab up" in result.output


def test_clock_set_refuses_a_time_that_is_not_utc(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(main, ["clock", "--var", str(tmp_path), "set", "2026-03-01 04:00"])
    assert result.exit_code == 2
    assert "expected a UTC time" in result.output


def test_clock_var_may_follow_the_subcommand(runner: CliRunner, tmp_path: Path) -> None:
    before = runner.invoke(main, ["clock", "--var", str(tmp_path / "a"), "show"])
    after = runner.invoke(main, ["clock", "show", "--var", str(tmp_path / "a")])
    assert before.exit_code == after.exit_code == 1
    assert str(tmp_path / "a" / "provlab-up.json") in after.output
    assert before.output == after.output


def test_rules_names_a_test_file_it_cannot_parse(runner: CliRunner, tmp_path: Path) -> None:
    root = _fake_project(tmp_path, "def test_r5_broken(:\n    pass\n")
    result = runner.invoke(main, ["rules", "--root", str(root)])
    assert result.exit_code == 1
    assert "cannot scan tests/portal/test_fake.py, line 1" in result.output


@pytest.mark.parametrize("subcommand", [["list"], ["set", "payment_declined"], ["clear"]])
def test_fault_var_may_follow_the_subcommand(
    runner: CliRunner, tmp_path: Path, subcommand: list[str]
) -> None:
    var = str(tmp_path / "a")
    before = runner.invoke(main, ["fault", "--var", var, *subcommand])
    after = runner.invoke(main, ["fault", *subcommand, "--var", var])
    assert before.exit_code == after.exit_code == 1
    assert str(tmp_path / "a" / "provlab-up.json") in after.output
    assert before.output == after.output


def test_up_refuses_one_port_for_both_apps_before_touching_anything(
    runner: CliRunner, tmp_path: Path
) -> None:
    var = tmp_path / "var"
    var.mkdir()
    (var / "keep").write_text("x")
    result = runner.invoke(
        main,
        ["up", "--portal-port", "5077", "--instance-port", "5077", "--var", str(var), "--reset"],
    )
    assert result.exit_code == 2
    assert "both 5077" in result.output and "a port each" in result.output
    assert (var / "keep").exists()


def test_scenario_run_reports_each_scenario_as_it_finishes_with_its_time(
    runner: CliRunner, tmp_path: Path
) -> None:
    """Over a folder: one line per scenario with the run's progress, its outcome and its time;
    a malformed one fails with its file and line, and the run exits non-zero."""
    root = Path(__file__).resolve().parents[2]
    folder = tmp_path / "cases"
    folder.mkdir()
    for name in ("buy_duo_pro.yaml", "trial_extension.yaml"):
        (folder / name).write_text((root / "scenarios" / "purchases" / name).read_text())
    (folder / "zz_broken.yaml").write_text("name: broken\nrules: [R1]\nsteps: 3\n")
    result = runner.invoke(main, ["scenario", "run", str(folder)])
    lines = [line for line in result.output.splitlines() if line.startswith("[")]
    assert [line.split("]")[0] + "]" for line in lines] == ["[1/3]", "[2/3]", "[3/3]"]
    assert lines[0].startswith("[1/3] PASS") and lines[1].startswith("[2/3] PASS")
    assert lines[2].startswith("[3/3] FAIL") and "zz_broken.yaml" in lines[2]
    assert all(re.search(r"\] \d+\.\d s  ", line) for line in lines)
    assert "2 passed, 1 failed" in result.output and result.exit_code == 1


def test_a_quiet_command_gives_the_process_its_logging_back(runner: CliRunner) -> None:
    """`scenario run` and `bench` hide log records while they run; a process that runs several
    commands (a CliRunner, the test suite) logs again afterwards, even after a failure."""
    root = Path(__file__).resolve().parents[2]
    before = logging.root.manager.disable
    result = runner.invoke(
        main, ["scenario", "run", str(root / "scenarios/trials/plan_trial.yaml")]
    )
    assert result.exit_code == 0, result.output
    assert logging.root.manager.disable == before
    assert runner.invoke(main, ["scenario", "run", "/nonexistent.yaml"]).exit_code != 0
    assert logging.root.manager.disable == before


def test_up_refuses_a_fleet_whose_ports_run_into_the_portals(
    runner: CliRunner, tmp_path: Path
) -> None:
    var = tmp_path / "var"
    result = runner.invoke(
        main,
        ["up", "--portal-port", "5079", "--instance-port", "5077", "--instances", "3"]
        + ["--var", str(var)],
    )
    assert result.exit_code == 2
    assert "--portal-port 5079 is the port of instance 3 of 3" in result.output
    assert not var.exists()
