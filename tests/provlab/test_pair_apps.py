"""One way to open an app at a running pair's time: `provlab portal`, `provlab instance` and
`provlab doctor` all read what `provlab up --simulated-time` recorded in its var folder."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner
from flask import Flask

from instance import create_app as create_instance
from instance.setup import prepare as prepare_instance
from protocol.clock import format_utc
from provlab.cli import main
from provlab.commands.pair import open_app
from provlab.servers import STATE_FILE, RunningPair, free_port
from tests.conftest import SIMULATION_TOKEN
from webcore.clock import app_clock, is_simulated

PORTAL_NOW = dt.datetime(2026, 4, 1, 9, 30, tzinfo=dt.UTC)
INSTANCE_NOW = dt.datetime(2026, 5, 1, 3, 15, tzinfo=dt.UTC)  # each party keeps its own time


@pytest.fixture(autouse=True)
def _no_app_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for app in ("PORTAL", "INSTANCE"):
        for name in ("INSTANCE_PATH", "DATABASE_URL", "CONFIG_FILE", "CLOCK", "SIMULATED_START"):
            monkeypatch.delenv(f"{app}_{name}", raising=False)


@pytest.fixture
def pair(
    tmp_path: Path, portal_app: Flask, instance_app: Flask, live_server: Callable[[Flask], Any]
) -> Path:
    """A var folder as `provlab up --simulated-time` leaves it, its two servers running."""
    app_clock(portal_app).set(PORTAL_NOW)
    app_clock(instance_app).set(INSTANCE_NOW)
    var = tmp_path / "var"
    RunningPair(
        live_server(portal_app).url, live_server(instance_app).url, True, SIMULATION_TOKEN, 0, 0
    ).save(var)
    return var


def test_either_app_opens_at_its_own_time_in_the_running_pair(pair: Path) -> None:
    portal = open_app("portal", pair)
    instance = open_app("instance", pair)
    assert app_clock(portal).now() == PORTAL_NOW
    assert app_clock(instance).now() == INSTANCE_NOW
    assert Path(portal.instance_path) == (pair / "portal").resolve()
    assert Path(instance.instance_path) == (pair / "instance").resolve()


def test_without_a_running_pair_the_app_keeps_its_configured_clock(tmp_path: Path) -> None:
    assert not is_simulated(open_app("portal", tmp_path))
    assert not is_simulated(open_app("instance", tmp_path))


def test_instance_commands_work_at_the_pairs_time(pair: Path, tmp_path: Path) -> None:
    folder = pair / "instance"
    prepare_instance(create_instance({"INSTANCE_PATH": str(folder)}, environ={}))
    bundle = tmp_path / "bundle.json"
    result = CliRunner().invoke(
        main, ["instance", "--instance-path", str(folder), "diagnostics", "-o", str(bundle)]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(bundle.read_text())["generated_at"] == format_utc(INSTANCE_NOW)


def test_a_recorded_pair_that_does_not_answer_is_refused_and_nothing_is_written(
    tmp_path: Path,
) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    RunningPair(url, url, True, SIMULATION_TOKEN, 0, 0).save(tmp_path)
    with pytest.raises(click.ClickException, match="unreachable"):
        open_app("portal", tmp_path)
    result = CliRunner().invoke(
        main,
        [
            "portal",
            "create-customer",
            "a@example.com",
            "--name",
            "A",
            "--password",
            "secret123",
            "--var",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 1 and "unreachable" in result.output
    assert not (tmp_path / "portal").exists()


def test_a_damaged_pair_record_is_refused(tmp_path: Path) -> None:
    (tmp_path / STATE_FILE).write_text("{not json")
    with pytest.raises(click.ClickException, match=STATE_FILE):
        open_app("portal", tmp_path)
