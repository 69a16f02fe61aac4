"""`provlab doctor seat`, `activation` and `menu` on the command line, against two real servers:
exit status (0 healthy, 1 a cause found, 2 usage error), --json, and usage errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from provlab.cli import main
from provlab.scenario.world import World
from tests.provlab.doctor_pair import admin_token, export_bundle, running_world
from webcore.transaction import unit_of_work

CASE = """
name: doctor cases cli
rules: [R30]
start: 2026-03-02T09:00:00Z
setup:
  portal:
    subscriptions:
      - {name: A-S00000951, plan: ultimate, seats: 10, contact_email: owner@customer.test,
         add_ons: [{tier: duo_pro, quantity: 2}]}
      - {name: A-S00000952, plan: premium, seats: 10, contact_email: owner@customer.test}
  instance:
    users: [alice, {username: gina, role: guest}]
    activate: A-S00000951
steps:
  - assign_seats: {users: [alice]}
"""


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    yield from running_world(tmp_path, CASE)


def doctor(world: Any, *args: str) -> Any:
    return CliRunner().invoke(
        main, ["doctor", *args[:1], "--var", str(world.folder), *args[1:]], catch_exceptions=False
    )


def live(world: Any, token: str) -> list[str]:
    """The options that read the running instance's diagnostics with ``token``."""
    return ["--instance", world.instance_url, "--token", token]


# -- seat -----------------------------------------------------------------------------------------


def test_seat_of_a_user_who_can_use_duo_exits_0_from_the_live_instance(world: Any) -> None:
    result = doctor(world, "seat", "--user", "alice", *live(world, admin_token(world)))
    assert result.exit_code == 0, result.output
    assert result.output.startswith("VERDICT: alice holds a GitLab Duo Pro seat")


def test_r30_seat_of_a_guest_on_ultimate_exits_1_and_json_carries_every_finding(
    world: Any,
) -> None:
    bundle = export_bundle(world, "--user", "gina")
    part = json.loads(bundle.read_text())["user"]
    assert part["highest_role"] == "Guest" and part["billable"] is False
    assert "email" not in part  # the bundle holds what the seat rules need, nothing personal
    result = doctor(world, "seat", "--user", "gina", "--bundle", str(bundle), "--json")
    assert result.exit_code == 1, result.output
    verdict = json.loads(result.output)
    assert (verdict["cause"], verdict["rule"], verdict["healthy"]) == (
        "guest_on_ultimate",
        "R30",
        False,
    )
    assert [f["cause"] for f in verdict["findings"]] == ["guest_on_ultimate"]
    assert all(f["rule"] and f["next_action"] and f["facts"] for f in verdict["findings"])
    assert any(line.startswith("instance: user gina") for line in verdict["evidence"])


def test_seat_usage_errors_exit_2(world: Any) -> None:
    assert doctor(world, "seat").exit_code == 2  # no --user
    no_instance = doctor(world, "seat", "--user", "alice")
    assert no_instance.exit_code == 2 and "the seat doctor reads the instance" in no_instance.output
    without_user = doctor(world, "seat", "--user", "alice", "--bundle", str(export_bundle(world)))
    assert without_user.exit_code == 2
    assert "provlab instance diagnostics --user alice" in without_user.output
    other_user = doctor(
        world, "seat", "--user", "alice", "--bundle", str(export_bundle(world, "--user", "gina"))
    )
    assert other_user.exit_code == 2 and "describes user gina, not alice" in other_user.output
    no_token = doctor(world, "seat", "--user", "alice", "--instance", world.instance_url)
    assert no_token.exit_code == 2
    both = doctor(
        world, "seat", "--user", "alice", *live(world, "x"), "--bundle", str(export_bundle(world))
    )
    assert both.exit_code == 2 and "not both" in both.output


# -- activation -----------------------------------------------------------------------------------


def test_activation_with_a_malformed_code_exits_1(world: Any) -> None:
    result = doctor(world, "activation", "--code", "ABCD-1234", "--json")
    assert result.exit_code == 1, result.output
    verdict = json.loads(result.output)
    assert (verdict["cause"], verdict["rule"]) == ("malformed_code", "R8")
    assert "24-character alphanumeric string" in verdict["headline"]


def activation_code(world: Any, name: str) -> str:
    from portal.licensing import ensure_activation_code
    from portal.subscriptions import find_subscription

    with unit_of_work(world.portal):
        subscription = find_subscription(name)
        assert subscription is not None
        return ensure_activation_code(subscription)


def test_activation_never_prints_the_code_and_finds_the_instance_activated(world: Any) -> None:
    code = activation_code(world, "A-S00000951")
    result = doctor(world, "activation", "--code", code, "--bundle", str(export_bundle(world)))
    assert result.exit_code == 0, result.output
    assert result.output.startswith("VERDICT: The instance is activated with A-S00000951")
    assert code not in result.output and f"…{code[-4:]}" in result.output


def test_activation_the_portal_accepts_exits_0_and_a_bound_code_exits_1(world: Any) -> None:
    unready = doctor(world, "activation", "--subscription", "A-S00000952")
    assert unready.exit_code == 1 and "A-S00000952 has no activation code yet" in unready.output
    activation_code(world, "A-S00000952")
    accepted = doctor(world, "activation", "--subscription", "A-S00000952")
    assert accepted.exit_code == 0, accepted.output
    assert "instance's connection and clock not checked" in accepted.output
    # A-S00000951 is bound to the scenario's instance: without its diagnostics the doctor cannot
    # tell whether the failing instance is that one, and says so.
    bound = doctor(world, "activation", "--subscription", "A-S00000951", "--json")
    assert bound.exit_code == 1
    assert json.loads(bound.output)["cause"] == "code_in_use"


def test_activation_usage_errors_exit_2(world: Any) -> None:
    assert doctor(world, "activation").exit_code == 2
    both = doctor(world, "activation", "--code", "x" * 24, "--subscription", "A-S00000951")
    assert both.exit_code == 2 and "one of them" in both.output
    nowhere = doctor(
        world, "activation", "--subscription", "A-S00000951", "--var", str(world.folder / "nowhere")
    )
    assert nowhere.exit_code == 2 and "no portal database" in nowhere.output


# -- menu -----------------------------------------------------------------------------------------


def test_menu_shown_exits_0_and_a_subscription_without_duo_exits_1(world: Any) -> None:
    shown = doctor(world, "menu", "--bundle", str(export_bundle(world)))
    assert shown.exit_code == 0, shown.output
    assert shown.output.startswith("VERDICT: The instance knows GitLab Duo Pro")
    missing = doctor(world, "menu", "--subscription", "A-S00000952", "--json")
    assert missing.exit_code == 1
    verdict = json.loads(missing.output)
    # No purchase, and nothing activated A-S00000952 either.
    assert [f["cause"] for f in verdict["findings"]] == ["no_duo_purchase", "not_activated"]
    assert verdict["rule"] == "R15"


def test_menu_usage_errors_exit_2(world: Any, tmp_path: Path) -> None:
    assert doctor(world, "menu").exit_code == 2  # neither --subscription nor an instance
    damaged = tmp_path / "bundle.json"
    damaged.write_text("[1, 2]")
    result = doctor(world, "menu", "--bundle", str(damaged))
    assert result.exit_code == 2 and "cannot read the instance's diagnostics" in result.output
