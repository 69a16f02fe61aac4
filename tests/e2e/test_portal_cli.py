"""``provlab portal`` beside a running ``provlab up --simulated-time``: the pair's "now" is used.

The trial request recorded by the command is processed by the portal's daily lead job when
``provlab clock`` moves the pair past 05:00 (R21), and an embargoed one is dropped (R22).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_provlab_up import (
    PROVLAB,
    ROOT,
    Up,
    _start,
    _stop_with_ctrl_c,
    clean_environment,
)

START = "2026-05-04T00:00:00Z"


@pytest.fixture
def up(tmp_path: Path) -> Iterator[Up]:
    running = _start(tmp_path, "--simulated-time", START)
    yield running
    if running.process.poll() is None:
        _stop_with_ctrl_c(running)


def _provlab(var: Path, *args: str) -> Any:
    result = subprocess.run(
        [PROVLAB, *args, "--var", str(var), "--json"],
        cwd=ROOT,
        env=clean_environment(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout)


def test_r21_r22_portal_cli_works_at_the_pairs_simulated_time(up: Up) -> None:
    created = _provlab(
        up.var,
        *(
            "portal create-subscription --customer customer@example.com --plan ultimate --seats 10"
            " --contact-email lead@example.com"
        ).split(),
    )
    assert created["starts_on"] == "2026-05-04"  # the pair's day, not the wall clock's
    for country in ("DE", "CU"):
        _provlab(
            up.var,
            "portal",
            "trial-request",
            "--subscription",
            created["name"],
            "--email",
            "lead@example.com",
            "--first-name",
            "A",
            "--last-name",
            "B",
            "--company",
            "C",
            "--country",
            country,
        )
    _provlab(up.var, "clock", "advance", "6h")
    leads = {lead["country"]: lead for lead in _provlab(up.var, "portal", "leads")}
    assert leads["DE"]["status"] == "trial_created"
    assert leads["CU"]["status"] == "dropped" and leads["CU"]["reason"] == "embargoed_country"
    shown = _provlab(up.var, "portal", "show", created["name"])
    (trial,) = shown["add_ons"]
    assert (
        trial["trial"] and trial["starts_on"] == "2026-05-04" and trial["ends_on"] == "2026-07-03"
    )
