"""How long work shows its progress: simulated time covered and jobs run, as a bar on a terminal
and as a plain line every tenth of the way otherwise (a log or CI keeps readable lines).

Written to standard error, so what a command prints on standard output (its report, or JSON)
stays the same whether or not anyone watches."""

from __future__ import annotations

import datetime as dt
import sys
from typing import Any, TextIO

import click

from protocol.clock import format_utc

PLAIN_STEPS = 10


class TravelProgress:
    """Hears ``provlab.timetravel.travel_to``'s progress from ``start`` to ``target``."""

    def __init__(
        self, start: dt.datetime, target: dt.datetime, stream: TextIO | None = None
    ) -> None:
        self.start = start
        self.span = max((target - start).total_seconds(), 1.0)
        self.stream = stream if stream is not None else sys.stderr
        self.terminal = self.stream.isatty()
        self._covered = 0
        self._next_step = 1
        self._bar: Any = None
        if self.terminal:
            self._bar = click.progressbar(
                length=int(self.span),
                label="Simulated time",
                file=self.stream,
                show_eta=False,
                show_percent=True,
                item_show_func=lambda text: text,
            )
            self._bar.__enter__()

    def __call__(self, instant: dt.datetime, runs: int) -> None:
        covered = int(min(max((instant - self.start).total_seconds(), 0), self.span))
        if self._bar is not None:
            self._bar.update(covered - self._covered, f"{format_utc(instant)}  {runs} job runs")
        else:
            while covered >= self._next_step * self.span / PLAIN_STEPS:
                percent = 100 * self._next_step // PLAIN_STEPS
                click.echo(
                    f"  {percent:>3}%  {format_utc(instant)}  {runs} job runs", file=self.stream
                )
                self._next_step += 1
        self._covered = covered

    def close(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None
