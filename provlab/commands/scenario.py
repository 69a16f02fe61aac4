"""``provlab scenario``: run scenario files (both parties on simulated time, in one process or
over HTTP) and list the scenario vocabulary."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from provlab.commands.options import one_of, quiet_logs


@click.group("scenario")
def scenario() -> None:
    """Run scenario files (YAML) that set up both parties, act, travel in time and check."""


@scenario.command("run")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@one_of(
    "--transport",
    ["inprocess", "http", "both"],
    "inprocess",
    help="inprocess: both apps in this process (fast); http: both served "
    "by real HTTP servers on loopback; both: each scenario over each transport.",
)
@click.option(
    "--junit",
    "junit_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write JUnit XML here (for CI).",
)
@click.option("--verbose", "-v", is_flag=True, help="Also print the apps' own log lines.")
def scenario_run(
    paths: tuple[Path, ...], transport: str, junit_path: Path | None, verbose: bool
) -> None:
    """Run the scenario files PATHS (files or folders of *.yaml). Exits non-zero on any failure,
    printing a timeline of both parties' events around each failing step."""
    from provlab.scenario.junit import write_junit
    from provlab.scenario.runner import run_file

    if not verbose:
        quiet_logs()  # what matters is on each scenario's timeline

    files = _scenario_files(paths)
    if not files:
        raise click.ClickException("no scenario files (*.yaml) found")
    transports = ["inprocess", "http"] if transport == "both" else [transport]
    results = []
    runs = len(files) * len(transports)
    width = len(str(runs))
    for path in files:
        for each in transports:
            result = run_file(path, each)
            results.append(result)
            # Each scenario as it finishes, with how far the run is and how long it took.
            click.echo(f"[{len(results):>{width}}/{runs}] {result.report()}")
    if junit_path is not None:
        write_junit(results, junit_path)
    failed = sum(1 for r in results if not r.passed)
    click.echo(f"\n{len(results) - failed} passed, {failed} failed")
    if failed:
        sys.exit(1)


@scenario.command("steps")
def scenario_steps() -> None:
    """List the scenario vocabulary: actions and expectations, with an example each."""
    from provlab.scenario import runner  # noqa: F401 - registers the vocabulary
    from provlab.scenario.vocabulary import ACTIONS, EXPECTATIONS

    click.echo("Actions (one per step):")
    for found in sorted(ACTIONS.values(), key=lambda a: a.name):
        click.echo(f"  {found.name:<24} {found.help}\n  {'':<24} {found.example}")
    click.echo("\nExpectations (keys of an `expect` step):")
    for found in sorted(EXPECTATIONS.values(), key=lambda a: a.name):
        click.echo(f"  {found.name:<24} {found.help}\n  {'':<24} {found.example}")


def _scenario_files(paths: tuple[Path, ...]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        files.extend(sorted(path.rglob("*.yaml")) if path.is_dir() else [path])
    return files
