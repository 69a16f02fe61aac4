"""`provlab doctor trial` and the diagnostics bundle, end to end against two real servers."""

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
name: doctor cli
rules: [R22]
start: 2026-03-02T09:00:00Z
setup:
  portal:
    subscriptions:
      - {name: A-S00000501, plan: ultimate, seats: 10, contact_email: owner@customer.test}
      - {name: A-S00000502, plan: ultimate, seats: 10, contact_email: owner@customer.test}
  instance:
    users: [alice]
    activate: A-S00000502
steps:
  - request_trial: {subscription: A-S00000501, email: owner@customer.test, country: KP}
  - request_trial: {subscription: A-S00000502, email: owner@customer.test}
  - travel_to: 2026-03-03T06:00:00Z
"""


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    yield from running_world(tmp_path, CASE)


def doctor(world: Any, *args: str) -> Any:
    return CliRunner().invoke(
        main, ["doctor", "trial", "--var", str(world.folder), *args], catch_exceptions=False
    )


def test_doctor_names_the_embargo_from_the_portal_alone(world: Any) -> None:
    result = doctor(world, "--subscription", "A-S00000501")
    assert result.exit_code == 1, result.output  # a cause was found
    assert result.output.startswith("VERDICT: The trial request came from an embargoed country")
    assert "[R22]" in result.output
    assert "dropped — reason embargoed_country" in result.output


def test_exported_bundle_lets_support_diagnose_without_the_instance(world: Any) -> None:
    bundle = export_bundle(world)
    text = bundle.read_text()
    assert (
        "glpat-" not in text and "BEGIN" not in text and "token" not in json.loads(text)["license"]
    )
    result = doctor(world, "--subscription", "A-S00000502", "--bundle", str(bundle), "--json")
    verdict = json.loads(result.output)
    # The trial was created at 05:00, after the instance's daily sync slot (03:00-04:59).
    assert (verdict["cause"], verdict["rule"]) == ("not_yet_synced", "R13")
    assert any("next scheduled sync" in line for line in verdict["evidence"])


def test_doctor_reads_a_live_instance_with_an_admin_token(world: Any) -> None:
    token = admin_token(world)
    _synchronize(world)
    result = doctor(
        world, "--subscription", "A-S00000502", "--instance", world.instance_url, "--token", token
    )
    assert result.exit_code == 1, result.output
    assert "[R24]" in result.output and "no seats are assigned" in result.output


def test_doctor_refuses_a_damaged_bundle(world: Any, tmp_path: Path) -> None:
    bundle = tmp_path / "bundle.json"
    bundle.write_text('{"format": "something else"}')
    result = doctor(world, "--subscription", "A-S00000502", "--bundle", str(bundle))
    assert result.exit_code == 2  # not 1, which says "a cause was found"
    assert "not a diagnostics bundle" in result.output


def test_json_carries_every_finding_and_exit_status_says_a_cause_was_found(world: Any) -> None:
    result = doctor(world, "--subscription", "A-S00000501", "--json")
    assert result.exit_code == 1
    verdict = json.loads(result.output)
    # Embargoed, and no instance activated the subscription either.
    assert [f["cause"] for f in verdict["findings"]] == ["embargoed_country", "not_activated"]
    assert all(f["rule"] and f["next_action"] and f["facts"] for f in verdict["findings"])


def test_usage_errors_exit_with_2(world: Any) -> None:
    assert (
        doctor(world, "--subscription", "A-S00000502", "--instance", world.instance_url).exit_code
        == 2
    )
    assert doctor(world).exit_code == 2  # no --subscription
    result = doctor(world, "--subscription", "A-S00000502", "--var", str(world.folder / "nowhere"))
    assert result.exit_code == 2 and "no portal database" in result.output


def test_healthy_trial_exits_0(world: Any) -> None:
    _synchronize(world)
    from instance.add_ons import assign_seat, duo_purchase
    from instance.models import User
    from webcore.clock import app_clock

    with unit_of_work(world.instance) as session:
        purchase = duo_purchase()
        assert purchase is not None
        alice = session.query(User).filter_by(username="alice").one()
        assign_seat(purchase.id, alice, app_clock(world.instance).now())
    result = doctor(world, "--subscription", "A-S00000502", "--bundle", str(export_bundle(world)))
    assert result.exit_code == 0, result.output
    assert result.output.startswith(
        "VERDICT: The trial is active on the instance running A-S00000502"
    )


def test_exported_bundle_carries_the_version_the_instance_ran_not_the_exporters(world: Any) -> None:
    world.instance.config["GITLAB_VERSION"] = "16.7.0"  # what the serving instance runs
    _synchronize(world)
    bundle = json.loads(export_bundle(world).read_text())
    # The exporting process is configured with the default 17.5.0-ee; the bundle does not say so.
    assert bundle["instance"]["gitlab_version"] == "16.7.0"
    assert bundle["instance"]["gitlab_version_source"] == "last sync attempt"
    assert bundle["instance"]["proxy"] is None  # the exporting shell's proxy means nothing
    result = doctor(world, "--subscription", "A-S00000502", "--bundle", str(export_bundle(world)))
    assert result.exit_code == 1
    assert result.output.startswith(
        "VERDICT: The instance runs GitLab 16.7.0; GitLab Duo Pro needs 16.8.0"
    )
    assert "portal: the instance reported GitLab 16.7.0" in result.output


def test_diagnostics_from_the_running_instance_with_url_and_token(
    world: Any, tmp_path: Path
) -> None:
    world.instance.config["GITLAB_VERSION"] = "16.9.0"  # upgraded since its last sync
    bundle = tmp_path / "live.json"
    exported = CliRunner().invoke(
        main,
        [
            "instance",
            "diagnostics",
            "--url",
            world.instance_url,
            "--token",
            admin_token(world),
            "-o",
            str(bundle),
        ],
        catch_exceptions=False,
    )
    assert exported.exit_code == 0, exported.output
    about = json.loads(bundle.read_text())["instance"]
    assert (about["gitlab_version"], about["gitlab_version_source"]) == (
        "16.9.0",
        "running instance",
    )
    refused = CliRunner().invoke(main, ["instance", "diagnostics", "--url", world.instance_url])
    assert refused.exit_code == 2


def _synchronize(world: Any) -> None:
    synced = world.admin_client().post(
        f"{world.instance_url}/admin/license/sync_seat_link",
        headers={
            "X-CSRFToken": _csrf(
                world.admin_client().get(f"{world.instance_url}/admin/subscription").text
            )
        },
    )
    assert synced.json() == {"success": True}


def _csrf(html: str) -> str:
    import re

    found = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert found is not None
    return found.group(1)
