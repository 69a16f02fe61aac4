"""Both parties of a scenario, on simulated time, over one of two transports.

- ``inprocess``: both apps in this process; the instance reaches the portal through an in-process
  requests adapter and the orchestrator moves clocks by calling the apps directly. Fast.
- ``http``: both apps served by real HTTP servers (waitress) on loopback; the instance reaches the
  portal over a real socket and the orchestrator uses the simulation endpoints.

Either way the scenario's steps act on the apps as their users do, and every event (steps, job
runs, calls between the parties) goes on one timeline.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import secrets
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from flask import Flask

from instance import create_app as create_instance_app
from instance.gitlab_com.oauth import register_application
from instance.identity import identity, load_instance_key, next_sync_slot
from instance.setup import prepare as prepare_instance
from portal import create_app as create_portal_app
from portal.gitlab_com.oauth_client import redirect_uri
from portal.keys import published_keys
from portal.setup import prepare as prepare_portal
from protocol.clock import format_utc, parse_utc
from protocol.signing import KeySet
from provlab.faults import FaultState
from provlab.faults import install as install_faults
from provlab.liveserver import LiveServer
from provlab.parties import HttpParty, InProcessParty, SkewedParty
from provlab.scenario.drivers import GitLabComDriver, InstanceDriver, PortalDriver
from provlab.timetravel import Party, travel_to
from webcore.clock import app_clock
from webcore.transaction import unit_of_work
from webcore.transport import in_process_session

TRANSPORTS = ("inprocess", "http")
SIMULATION_TOKEN = "scenario-simulation-token"
IN_PROCESS_PORTAL_URL = "http://portal.provlab.invalid"
IN_PROCESS_GITLAB_COM_URL = "http://gitlab-com.provlab.invalid"


@dataclass(frozen=True)
class Event:
    at: dt.datetime
    party: str
    kind: str
    text: str
    step_index: int | None

    def render(self) -> str:
        return f"{format_utc(self.at)}  {self.party:<9} {self.kind:<8} {self.text}"


@dataclass
class Timeline:
    events: list[Event] = field(default_factory=list)
    step_index: int | None = None

    def add(self, at: dt.datetime, party: str, kind: str, text: str) -> None:
        self.events.append(Event(at, party, kind, text, self.step_index))

    def around(self, step_index: int, before: int = 2) -> list[Event]:
        """Events of the steps ``before`` steps ahead of ``step_index`` up to it, and setup's."""
        first = max(0, step_index - before)
        chosen = [
            e for e in self.events if e.step_index is None or first <= e.step_index <= step_index
        ]
        return sorted(chosen, key=lambda event: event.at)  # stable: a call stays before its job


class World:
    """A portal and an instance for one scenario run, and the clock that moves them."""

    def __init__(
        self,
        transport: str,
        start: dt.datetime,
        seed: int,
        folder: Path | None = None,
        extend_portal: Callable[[Flask], None] | None = None,
    ) -> None:
        if transport not in TRANSPORTS:
            raise ValueError(f"transport must be one of {', '.join(TRANSPORTS)}")
        self.transport = transport
        self.random = random.Random(seed)
        self.timeline = Timeline()
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if folder is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="provlab-scenario-")
            folder = Path(self._tmp.name)
        self.folder = folder
        self._servers: list[LiveServer] = []
        self._clients: dict[str, requests.Session] = {}
        self.faults = FaultState()
        self.gitlab_com_faults = FaultState()  # on the portal's pushes to GitLab.com
        self.last_sync_answer: dict[str, Any] | None = None
        self.last_verdict: Any = None
        self.last_admin_page = ""
        self.portal = self._build_portal(start)
        if extend_portal is not None:  # e.g. a benchmark's baseline endpoint, before serving
            extend_portal(self.portal)
        self.portal_url = IN_PROCESS_PORTAL_URL
        if transport == "http":
            server = LiveServer(self.portal, threads=4).start()
            self._servers.append(server)
            self.portal_url = server.url
        self.instance = self._build_instance(start)
        if transport == "http":
            server = LiveServer(self.instance, threads=4).start()
            self._servers.append(server)
            self.instance_url = server.url
            self.parties: list[Party] = [
                HttpParty("portal", self.portal_url, SIMULATION_TOKEN),
                HttpParty("instance", server.url, SIMULATION_TOKEN),
            ]
        else:
            self.instance_url = "http://instance.provlab.invalid"
            self.parties = [InProcessParty(self.portal), InProcessParty(self.instance)]
        self.portal_driver = PortalDriver(self)
        self.instance_driver = InstanceDriver(self)
        # GitLab.com, the third party: built when a scenario's first GitLab.com step needs it.
        self._gitlab_com: Flask | None = None
        self.gitlab_com_url = IN_PROCESS_GITLAB_COM_URL
        self.gitlab_com_driver = GitLabComDriver(self)

    # -- building the parties -----------------------------------------------------------------------

    def _config(self, name: str, start: dt.datetime) -> dict[str, Any]:
        return {
            "INSTANCE_PATH": str(self.folder / name),
            "CLOCK": "simulated",
            "SIMULATED_START": format_utc(start),
            "SIMULATION_TOKEN": SIMULATION_TOKEN,
            # Scenario accounts are throwaway: a cheap hash keeps a run fast.
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        }

    def _build_portal(self, start: dt.datetime) -> Flask:
        app = create_portal_app(self._config("portal", start), environ={})
        prepare_portal(app)
        return app

    def _build_instance(self, start: dt.datetime) -> Flask:
        config = self._config("instance", start)
        config["PORTAL_PUBLIC_KEYS"] = json.dumps(published_keys(self.portal).to_jwks())
        config["PORTAL_URL"] = self.portal_url
        config["PORTAL_TRANSPORT"] = "http" if self.transport == "http" else "inprocess"
        app = create_instance_app(config, environ={})
        if self.transport == "inprocess":
            session = in_process_session(self.portal, self.portal_url)
        else:
            session = requests.Session()
            session.trust_env = False
        session.hooks["response"].append(self._record_call)
        install_faults(session, self.faults)
        self.instance_session = session
        app.extensions["instance.portal_session"] = session
        prepare_instance(app)
        self._fix_sync_slot(app)
        return app

    @property
    def gitlab_com(self) -> Flask:
        """The instance app in GitLab.com mode, wired both ways with the portal: it pins the
        portal's keys (pushes), the portal pins its key (answers) and pushes to it."""
        if self._gitlab_com is None:
            self._gitlab_com = self._build_gitlab_com()
        return self._gitlab_com

    def _build_gitlab_com(self) -> Flask:
        config = self._config("gitlab_com", self.now())
        config["GITLAB_COM"] = True
        config["PORTAL_PUBLIC_KEYS"] = json.dumps(published_keys(self.portal).to_jwks())
        config["PORTAL_URL"] = self.portal_url
        config["PORTAL_TRANSPORT"] = "http" if self.transport == "http" else "inprocess"
        app = create_instance_app(config, environ={})
        if self.transport == "inprocess":  # its calls to the portal (a group owner's trial)
            app.extensions["instance.portal_session"] = in_process_session(
                self.portal, self.portal_url
            )
        prepare_instance(app)
        keys = KeySet((load_instance_key(app).verifying_key(),))
        if self.transport == "http":
            server = LiveServer(app, threads=4).start()
            self._servers.append(server)
            self.gitlab_com_url = server.url
            session = requests.Session()
            session.trust_env = False
            self.parties.append(HttpParty("gitlab_com", server.url, SIMULATION_TOKEN))
        else:
            session = in_process_session(app, self.gitlab_com_url)
            self.parties.append(InProcessParty(app))
        self.portal.config["GITLAB_COM_URL"] = self.gitlab_com_url
        self.portal.config["GITLAB_COM_PUBLIC_KEYS"] = json.dumps(keys.to_jwks())
        self._register_portal_application(app)
        install_faults(session, self.gitlab_com_faults)
        self.portal.extensions["portal.gitlab_com_session"] = session
        self.timeline.add(self.now(), "scenario", "party", f"GitLab.com at {self.gitlab_com_url}")
        return app

    def _register_portal_application(self, gitlab_com: Flask) -> None:
        """The portal's OAuth application on GitLab.com (customers link their GitLab.com
        account with it), configured on both parties as ``provlab up`` does."""
        client_id, secret = "customers-portal", "gloas-" + secrets.token_hex(32)
        with unit_of_work(gitlab_com):
            register_application(
                "Customers Portal",
                redirect_uri(self.portal),
                ("api", "read_user"),
                self.now(),
                uid=client_id,
                secret=secret,
            )
        self.portal.config["GITLAB_COM_CLIENT_ID"] = client_id
        self.portal.config["GITLAB_COM_CLIENT_SECRET"] = secret

    def _fix_sync_slot(self, app: Flask) -> None:
        # The real sync minute is random per instance; a scenario's seed fixes it.
        with unit_of_work(app):
            found = identity()
            found.sync_minute = self.random.randrange(120)
            now = self.now()
            app.extensions["jobs"].schedule("daily_sync", next_sync_slot(found.sync_minute, now))

    def _record_call(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        request = response.request
        path = (request.path_url or "").split("?")[0]
        self.timeline.add(
            self.now(), "instance", "call", f"{request.method} {path} → {response.status_code}"
        )

    # -- people's HTTP clients ------------------------------------------------------------------------

    def client(self, name: str) -> requests.Session:
        """A browser-like session to one party (cookies kept), over the world's transport."""
        if name not in self._clients:
            # GitLab.com is built only when asked for: a third party adds its jobs to every day.
            if name == "portal":
                app, url = self.portal, self.portal_url
            elif name == "instance":
                app, url = self.instance, self.instance_url
            else:
                app = self.gitlab_com  # builds it, and with it its URL
                url = self.gitlab_com_url
            if self.transport == "inprocess":
                session = in_process_session(app, url)
            else:
                session = requests.Session()
                session.trust_env = False
            self._clients[name] = session
        return self._clients[name]

    def admin_client(self) -> requests.Session:
        """The instance administrator's signed-in session (the instance driver signs in)."""
        return self.instance_driver.admin()

    # -- faults that are not on the wire --------------------------------------------------------------

    def set_proxy(self, url: str) -> None:
        """A proxy setting for the instance's outbound calls (R16)."""
        self.instance_session.proxies.update({"http": url, "https": url})
        if self.transport == "inprocess":
            # No socket is opened in-process: a proxy that cannot be reached is simulated.
            self.faults.set("proxy")

    def clear_proxy(self) -> None:
        self.instance_session.proxies.clear()
        self.faults.clear("proxy")

    def skew_instance(self, offset: dt.timedelta) -> None:
        """Run the instance's clock ``offset`` ahead of the portal's from now on; a zero offset
        ends the skew (the portal's clock catches up: clocks never move backwards)."""
        base = (
            self.parties[1].inner if isinstance(self.parties[1], SkewedParty) else self.parties[1]
        )
        if offset:
            self.parties = [self.parties[0], SkewedParty(base, offset), *self.parties[2:]]
            base.run_due(max(self.now() + offset, base.now()))
            self.timeline.add(self.now(), "scenario", "fault", f"instance clock {offset} ahead")
        else:
            self.parties = [self.parties[0], base, *self.parties[2:]]
            self.travel_to(base.now())
            self.timeline.add(self.now(), "scenario", "fault", "clock skew ended")

    # -- time ---------------------------------------------------------------------------------------

    def now(self) -> dt.datetime:
        return app_clock(self.portal).now()

    def travel_to(self, target: dt.datetime) -> None:
        journey = travel_to(self.parties, target)
        for run in journey.runs:
            error = f" ({run['error']})" if run.get("error") else ""
            self.timeline.add(
                parse_utc(run["ran_at"]),
                run["app"],
                "job",
                f"{run['name']} {run['outcome']}{error}",
            )

    # -- cleanup ------------------------------------------------------------------------------------

    def close(self) -> None:
        for session in (*self._clients.values(), self.instance_session):
            session.close()
        for party in self.parties:
            inner = getattr(party, "inner", party)
            if isinstance(inner, HttpParty):
                inner.close()
        for server in self._servers:
            server.stop()
        for app in (self.portal, self.instance, self._gitlab_com):
            if app is None:
                continue
            with app.app_context():
                app.extensions["sqlalchemy"].session.remove()
                app.extensions["sqlalchemy"].engine.dispose()
        if self._tmp is not None:
            self._tmp.cleanup()
