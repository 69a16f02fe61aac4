"""``provlab bench fleet``: a fleet's daily syncs against one portal run as in production.

The portal runs on PostgreSQL (a database of its own, dropped afterwards) behind a production
WSGI server: gunicorn with N worker processes, and waitress with N threads in one process,
measured side by side in one run. Its jobs run in a separate ``provlab portal jobs`` process, as
docs/design.md and the README's production section prescribe (the web servers run no worker).

The fleet is ``provlab.fleet.FleetInstance``s: each has its own key and instance id and its own
subscription, is activated over HTTP with that subscription's code, and sends real signed Seat
Link syncs over HTTP, verifying the signed answer and its license. A "day" is every instance of
the fleet syncing once, ``concurrency`` at a time (instances sync in their own minute of the
03:00-04:59 UTC window, R13, so a day's syncs overlap but are not all at once).

Targets (reported, never asserted by a test):
- a day's syncs of N instances fit the two-hour sync window (R13) many times over;
- a day grows linearly with the fleet: the time per sync of the largest fleet at most 1.5x
  that of the smallest (docs/design.md: "the daily sync of 1,000 instances scales linearly");
- more web workers sustain more syncs: the best of 2 and 4 at least 1.5x of 1 (on a machine
  with cores to spare: the fleet itself, the database and the jobs process share them here);
- the server chosen for production is the one that sustains more syncs at its best.
"""

from __future__ import annotations

import concurrent.futures
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from protocol.clock import RealClock
from protocol.signing import KeySet
from provlab.bench import Measurement
from provlab.fleet import FleetInstance, create_fleet_subscriptions
from provlab.servers import free_port, stop, wait_healthy
from webcore.private_files import open_private_log

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
SYNC_WINDOW_SECONDS = 2 * 3600  # R13: every instance syncs once between 03:00 and 04:59 UTC
SCALING_TARGET = 1.5
LINEAR_TARGET = 1.5  # time per sync of the largest fleet against the smallest
SERVERS = ("gunicorn", "waitress")


@dataclass(frozen=True)
class DayResult:
    server: str
    workers: int
    instances: int
    seconds: float
    client_cpu_seconds: float
    server_cpu_seconds: float | None = None  # the web server's processes (None: not Linux)

    @property
    def rate(self) -> float:
        return self.instances / self.seconds

    @property
    def server_cpu_per_sync(self) -> float | None:
        """CPU seconds the web server spent per sync: unlike the rate, barely changed by other
        work on the machine, so it tells what a core sustains even on a busy machine."""
        if self.server_cpu_seconds is None:
            return None
        return self.server_cpu_seconds / self.instances


@dataclass(frozen=True)
class FleetRun:
    results: list[DayResult]
    jobs_report: str  # the jobs process's last line: how many jobs it ran
    recorded: str  # what the portal's database holds of the fleet afterwards


@contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    """A fresh PostgreSQL database for one run, dropped at its end."""
    admin = sa.create_engine(
        admin_url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3}
    )
    name = f"provlab_fleet_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        yield admin_url.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def portal_environment(folder: Path, database_url: str) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
    return {
        **environment,
        "PORTAL_INSTANCE_PATH": str(folder),
        "PORTAL_DATABASE_URL": database_url,
        "PORTAL_CLOCK": "real",
        "PORTAL_RUN_WORKER": "false",  # the jobs process runs them
        "PORTAL_LOG_LEVEL": "WARNING",
    }


def prepare_portal(environment: dict[str, str], instances: int) -> tuple[KeySet, list[str]]:
    """The portal's database at head, its key, and one subscription per instance; the keys to
    pin and the activation codes."""
    from portal import create_app
    from portal.keys import published_keys
    from portal.setup import prepare

    app = create_app(environ=environment)
    prepare(app)
    try:
        subscriptions = create_fleet_subscriptions(app, instances)
        return published_keys(app), [s.activation_code for s in subscriptions]
    finally:
        with app.app_context():
            app.extensions["sqlalchemy"].engine.dispose()


def server_command(server: str, workers: int, port: int) -> list[str]:
    if server == "gunicorn":
        return [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            str(workers),
            "--bind",
            f"127.0.0.1:{port}",
            "--backlog",
            "2048",
            "--log-level",
            "warning",
            'provlab.serve:build("portal")',
        ]
    return [
        sys.executable,
        "-m",
        "provlab.serve",
        "portal",
        "--port",
        str(port),
        "--threads",
        str(workers),
    ]


def jobs_command() -> list[str]:
    return [sys.executable, "-c", "from provlab.cli import main; main()", "portal", "jobs"]


def start(command: list[str], environment: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        command,
        env=environment,
        stdout=open_private_log(log),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def process_tree_cpu(pid: int) -> float | None:
    """CPU seconds (user and system) of process ``pid`` and its descendants so far, from /proc
    (gunicorn's workers are the master's children); None where there is no /proc."""
    proc = Path("/proc")
    if not (proc / str(pid) / "stat").exists():
        return None
    parents: dict[int, int] = {}
    times: dict[int, int] = {}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # gone meanwhile
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        parents[int(entry.name)] = int(fields[1])
        times[int(entry.name)] = int(fields[11]) + int(fields[12])  # utime, stime
    tree, frontier = {pid}, [pid]
    while frontier:
        parent = frontier.pop()
        children = [child for child, of in parents.items() if of == parent]
        tree.update(children)
        frontier.extend(children)
    return sum(times.get(member, 0) for member in tree) / os.sysconf("SC_CLK_TCK")


def run_day(
    fleet: list[FleetInstance], url: str, keys: KeySet, concurrency: int, codes: list[str] | None
) -> tuple[float, float]:
    """Every instance of ``fleet`` activates (with ``codes``) or syncs once, ``concurrency`` at
    a time; the wall time and this process's CPU time. Any refusal fails the run."""
    clock = RealClock()
    started, cpu_started = time.perf_counter(), time.process_time()

    def one(index: int) -> None:
        if codes is not None:
            fleet[index].activate(url, keys, clock, codes[index])
        else:
            fleet[index].sync(url, keys, clock)

    with concurrent.futures.ThreadPoolExecutor(max_workers=concurrency) as pool:
        for future in [pool.submit(one, index) for index in range(len(fleet))]:
            future.result()
    return time.perf_counter() - started, time.process_time() - cpu_started


@dataclass(frozen=True)
class Day:
    """One measured day: every instance of ``fleet`` syncs once against the server at ``url``."""

    server: str
    workers: int
    fleet: list[FleetInstance]
    url: str
    keys: KeySet
    concurrency: int

    def measure(self, server_pid: int) -> DayResult:
        before = process_tree_cpu(server_pid)
        seconds, cpu = run_day(self.fleet, self.url, self.keys, self.concurrency, None)
        after = process_tree_cpu(server_pid)
        served = after - before if after is not None and before is not None else None
        return DayResult(self.server, self.workers, len(self.fleet), seconds, cpu, served)


def bench_fleet(
    sizes: tuple[int, ...] = (100, 1000),
    workers: tuple[int, ...] = (1, 2, 4),
    servers: tuple[str, ...] = SERVERS,
    concurrency: int = 16,
    admin_url: str = DEFAULT_POSTGRES_URL,
    log_folder: Path | None = None,
) -> FleetRun:
    """One day of syncs for each fleet size, on each server with each number of workers; the
    results, what the portal's jobs process reported, and what the portal recorded (checked:
    every instance activated on its own subscription and its syncs received)."""
    fleet = [FleetInstance(number) for number in range(1, max(sizes) + 1)]
    results: list[DayResult] = []
    with tempfile.TemporaryDirectory(prefix="provlab-fleet-") as scratch:
        folder = Path(scratch)
        logs = log_folder or folder / "logs"
        with postgres_database(admin_url) as database_url:
            environment = portal_environment(folder / "portal", database_url)
            keys, codes = prepare_portal(environment, len(fleet))
            jobs = start(jobs_command(), environment, logs / "jobs.log")
            try:
                activated = False
                for server in servers:
                    for count in workers:
                        port = free_port()
                        process = start(
                            server_command(server, count, port),
                            environment,
                            logs / f"{server}-{count}.log",
                        )
                        url = f"http://127.0.0.1:{port}"
                        try:
                            wait_healthy(url, process)
                            if not activated:
                                # Activation, then one untimed day: every configuration is
                                # measured on the same steady state (licenses already issued).
                                run_day(fleet, url, keys, concurrency, codes)
                                run_day(fleet, url, keys, concurrency, None)
                                activated = True
                            for size in sizes:
                                day = Day(server, count, fleet[:size], url, keys, concurrency)
                                results.append(day.measure(process.pid))
                        finally:
                            stop([process])
            finally:
                stop([jobs])
            jobs_report = (logs / "jobs.log").read_text().strip().rsplit("\n", 1)[-1]
            recorded = portal_record(database_url, fleet)
    return FleetRun(results, jobs_report, recorded)


def portal_record(database_url: str, fleet: list[FleetInstance]) -> str:
    """What the portal holds of the fleet: each instance activated on a subscription of its own,
    its syncs received (usage reports) and its last sync recorded. A bench whose syncs did not
    all land would measure nothing: it fails instead."""
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as connection:
            activations = connection.execute(
                sa.text(
                    "SELECT count(*), count(DISTINCT subscription_id), count(last_sync_at) "
                    "FROM activations"
                )
            ).one()
            reports = connection.execute(
                sa.text("SELECT count(*), count(DISTINCT instance_id) FROM usage_reports")
            ).one()
    finally:
        engine.dispose()
    expected = len(fleet)
    if tuple(activations) != (expected, expected, expected) or reports[1] != expected:
        raise RuntimeError(
            f"the portal recorded activations {tuple(activations)} and usage reports "
            f"{tuple(reports)} for a fleet of {expected}"
        )
    return (
        f"{expected} instances activated on {expected} subscriptions, each synced; "
        f"{reports[0]} usage reports received; the fleet sent {sum(i.syncs for i in fleet)} syncs"
    )


def measurements(results: list[DayResult]) -> list[Measurement]:
    """Each day's throughput against the sync window, then scaling and the choice of server."""
    rows = []
    for result in results:
        needed = result.instances / SYNC_WINDOW_SECONDS
        rows.append(
            Measurement(
                f"{result.instances} instances, {result.server} x{result.workers}",
                result.rate,
                "syncs/s",
                f">= {needed:.3g} (a day in the 2 h window)",
                result.rate >= needed,
                f"(day in {result.seconds:.1f} s, fleet CPU {result.client_cpu_seconds:.1f} s"
                + _server_cpu(result)
                + f"; {result.rate * SYNC_WINDOW_SECONDS:,.0f} instances per window)",
            )
        )
    largest = max(result.instances for result in results)
    for server in dict.fromkeys(result.server for result in results):
        at_size = [r for r in results if r.server == server and r.instances == largest]
        one = next((r for r in at_size if r.workers == 1), None)
        more = [r for r in at_size if r.workers > 1]
        if one is not None and more:
            top = max(more, key=lambda r: r.rate)
            ratio = top.rate / one.rate
            rows.append(
                Measurement(
                    f"{server}: best of more workers / 1",
                    ratio,
                    "ratio",
                    f">= {SCALING_TARGET}",
                    ratio >= SCALING_TARGET,
                    f"({top.workers} workers {top.rate:.0f} syncs/s, 1 worker {one.rate:.0f}, "
                    f"{largest} instances; "
                    + ", ".join(f"x{r.workers} {r.rate:.0f}" for r in at_size)
                    + ")",
                )
            )
        smallest = min(r.instances for r in results)
        if smallest < largest:
            top = max(at_size, key=lambda r: r.rate)
            small = next(
                r
                for r in results
                if (r.server, r.workers, r.instances) == (server, top.workers, smallest)
            )
            growth = small.rate / top.rate
            rows.append(
                Measurement(
                    f"{server} x{top.workers}: per sync, {largest} / {smallest}",
                    growth,
                    "ratio",
                    f"<= {LINEAR_TARGET} (linear)",
                    growth <= LINEAR_TARGET,
                    f"({1000 / top.rate:.1f} ms vs {1000 / small.rate:.1f} ms per sync of the day)",
                )
            )
    return rows


def _server_cpu(result: DayResult) -> str:
    per_sync = result.server_cpu_per_sync
    if per_sync is None:
        return ""
    return f", server CPU {per_sync * 1000:.1f} ms per sync: {1 / per_sync:.0f} syncs/s per core"


def choice(results: list[DayResult]) -> str | None:
    """Which server to run in production: the one sustaining more syncs at its best, on the
    largest fleet measured (None unless both were measured)."""
    largest = max(result.instances for result in results)
    best = {
        server: max(
            (r for r in results if r.server == server and r.instances == largest),
            key=lambda r: r.rate,
        )
        for server in SERVERS
        if any(r.server == server for r in results)
    }
    if len(best) < 2:
        return None
    first, second = (best[server] for server in SERVERS)
    chosen = first if first.rate >= second.rate else second
    return (
        f"chosen for production: {chosen.server} x{chosen.workers} "
        f"({first.server} x{first.workers} {first.rate:.0f} syncs/s vs "
        f"{second.server} x{second.workers} {second.rate:.0f} syncs/s: "
        f"ratio {first.rate / second.rate:.2f}, {largest} instances)"
    )
