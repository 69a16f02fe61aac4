"""Measure how long the instance's ``/-/health`` takes while a sync waits for a slow portal.

    .venv/bin/python scripts/measure_sync_stall.py [--delay 3] [--backend sqlite]

A real instance server (waitress, SQLite in a temporary folder) talks over real loopback HTTP to
the instance tests' fake portal, which answers the Seat Link call after ``--delay`` seconds. While
the sync runs as *Synchronize subscription* does, a client polls ``/-/health`` one request after
the other; the script prints the response times seen, and the same without a sync as a baseline.
It measures, it asserts nothing (issue 9: the note lists these numbers).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from provlab.liveserver import LiveServer  # noqa: E402
from tests.instance.fake_portal import FakePortal  # noqa: E402

CODE = "Abcdefghijklmnopqrstuvw1"


class SlowSeatLinks:
    def __init__(self, inner: Any, delay: float) -> None:
        self.inner, self.delay = inner, delay

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if environ["PATH_INFO"] == "/api/v1/seat_links":
            time.sleep(self.delay)
        return self.inner(environ, start_response)


def health_times(url: str, until: threading.Event, at_least: int) -> list[float]:
    session = requests.Session()
    session.trust_env = False
    times: list[float] = []
    while not until.is_set() or len(times) < at_least:
        started = time.perf_counter()
        session.get(f"{url}/-/health", timeout=60).raise_for_status()
        times.append(time.perf_counter() - started)
    return times


def summary(label: str, times: list[float]) -> str:
    return (
        f"{label}: {len(times)} requests, median {statistics.median(times) * 1000:.1f} ms, "
        f"max {max(times) * 1000:.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--delay", type=float, default=3.0)
    args = parser.parse_args()

    from instance import create_app
    from instance.setup import prepare
    from instance.sync import activate, synchronize
    from webcore.clock import app_clock
    from webcore.transaction import unit_of_work

    portal = FakePortal()
    portal_server = LiveServer(SlowSeatLinks(portal.app, args.delay)).start()
    folder = Path(tempfile.mkdtemp(prefix="sync-stall-"))
    app = create_app(
        {
            "INSTANCE_PATH": str(folder),
            "DATABASE_URL": f"sqlite:///{folder / 'instance.db'}",
            "CLOCK": "real",
            "PORTAL_URL": portal_server.url,
            "PORTAL_TRANSPORT": "http",
            "PORTAL_PUBLIC_KEYS": portal.jwks,
            "SECRET_KEY": "measure",
        },
        environ={},
    )
    prepare(app)
    portal.clock = app_clock(app)
    portal.add_subscription(CODE)
    with unit_of_work(app):
        activate(app, CODE, app_clock(app).now())
    instance_server = LiveServer(app).start()
    try:
        idle = threading.Event()
        idle.set()
        baseline = health_times(instance_server.url, idle, at_least=20)

        synced = threading.Event()

        def sync() -> None:
            with unit_of_work(app):
                synchronize(app, app_clock(app).now())
            synced.set()

        threading.Thread(target=sync, daemon=True).start()
        time.sleep(0.2)  # let the sync reach the portal before probing
        during = health_times(instance_server.url, synced, at_least=1)
        print(f"portal delay {args.delay:.1f} s")
        print(summary("baseline, no sync", baseline))
        print(summary("during the sync", during))
    finally:
        instance_server.stop()
        portal_server.stop()


if __name__ == "__main__":
    main()
