"""The two ways the orchestrator reaches an app: its HTTP simulation endpoints, or in-process."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
import urllib3
from flask import Flask

from protocol.clock import SimulatedClock, format_utc, parse_utc
from provlab.timetravel import Party
from webcore.clock import app_clock
from webcore.transport import calls_out


class PartyError(Exception):
    """An app refused or failed a simulation request."""


class HttpParty:
    """An app served by ``provlab up`` on simulated time.

    It remembers the app's clock and earliest due job as the app's last answer gave them, and
    answers from that memory until told to forget it (``forget_next_due``): only the
    orchestrator knows when something else may have changed the app's jobs."""

    def __init__(self, name: str, base_url: str, token: str, timeout: float = 120.0) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        # One kept-alive connection straight to the app: urllib3 never reads the environment's
        # proxy settings (loopback: never through a proxy), and no retries, as requests does
        # by default: a run-due sent twice could run a job twice.
        self._pool = urllib3.connection_from_url(
            self.base_url,
            maxsize=1,
            timeout=timeout,
            retries=urllib3.Retry(total=0, read=False, redirect=False),
        )
        self._headers = {"Authorization": f"Bearer {token}"}
        self._json_headers = {**self._headers, "Content-Type": "application/json"}
        self._prefix = f"{urlsplit(self.base_url).path}/-/simulation/"
        # The app's clock as its last answer gave it: the clock moves only through this
        # party's calls while it drives the app, so time travel needn't ask again (one round
        # trip fewer per party and instant).
        self._now: dt.datetime | None = None
        # The earliest due job as the last answer gave it, while ``_due_known``.
        self._due: dt.datetime | None = None
        self._due_known = False
        # Whether the last run-due said the app called another party (unsaid: it may have).
        self._called_out = True

    def close(self) -> None:
        self._pool.close()

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        try:
            response = self._pool.urlopen(
                method,
                self._prefix + path,
                body=None if body is None else json.dumps(body).encode(),
                headers=self._headers if body is None else self._json_headers,
                redirect=False,
            )
        except urllib3.exceptions.HTTPError as exc:
            reason = getattr(exc, "reason", None) or exc  # why the one try failed
            raise PartyError(f"{self.name} at {self.base_url} is unreachable: {reason}") from None
        answer = (
            json.loads(response.data)
            if response.headers.get("Content-Type", "").startswith("application/json")
            else {}
        )
        if response.status != 200:
            raise PartyError(f"{self.name}: {answer.get('error') or response.status}")
        return answer

    def now(self) -> dt.datetime:
        if self._now is None:
            self.next_due()
        assert self._now is not None
        return self._now

    def next_due(self) -> dt.datetime | None:
        if not self._due_known:
            self._remember(self._call("GET", "next-job"))
        return self._due

    def forget_next_due(self) -> None:
        self._due_known = False

    def run_due(self, at: dt.datetime) -> list[dict[str, Any]]:
        # Unknown until answered (a refusal too).
        self._now, self._due_known, self._called_out = None, False, True
        answer = self._call("POST", "run-due", {"at": format_utc(at)})
        self._remember(answer)
        # An app that does not say (an older one) may have called anyone: as if it had.
        self._called_out = answer.get("called_out") is not False
        return list(answer["ran"])

    def called_out(self) -> bool:
        return self._called_out

    def move_clock(self, at: dt.datetime) -> None:
        if self._now is not None and self._now >= at:
            return  # already there: nothing is due by then, so the call would change nothing
        self.run_due(at)  # over HTTP it is the same call: nothing is due, so nothing runs

    def _remember(self, answer: dict[str, Any]) -> None:
        self._now = parse_utc(answer["now"])
        # The app's jobs as they were when it answered: good until the orchestrator says another
        # party ran (see ``Party.forget_next_due``). An app that does not say stays unknown.
        self._due_known = "next_run_at" in answer
        if self._due_known:
            self._due = parse_utc(answer["next_run_at"]) if answer["next_run_at"] else None


class JobTableWatch:
    """Counts the commits that changed an app's jobs table (any code path, any session), so an
    orchestrator can keep the earliest due time it last read until the table changes: time
    travel then pays nothing per instant for a party with nothing to do."""

    def __init__(self, engine: sa.Engine, table: sa.Table) -> None:
        self.changes = 0
        self._table = table
        self._pending = ("jobs written", id(self))  # this watch's mark on a connection
        sa.event.listen(engine, "after_cursor_execute", self._note)
        sa.event.listen(engine, "commit", self._committed)
        sa.event.listen(engine, "rollback", self._rolled_back)

    def _note(
        self, conn: Any, _cursor: Any, _statement: str, _params: Any, context: Any, *_: Any
    ) -> None:
        if context is None or not (context.isinsert or context.isupdate or context.isdelete):
            return
        table = getattr(getattr(context.compiled, "statement", None), "table", None)
        # A write we cannot attribute (text SQL) counts as a change: a re-read costs little.
        if table is None or table is self._table:
            conn.info[self._pending] = True

    def _committed(self, conn: Any) -> None:
        # Counted when the change is visible to other connections, never before.
        if conn.info.pop(self._pending, False):
            self.changes += 1

    def _rolled_back(self, conn: Any) -> None:
        conn.info.pop(self._pending, None)


class InProcessParty:
    """An app in this process (tests, in-process scenarios): no HTTP, same semantics."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.name = app.name
        clock = app_clock(app)
        if not isinstance(clock, SimulatedClock):
            raise PartyError(f"{self.name} is not on simulated time")
        self.clock = clock
        if "jobs_watch" not in app.extensions:  # one per app, however many parties wrap it
            with app.app_context():
                scheduler = app.extensions["jobs"]
                app.extensions["jobs_watch"] = JobTableWatch(
                    scheduler.db.engine, scheduler.model.__table__
                )
        self._watch: JobTableWatch = app.extensions["jobs_watch"]
        self._known: tuple[int, dt.datetime | None] | None = None  # (changes seen, earliest due)
        # Whether the last run called another party: told truly, as over HTTP, though this
        # party's own memory needs no forgetting (the watch sees every change).
        self._called_out = True

    def now(self) -> dt.datetime:
        return self.clock.now()

    def next_due(self) -> dt.datetime | None:
        # Unchanged jobs table, unchanged answer: an idle party costs no query per instant.
        if self._known is not None and self._known[0] == self._watch.changes:
            return self._known[1]
        changes = self._watch.changes
        with self.app.app_context():
            due = self.app.extensions["jobs"].earliest_due()
        self._known = (changes, due)
        return due

    def forget_next_due(self) -> None:
        pass  # nothing to forget: the watch sees every committed change to the jobs, from anyone

    def run_due(self, at: dt.datetime) -> list[dict[str, Any]]:
        self.clock.set(at)
        scheduler = self.app.extensions["jobs"]
        calls_before = calls_out(self.app)
        with self.app.app_context():
            runs = [run.to_dict() for run in scheduler.run_due(at)]
        self._called_out = calls_out(self.app) != calls_before
        if scheduler.due_after_run is not None:
            # Read in the run's last transaction, whose commit the watch has counted: the next
            # ``next_due`` needs no query of its own (this party is driven by one thread).
            self._known = (self._watch.changes, scheduler.due_after_run.at)
        return runs

    def called_out(self) -> bool:
        return self._called_out

    def move_clock(self, at: dt.datetime) -> None:
        self.clock.set(at)


class SkewedParty:
    """A party whose clock runs ``offset`` ahead of the orchestrator's common time."""

    def __init__(self, inner: Party, offset: dt.timedelta) -> None:
        self.inner = inner
        self.offset = offset
        self.name = inner.name

    def now(self) -> dt.datetime:
        return self.inner.now() - self.offset

    def next_due(self) -> dt.datetime | None:
        due = self.inner.next_due()
        return due - self.offset if due is not None else None

    def forget_next_due(self) -> None:
        self.inner.forget_next_due()

    def run_due(self, at: dt.datetime) -> list[dict[str, Any]]:
        return self.inner.run_due(max(at + self.offset, self.inner.now()))

    def called_out(self) -> bool:
        return self.inner.called_out()

    def move_clock(self, at: dt.datetime) -> None:
        self.inner.move_clock(max(at + self.offset, self.inner.now()))
