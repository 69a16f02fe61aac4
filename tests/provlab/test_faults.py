"""Faults on a running pair: the `/-/faults` switch of each server, and `provlab fault` itself."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from provlab.faults import FaultyAdapter, wire_fault_injection
from tests.conftest import SIMULATION_TOKEN

AUTH = {"Authorization": f"Bearer {SIMULATION_TOKEN}"}


def test_the_fault_switch_needs_the_pairs_token(portal_app: Flask) -> None:
    wire_fault_injection(portal_app, "portal")
    client = portal_app.test_client()
    assert client.get("/-/faults").status_code == 401
    assert (
        client.post(
            "/-/faults", json={"set": "payment_declined"}, headers={"Authorization": "Bearer nope"}
        ).status_code
        == 401
    )


def test_payment_declined_fault_makes_the_portal_decline_every_charge(portal_app: Flask) -> None:
    from portal.payments import PaymentDeclined, payment_gateway

    wire_fault_injection(portal_app, "portal")
    client = portal_app.test_client()
    assert client.post("/-/faults", json={"set": "tampered"}, headers=AUTH).status_code == 400
    answer = client.post("/-/faults", json={"set": "payment_declined"}, headers=AUTH).get_json()
    assert answer["active"] == ["payment_declined"]
    with portal_app.app_context():
        method: Any = type("Card", (), {"label": "Visa ending in 4242", "last4": "4242"})()
        with pytest.raises(PaymentDeclined):
            payment_gateway().charge(method, 100, "test")
    client.post("/-/faults", json={"clear": "all"}, headers=AUTH)
    with portal_app.app_context():
        assert payment_gateway().charge(method, 100, "test").startswith("pay_")


def test_instance_faults_wrap_the_session_its_portal_calls_go_through(instance_app: Flask) -> None:
    from instance.portal_client import SESSION_HOOK

    state = wire_fault_injection(instance_app, "instance")
    session = instance_app.extensions[SESSION_HOOK]
    assert all(isinstance(adapter, FaultyAdapter) for adapter in session.adapters.values())
    assert session.trust_env  # R16: production proxy settings still apply
    client = instance_app.test_client()
    assert (
        client.post("/-/faults", json={"set": "payment_declined"}, headers=AUTH).status_code == 400
    )
    client.post("/-/faults", json={"set": "unreachable"}, headers=AUTH)
    assert state.active == {"unreachable"}


@pytest.mark.e2e
def test_provlab_fault_commands_against_a_running_pair(tmp_path: Path) -> None:
    from tests.e2e.test_provlab_up import (
        PROVLAB,
        ROOT,
        _start,
        _stop_with_ctrl_c,
        clean_environment,
    )

    up = _start(tmp_path, "--simulated-time", "2026-05-04T00:00:00Z")

    def provlab(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [PROVLAB, *args],
            cwd=ROOT,
            env=clean_environment(),
            capture_output=True,
            text=True,
            timeout=120,
        )

    try:
        var = str(up.var)
        assert "instance  active: none" in provlab("fault", "--var", var, "list").stdout
        assert provlab("fault", "--var", var, "set", "tampered").returncode == 0
        assert provlab("fault", "--var", var, "set", "payment_declined").returncode == 0
        listed = provlab("fault", "--var", var, "list").stdout
        assert (
            "instance  active: tampered" in listed
            and "portal    active: payment_declined" in listed
        )
        refused = provlab("fault", "--var", var, "set", "meteor")
        assert refused.returncode == 2 and "unknown fault" in refused.stderr
        assert provlab("fault", "--var", var, "skew", "10m").returncode == 0
        shown = provlab("clock", "--var", var, "show").stdout
        assert (
            "portal    now 2026-05-04T00:00:00Z" in shown
            and "instance  now 2026-05-04T00:10:00Z" in shown
        )
        assert provlab("fault", "--var", var, "skew", "0s").returncode == 0
        assert provlab("fault", "--var", var, "clear").returncode == 0
        assert provlab("fault", "--var", var, "list").stdout.count("active: none") == 2
        assert (
            "2026-05-04T00:10:00Z"
            in provlab("clock", "--var", var, "show").stdout.split("portal")[1]
        )
    finally:
        _stop_with_ctrl_c(up)


def test_payment_declined_applies_to_every_purchase_path_the_cli_too(
    make_portal: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server's switch declines the charges of a `provlab portal` process on the same var."""
    import json

    from click.testing import CliRunner

    from provlab.cli import main

    for name in ("PORTAL_INSTANCE_PATH", "PORTAL_DATABASE_URL", "PORTAL_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    runner = CliRunner()

    def provlab(*args: str) -> Any:
        return runner.invoke(main, ["portal", *args, "--var", str(tmp_path)])

    assert (
        provlab(
            *(
                "create-customer owner@example.com --name Owner --password secret123 --card"
                " Visa:4242"
            ).split()
        ).exit_code
        == 0
    )
    created = provlab(
        *(
            "create-subscription --customer owner@example.com --plan premium --seats 10"
            " --contact-email c@example.com --json"
        ).split()
    )
    name = json.loads(created.output)["name"]

    served = make_portal(INSTANCE_PATH=str(tmp_path / "portal"))
    wire_fault_injection(served, "portal")
    client = served.test_client()
    assert (
        client.post("/-/faults", json={"set": "payment_declined"}, headers=AUTH).status_code == 200
    )

    declined = provlab("buy-duo-pro", name, "--seats", "3", "--card", "4242")
    assert declined.exit_code != 0 and "declined" in declined.output
    client.post("/-/faults", json={"clear": "payment_declined"}, headers=AUTH)
    assert provlab("buy-duo-pro", name, "--seats", "3", "--card", "4242").exit_code == 0

    client.post("/-/faults", json={"set": "payment_declined"}, headers=AUTH)
    declined = provlab("add-seats", name, "--seats", "2", "--card", "4242")
    assert declined.exit_code != 0 and "declined" in declined.output
    shown = json.loads(provlab("show", name, "--json").output)
    assert [a["quantity"] for a in shown["add_ons"]] == [3]


def test_a_restarted_portal_starts_with_no_payment_fault(portal_app: Flask) -> None:
    from portal.payments import decline_all_payments, declining_all_payments

    decline_all_payments(portal_app, True)
    wire_fault_injection(portal_app, "portal")
    assert not declining_all_payments(portal_app)
