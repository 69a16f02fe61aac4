"""The scenario vocabulary's plumbing: steps reach the parties through their drivers, name only
what setup made, read pages with one CSRF helper, and never go through the command line."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from provlab.scenario.drivers import csrf_token, flash_messages
from provlab.scenario.runner import run_file
from provlab.scenario.users import expand_users, user_fields, usernames

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "provlab" / "scenario"


def test_the_csrf_helper_reads_the_meta_tag_or_the_form_field() -> None:
    assert csrf_token('<meta name="csrf-token" content="from-meta">') == "from-meta"
    assert csrf_token('<input type="hidden" name="csrf_token" value="from-form">') == "from-form"
    with pytest.raises(AssertionError, match="no CSRF token"):
        csrf_token("<p>no form here</p>")


def test_flash_messages_are_joined_for_a_report() -> None:
    page = '<div class="flash alert" role="alert"> Invalid code </div><div class="flash notice" role="alert">Try again</div>'
    assert flash_messages(page) == "Invalid code; Try again"
    assert flash_messages("<p></p>") == "no message shown"


def test_users_are_named_by_ranges_and_counts() -> None:
    assert usernames(["dev01..dev03", "alice"]) == ["dev01", "dev02", "dev03", "alice"]
    assert [u["username"] for u in expand_users([{"prefix": "a", "count": 3}, "bob"])] == [
        "a01",
        "a02",
        "a03",
        "bob",
    ]
    fields = user_fields({"username": "root2", "role": "owner", "admin": True})
    assert fields["highest_access_level"] == 50 and fields["admin"] is True
    with pytest.raises(ValueError, match="role must be one of"):
        user_fields({"username": "x", "role": "emperor"})
    with pytest.raises(ValueError, match="a user needs a username"):
        user_fields({"name": "No Username"})


@pytest.mark.parametrize(
    ("step", "named"),
    [
        ("- buy_duo_pro: {subscription: A-S99999999, seats: 5}", "no subscription A-S99999999"),
        (
            "- expect: {portal_add_on: {subscription: A-S99999999, none: true}}",
            "no subscription A-S99999999",
        ),
        ("- change_user: {user: ghost, state: blocked}", "no user 'ghost'"),
    ],
)
def test_a_step_naming_what_setup_never_made_is_malformed_with_its_line(
    tmp_path: Path, step: str, named: str
) -> None:
    path = tmp_path / "unknown.yaml"
    path.write_text(
        "name: unknown names\nrules: [R3]\nsetup:\n  portal:\n    subscriptions:\n"
        "      - {name: A-S00000001, plan: ultimate, seats: 10}\n"
        f"steps:\n  {step}\n"
    )
    result = run_file(path, "inprocess")
    assert result.kind == "error"
    assert f"{path}:8:" in (result.failure or "")
    assert named in (result.failure or "")


def test_the_bulk_task_step_reports_a_task_that_cannot_start(tmp_path: Path) -> None:
    path = tmp_path / "bulk.yaml"
    path.write_text(
        "name: no purchase\nrules: [R27]\nsetup:\n  instance: {users: [alice]}\nsteps:\n"
        "  - bulk_assign_file: {users: [alice], expect_output: ['Error: Unable to find Duo add-on purchase.']}\n"
        "  - expect: {assigned: []}\n"
    )
    result = run_file(path, "inprocess")
    assert result.passed, result.report()


def test_no_step_goes_through_the_command_line() -> None:
    for module in PACKAGE.rglob("*.py"):
        tree = ast.parse(module.read_text())
        imported = {
            node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
        } | {
            alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.Import)
            for alias in node.names
        }
        assert not any(name.startswith(("click", "provlab.cli")) for name in imported), module


def test_the_vocabulary_modules_import_at_the_top() -> None:
    """Function-local imports hid the modules' dependencies; none is needed (no cycle)."""
    for folder in ("steps", "expectations", "drivers"):
        for module in (PACKAGE / folder).glob("*.py"):
            for node in ast.walk(ast.parse(module.read_text())):
                if isinstance(node, ast.FunctionDef):
                    local = [
                        n for n in ast.walk(node) if isinstance(n, ast.Import | ast.ImportFrom)
                    ]
                    assert not local, f"{module.name}:{node.name} imports inside a function"


def test_setup_activating_with_a_subscription_it_never_made_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "setup.yaml"
    path.write_text(
        "name: no such subscription\nrules: [R8]\nsetup:\n  instance:\n    activate: A-S99999999\nsteps:\n  - advance: 1h\n"
    )
    result = run_file(path, "inprocess")
    assert result.kind == "error"
    assert f"{path}:5: no subscription A-S99999999 in setup.portal.subscriptions" in (
        result.failure or ""
    )
