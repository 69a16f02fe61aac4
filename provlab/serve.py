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
from webcore.jobs import Worker


def build(app_name: str) -> Flask:
    if app_name == "portal":
        from portal import create_app
        from portal.setup import prepare
    elif app_name == "instance":
        from instance import create_app
        from instance.setup import prepare  # type: ignore[assignment]
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
        waitress.serve(app, host=args.host, port=args.port, threads=args.threads, ident=args.app)
    except KeyboardInterrupt:
        pass
    finally:
        if worker is not None:
            worker.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
