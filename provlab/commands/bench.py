"""``provlab bench``: measure the targets of docs/design.md, each ratio or time measured side by
side in one run."""

from __future__ import annotations

import click

from provlab.commands.options import quiet_logs


@click.group("bench")
def bench() -> None:
    """Measure the targets of docs/design.md (ratios and times measured side by side in one run)."""


@bench.command("sync")
@click.option("--requests", "per_round", default=200, show_default=True, help="Requests per round.")
@click.option("--rounds", default=5, show_default=True, help="Alternating rounds of each endpoint.")
def bench_sync_command(per_round: int, rounds: int) -> None:
    """The portal's sync endpoint against a one-read endpoint on the same server (target >= 0.6)."""
    from provlab.bench import bench_sync

    quiet_logs()
    click.echo(bench_sync(per_round, rounds).render())


@bench.command("year")
@click.option("--users", default=1000, show_default=True, help="Users on the instance.")
@click.option("--days", default=365, show_default=True, help="Simulated days.")
def bench_year_command(users: int, days: int) -> None:
    """A simulated year of one portal and one instance (target < 2 s for 1,000 users; other
    sizes are held to the same time per user and day, i.e. linear growth)."""
    from provlab.bench import bench_year

    quiet_logs()
    click.echo(bench_year(users, days).render())


@bench.command("seats")
@click.option("--users", default=10_000, show_default=True, help="Users to assign, then halve.")
def bench_seats_command(users: int) -> None:
    """Bulk assignment and overage removal (target < 2 s each for 10,000 users)."""
    from provlab.bench import bench_seats

    quiet_logs()
    for measurement in bench_seats(users):
        click.echo(measurement.render())


@bench.command("review")
@click.option(
    "--subscriptions",
    default=10_000,
    show_default=True,
    type=click.IntRange(min=1),
    help="Subscriptions reviewed.",
)
@click.option(
    "--postgres-url",
    default=None,
    help="Run on PostgreSQL: a database to connect to; the bench creates its own beside it "
    "(e.g. postgresql+psycopg://postgres@127.0.0.1:5432/postgres). Default: SQLite.",
)
def bench_review_command(subscriptions: int, postgres_url: str | None) -> None:
    """A seat review of N subscriptions with a year of daily usage each (target < 10 s for
    10,000), its result checked against the pure policy; exits 1 if the result is wrong."""
    from provlab.review_bench import bench_review

    quiet_logs()
    run = bench_review(subscriptions, postgres_url)
    click.echo(run.measurement.render())
    click.echo(run.check)
    if not run.right:
        raise SystemExit(1)


@bench.command("fleet")
@click.option(
    "--instances",
    "sizes",
    multiple=True,
    type=click.IntRange(min=1),
    default=(100, 1000),
    show_default=True,
    help="Fleet sizes measured (repeat the option).",
)
@click.option(
    "--workers",
    multiple=True,
    type=click.IntRange(min=1),
    default=(1, 2, 4),
    show_default=True,
    help="Web workers measured: gunicorn processes, waitress threads (repeat the option).",
)
@click.option(
    "--server",
    "servers",
    multiple=True,
    type=click.Choice(["gunicorn", "waitress"]),
    default=("gunicorn", "waitress"),
    show_default=True,
    help="WSGI servers measured side by side.",
)
@click.option(
    "--concurrency", default=16, show_default=True, help="Instances syncing at the same time."
)
@click.option(
    "--postgres-url",
    default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
    show_default=True,
    help="A PostgreSQL database to connect to; the bench creates its own beside it.",
)
@click.option("--quick", is_flag=True, help="A small run (20 instances, 1 and 2 workers) for CI.")
def bench_fleet_command(
    sizes: tuple[int, ...],
    workers: tuple[int, ...],
    servers: tuple[str, ...],
    concurrency: int,
    postgres_url: str,
    quick: bool,
) -> None:
    """A fleet's daily syncs against one portal on PostgreSQL behind gunicorn and waitress with
    1, 2, 4 workers, its jobs in a separate process (each day must fit the 2 h sync window)."""
    from provlab.fleet_bench import bench_fleet, choice, measurements

    quiet_logs()
    if quick:
        sizes, workers = (20,), (1, 2)
    run = bench_fleet(
        tuple(sorted(set(sizes))),
        tuple(sorted(set(workers))),
        tuple(dict.fromkeys(servers)),
        concurrency,
        postgres_url,
    )
    for measurement in measurements(run.results):
        click.echo(measurement.render())
    chosen = choice(run.results)
    if chosen:
        click.echo(chosen)
    click.echo(f"portal jobs process: {run.jobs_report}")
    click.echo(f"portal recorded: {run.recorded}")
