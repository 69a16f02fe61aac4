"""``provlab portal`` beside a running ``provlab up --simulated-time``: the pair's "now" is used.

The trial request recorded by the command is processed by the portal's daily lead job when
``provlab clock`` moves the pair past 05:00 (R21), and an embargoed one is dropped (R22).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.test_provlab_up import (
    Up,
    provlab_json,
    running_up,
)
from tests.portal.helpers import trial_request_args

START = "2026-05-04T00:00:00Z"


@pytest.fixture
def up(tmp_path: Path) -> Iterator[Up]:
    yield from running_up(tmp_path, "--simulated-time", START)


def test_r21_r22_portal_cli_works_at_the_pairs_simulated_time(up: Up) -> None:
    created = provlab_json(
        up.var,
        *(
            "portal create-subscription --customer customer@example.com --plan ultimate --seats 10"
            " --contact-email lead@example.com"
        ).split(),
    )
    assert created["starts_on"] == "2026-05-04"  # the pair's day, not the wall clock's
    for country in ("DE", "CU"):
        provlab_json(
            up.var, "portal", *trial_request_args(created["name"], "lead@example.com", country)
        )
    provlab_json(up.var, "clock", "advance", "6h")
    leads = {lead["country"]: lead for lead in provlab_json(up.var, "portal", "leads")}
    assert leads["DE"]["status"] == "trial_created"
    assert leads["CU"]["status"] == "dropped" and leads["CU"]["reason"] == "embargoed_country"
    shown = provlab_json(up.var, "portal", "show", created["name"])
    (trial,) = shown["add_ons"]
    assert (
        trial["trial"] and trial["starts_on"] == "2026-05-04" and trial["ends_on"] == "2026-07-03"
    )
