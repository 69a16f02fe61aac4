"""``provlab portal …`` drives the same operations, with the same rules, and ``--json`` output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from provlab.cli import main
from tests.portal.helpers import trial_request_args


@pytest.fixture
def provlab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    for name in ("PORTAL_INSTANCE_PATH", "PORTAL_DATABASE_URL", "PORTAL_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    runner = CliRunner()

    def run(*args: str, ok: bool = True) -> Any:
        result = runner.invoke(main, ["portal", *args, "--var", str(tmp_path)])
        assert (result.exit_code == 0) == ok, result.output
        return json.loads(result.output) if ok and "--json" in args else result.output

    return run


def test_r3_r5_r20_r22_cli_sells_and_records_trial_requests(provlab: Any) -> None:
    provlab(
        *(
            "create-customer owner@example.com --name Owner --password secret123 --card Visa:4242"
            " --card Visa:0002"
        ).split()
    )
    provlab(
        *"create-customer sales@example.com --name Sales --password secret123 --role sales".split()
    )
    created = provlab(
        *(
            "create-subscription --customer owner@example.com --plan premium --seats 10"
            " --contact-email c@example.com --json"
        ).split()
    )
    name = created["name"]
    assert created["license_type"] == "online_cloud" and created["seats"] == 10

    declined = provlab("buy-duo-pro", name, "--seats", "3", "--card", "0002", ok=False)
    assert "declined" in declined
    order = provlab("buy-duo-pro", name, "--seats", "3", "--card", "4242", "--json")
    assert order["kind"] == "duo_pro" and order["amount_cents"] > 0
    too_many = provlab("add-seats", name, "--seats", "8", "--card", "4242", ok=False)
    assert "[R5]" in too_many
    assert "declined" in provlab("upgrade", name, "--card", "0002", ok=False)
    upgraded = provlab("upgrade", name, "--card", "4242", "--idempotency-key", "up-1", "--json")
    assert upgraded["kind"] == "plan_upgrade" and upgraded["amount_cents"] > 0
    again = provlab("upgrade", name, "--card", "4242", "--idempotency-key", "up-1", "--json")
    assert again["id"] == upgraded["id"]  # R7: placed once per key
    assert "already on Ultimate" in provlab("upgrade", name, "--card", "4242", ok=False)
    provlab("order", "duo_enterprise", name, "--by", "sales@example.com", "--seats", "5")
    shown = provlab("show", name, "--json")
    assert [a["tier"] for a in shown["add_ons"]][-1] == "duo_enterprise"

    code = provlab("activation-code", name, "--json")["activation_code"]
    assert len(code) == 24

    provlab(*trial_request_args(name, "c@example.com", "SY"))
    leads = provlab("leads", "--json")
    assert leads[0]["status"] == "pending"
    outbox = provlab("outbox", "--json")
    assert {m["to"] for m in outbox} == {"c@example.com"}


def test_r9_cli_refuses_a_cloud_plan_trial_and_writes_legacy_files(
    provlab: Any, tmp_path: Path
) -> None:
    provlab("create-customer", "owner@example.com", "--name", "Owner", "--password", "secret123")
    plan_trial = (
        "create-subscription --customer owner@example.com --plan ultimate --seats 5"
        " --kind plan_trial"
    ).split()
    refused = provlab(*plan_trial, "--license-type", "online_cloud", ok=False)
    assert "legacy licenses only" in refused and "[R9]" in refused
    trial = provlab(*plan_trial, "--json")
    assert trial["license_type"] == "legacy"
    output = tmp_path / "trial.gitlab-license"
    provlab("license-file", trial["name"], "--output", str(output))
    assert "LICENSE-----" in output.read_text()
    assert "legacy licenses only" in provlab("activation-code", trial["name"], ok=False)
