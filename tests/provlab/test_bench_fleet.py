"""``provlab bench fleet --quick``: a small fleet of signed instances against the portal on
PostgreSQL behind gunicorn and waitress, its jobs in their own process; every measurement is
printed with its target and verdict, and every sync landed. No time is asserted."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import _required
from tests.support import databases

pytestmark = pytest.mark.e2e

PROVLAB = str(Path(sys.executable).parent / "provlab")
ROOT = Path(__file__).resolve().parents[2]
MEASUREMENT = r"\s+\d+\.\d{3} (syncs/s|ratio)\s+(meets|MISSES) target "


def _fleet_databases(pool: databases.Pool) -> set[str]:
    with pool.admin().connect() as connection:
        return set(
            connection.execute(
                sa.text("SELECT datname FROM pg_database WHERE datname LIKE 'provlab_fleet_%'")
            ).scalars()
        )


def test_bench_fleet_quick_prints_each_measurement_target_and_verdict_and_every_sync_lands(
    database_pool: databases.Pool,
) -> None:
    if not database_pool.postgres_available():
        message = f"PostgreSQL is not reachable at {databases.POSTGRES_ADMIN_URL}"
        if _required("PROVLAB_REQUIRE_POSTGRES"):
            pytest.fail(message + " (PROVLAB_REQUIRE_POSTGRES is set)")
        pytest.skip(message)
    before = _fleet_databases(database_pool)
    result = subprocess.run(
        [
            PROVLAB,
            "bench",
            "fleet",
            "--quick",
            "--concurrency",
            "4",
            "--postgres-url",
            databases.POSTGRES_ADMIN_URL,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    for server in ("gunicorn", "waitress"):
        for workers in (1, 2):
            assert re.search(rf"^20 instances, {server} x{workers}{MEASUREMENT}>= ", out, re.M), out
        assert re.search(rf"^{server}: best of more workers / 1{MEASUREMENT}>= 1\.5", out, re.M)
    assert re.search(r"^chosen for production: (gunicorn|waitress) x[12] ", out, re.M), out
    assert re.search(r"^portal jobs process: ran \d+ jobs", out, re.M), out
    # Activation, one untimed day, then a day on each of the four servers: 5 syncs each.
    assert (
        "portal recorded: 20 instances activated on 20 subscriptions, each synced; "
        "100 usage reports received; the fleet sent 100 syncs"
    ) in out
    assert _fleet_databases(database_pool) == before  # its database is dropped


def test_the_verdicts_compare_workers_fleet_sizes_and_servers_measured_in_one_run() -> None:
    from provlab.fleet_bench import DayResult, choice, measurements

    def day(server: str, workers: int, instances: int, rate: float) -> DayResult:
        return DayResult(server, workers, instances, instances / rate, 0.1)

    results = [
        day("gunicorn", 1, 100, 100.0),
        day("gunicorn", 2, 100, 190.0),
        day("gunicorn", 1, 1000, 90.0),
        day("gunicorn", 2, 1000, 180.0),
        day("waitress", 1, 100, 120.0),
        day("waitress", 2, 100, 110.0),
        day("waitress", 1, 1000, 60.0),
        day("waitress", 2, 1000, 50.0),
    ]
    lines = {m.name: m for m in measurements(results)}
    assert lines["1000 instances, gunicorn x2"].met  # 1,000 syncs in well under 2 h
    assert lines["gunicorn: best of more workers / 1"].value == pytest.approx(2.0)
    assert lines["gunicorn: best of more workers / 1"].met
    assert not lines["waitress: best of more workers / 1"].met  # 50 vs 60: slower
    assert lines["gunicorn x2: per sync, 1000 / 100"].value == pytest.approx(190 / 180)
    assert lines["gunicorn x2: per sync, 1000 / 100"].met
    assert not lines["waitress x1: per sync, 1000 / 100"].met  # 120 vs 60: twice the time
    assert (choice(results) or "").startswith("chosen for production: gunicorn x2 ")
    assert choice([r for r in results if r.server == "gunicorn"]) is None


def test_server_cpu_counts_the_process_and_its_children(tmp_path: Path) -> None:
    """gunicorn's work is done by the master's children: their CPU time counts too."""
    from provlab.fleet_bench import process_tree_cpu

    busy = "import time\nend = time.process_time() + 0.4\nwhile time.process_time() < end: pass\n"
    (tmp_path / "busy.py").write_text(busy)
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import subprocess, sys, time\n"
            f"subprocess.Popen([sys.executable, {str(tmp_path / 'busy.py')!r}])\n"
            "time.sleep(30)\n",
        ]
    )
    try:
        deadline = time.monotonic() + 60
        used = process_tree_cpu(parent.pid)
        while (used or 0) < 0.4 and time.monotonic() < deadline:
            time.sleep(0.2)
            used = process_tree_cpu(parent.pid)
        assert used is not None and used >= 0.4
    finally:
        parent.kill()
        parent.wait()
