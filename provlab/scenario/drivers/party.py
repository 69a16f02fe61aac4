"""What a scenario does with either party the same way: its app, address, browser session,
clock, and its transactions (one unit of work each, or a look that changes nothing)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING

import requests
from flask import Flask
from sqlalchemy.orm import Session

from webcore.clock import app_clock
from webcore.transaction import unit_of_work

if TYPE_CHECKING:
    from provlab.scenario.world import World


class PartyDriver:
    """The shared half of ``PortalDriver`` and ``InstanceDriver``; ``party`` names the app."""

    party: str  # "portal" or "instance", as ``World`` names them

    def __init__(self, world: World) -> None:
        self.world = world

    @property
    def app(self) -> Flask:
        app: Flask = getattr(self.world, self.party)
        return app

    @property
    def url(self) -> str:
        url: str = getattr(self.world, f"{self.party}_url")
        return url

    def browser(self) -> requests.Session:
        """A session of a person's browser to this party (the administrator signs in on the
        instance's)."""
        return self.world.client(self.party)

    def now(self) -> dt.datetime:
        return app_clock(self.app).now()

    def transaction(self) -> AbstractContextManager[Session]:
        """One unit of work: committed when the block ends, rolled back if it raises."""
        return unit_of_work(self.app)

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """Look at the party's state without changing it."""
        with self.app.app_context():
            yield self.app.extensions["sqlalchemy"].session
