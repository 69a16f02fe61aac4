"""pyproject.toml and scripts/test say what is true of the tree: package data exists, the lint and
type-check tools cannot float to a release the tree was never checked with, and the test script
type-checks the protocol."""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_every_package_data_pattern_names_files_that_exist() -> None:
    empty = [
        f"{package}: {pattern}"
        for package, patterns in PYPROJECT["tool"]["setuptools"]["package-data"].items()
        for pattern in patterns
        if not any(path.is_file() for path in (ROOT / package).glob(pattern))
    ]
    assert empty == []


def test_every_non_python_file_of_a_package_is_package_data() -> None:
    package_data = PYPROJECT["tool"]["setuptools"]["package-data"]
    tracked = subprocess.run(
        ["git", "ls-files", *package_data, "protocol", "provlab"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    covered = {
        path.relative_to(ROOT)
        for package, patterns in package_data.items()
        for pattern in patterns
        for path in (ROOT / package).glob(pattern)
    }
    left_out = [p for p in tracked if not p.endswith(".py") and Path(p) not in covered]
    assert left_out == []


def test_the_lint_and_type_check_tools_have_upper_bounds() -> None:
    test_extra = PYPROJECT["project"]["optional-dependencies"]["test"]
    tools = {re.split(r"[^\w-]", spec, maxsplit=1)[0]: spec for spec in test_extra}
    assert re.search(r"<\d", tools["ruff"]), tools["ruff"]
    assert re.search(r"<\d", tools["mypy"]), tools["mypy"]


def test_scripts_test_checks_the_protocol_and_webcore_strictly_with_mypy() -> None:
    mypy = PYPROJECT["tool"]["mypy"]
    assert mypy["strict"] is True and mypy["warn_unused_ignores"] is True
    # Strict applies to every file not relaxed by an override; protocol and webcore are never.
    assert {"protocol", "webcore", "portal", "instance", "provlab"} <= set(mypy["files"])
    relaxed = [m for o in mypy.get("overrides", []) for m in o["module"]]
    assert not [
        m for m in relaxed if m.split(".")[0] in ("protocol", "webcore") and m != "webcore.auth"
    ]
    assert re.search(r"^\.venv/bin/mypy$", (ROOT / "scripts" / "test").read_text(), re.M)


def test_scripts_test_checks_the_format_of_every_file() -> None:
    script = (ROOT / "scripts" / "test").read_text()
    assert re.search(r"^\.venv/bin/ruff format --check --quiet \.$", script, re.M)
