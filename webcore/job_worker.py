"""The real-time job worker: polls the job table and runs what is due (``provlab serve``, the
portal's ``jobs`` process). Several workers may run against one database; the claim in
``webcore.jobs`` keeps each job to one of them."""

from __future__ import annotations

import logging
import threading

from flask import Flask

from webcore.job_declarations import JobRun
from webcore.jobs import JobScheduler

log = logging.getLogger(__name__)


class Worker:
    """Runs due jobs in real time, polling; several workers may run against one database."""

    def __init__(self, app: Flask, scheduler: JobScheduler, poll_seconds: float = 1.0) -> None:
        self.app = app
        self.scheduler = scheduler
        self.poll_seconds = poll_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> list[JobRun]:
        with self.app.app_context():
            return self.scheduler.run_due(self.scheduler._clock().now())

    def run_forever(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:  # keep the worker alive across a database hiccup
                log.exception("%s worker loop failed; retrying", self.scheduler.app_name)
            self._stop.wait(self.poll_seconds)

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self.run_forever, name=f"{self.scheduler.app_name}-worker", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
