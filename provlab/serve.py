"""Serve one app with a production WSGI server (waitress): ``python -m provlab.serve portal``.

The app is configured from the environment (``PORTAL_*`` / ``INSTANCE_*``), prepared (database at
head, keys, periodic jobs), and on real time its job worker runs in a background thread.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from types import FrameType

import waitress
from flask import Flask

from provlab.faults import wire_fault_injection
from webcore.clock import is_simulated
from webcore.job_worker import Worker

# Waitress's limits on connections, for both apps (`provlab up`, live servers, benchmarks).
# Waitress stops *accepting* once `connection_limit` connections are open, and by default (100)
# keeps an idle keep-alive connection for 120 s: a benchmark client or a few browser tabs
# (each holds up to 6 idle connections per origin) could silence a server for two minutes.
# - connection_limit 500: five times the default, and still well under the 1024 descriptors
#   that waitress's select() loop (and a common `ulimit -n`) can watch, with room left for the
#   database, logs and keys.
# - channel_timeout 30 s: an idle connection is closed after 30 s without traffic (a browser
#   reuses its connections within seconds, so nothing is lost); waitress only ever closes a
#   connection with no request in progress, so a slow request (a sync waiting on the portal)
#   is never cut.
# - cleanup_interval 10 s: how often waitress looks for idle connections, so one is gone
#   within 40 s at most.
SERVER_LIMITS: dict[str, int] = {
    "connection_limit": 500,
    "channel_timeout": 30,
    "cleanup_interval": 10,
}


def build(app_name: str) -> Flask:
    if app_name == "portal":
        from portal import create_app
        from portal.setup import prepare
    elif app_name == "instance":
        from instance import create_app
        from instance.setup import prepare
    else:
        raise SystemExit(f"unknown app {app_name!r}: use portal or instance")
    app = create_app()
    prepare(app)
    return app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("app", choices=["portal", "instance"])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format=f"[{args.app}] %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    app = build(args.app)
    if app.config.get("SIMULATION_TOKEN"):
        # Started by `provlab up`: `provlab fault` may switch faults on and off.
        wire_fault_injection(app, args.app)

    worker = None
    if not is_simulated(app) and app.config.get("RUN_WORKER"):
        worker = Worker(app, app.extensions["jobs"])
        worker.start()

    def _stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    try:
        waitress.serve(
            app,
            host=args.host,
            port=args.port,
            threads=args.threads,
            ident=args.app,
            **SERVER_LIMITS,
        )
    except KeyboardInterrupt:
        pass
    finally:
        if worker is not None:
            worker.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
