"""What the `provlab doctor` command-line tests share: a pair of real servers set up by a scenario
and left as `provlab up` leaves it, a bundle exported as support would, an admin's token."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from click.testing import CliRunner

from instance.models import User
from instance.tokens import create_token
from provlab.cli import main
from provlab.scenario.loader import load_scenario
from provlab.scenario.steps import apply_setup
from provlab.scenario.vocabulary import StepContext, run_step
from provlab.scenario.world import SIMULATION_TOKEN, World
from provlab.servers import RunningPair
from webcore.clock import app_clock
from webcore.transaction import unit_of_work


def running_world(tmp_path: Path, case: str) -> Iterator[World]:
    """The pair over HTTP after the scenario ``case``'s setup and steps (a fixture's body)."""
    path = tmp_path / "case.yaml"
    path.write_text(case)
    scenario = load_scenario(path)
    world = World("http", scenario.start, 0, folder=tmp_path / "var")
    try:
        apply_setup(world, scenario)
        for step in scenario.steps:
            run_step(StepContext(world, scenario, step))
        # What `provlab up` leaves behind, so the doctor reads the pair's simulated time.
        RunningPair(world.portal_url, world.instance_url, True, SIMULATION_TOKEN, 0, 0).save(
            world.folder
        )
        yield world
    finally:
        world.close()


def export_bundle(world: World, *extra: str) -> Path:
    """The instance's diagnostics bundle as `provlab instance diagnostics` exports it from its
    folder (``extra``: more options, such as ``--user NAME``)."""
    bundle = world.folder / "exported.json"
    result = CliRunner().invoke(
        main,
        [
            "instance",
            "--instance-path",
            str(world.folder / "instance"),
            "diagnostics",
            *extra,
            "-o",
            str(bundle),
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    return bundle


def admin_token(world: World) -> str:
    """A personal access token of the instance's administrator, for --instance URL --token."""
    with unit_of_work(world.instance) as session:
        admin = session.query(User).filter_by(username="root").one()
        return create_token(admin, "support", ["api"], app_clock(world.instance).now())
