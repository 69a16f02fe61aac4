"""Fixtures of the browser tests: an instance wired to the tests' fake portal, and GitLab.com
beside a Customers Portal, both real servers talking to each other over HTTP."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask

from instance.identity import instance_key
from portal.gitlab_com.namespaces import link_namespace
from portal.keys import published_keys
from portal.models import db as portal_db
from portal.subscriptions import find_subscription
from protocol.signing import KeySet
from provlab.liveserver import LiveServer
from provlab.parties import HttpParty
from provlab.timetravel import travel_to
from tests.conftest import SIMULATION_TOKEN
from tests.instance.conftest import fake_portal, make_wired_instance
from webcore.clock import app_clock

__all__ = ["GitLabCom", "fake_portal", "gitlab_com", "make_wired_instance"]


@dataclass
class GitLabCom:
    """GitLab.com and the Customers Portal as two live servers; a browser visits both."""

    portal: Flask
    portal_url: str
    app: Flask
    url: str

    def run_due_jobs(self) -> list[dict[str, Any]]:
        """What is due now on either party (the portal's push of a group's state), run over
        the parties' simulation endpoints in lockstep, as ``provlab clock`` runs them."""
        return self.advance(dt.timedelta(0))

    def advance(self, by: dt.timedelta) -> list[dict[str, Any]]:
        parties = [
            HttpParty("portal", self.portal_url, SIMULATION_TOKEN),
            HttpParty("gitlab_com", self.url, SIMULATION_TOKEN),
        ]
        return travel_to(parties, max(party.now() for party in parties) + by).runs

    def link(self, subscription_name: str, group_id: int, group_path: str) -> None:
        """The subscription linked to the group (as *Change linked namespace* does), and the
        portal's push of it run: GitLab.com holds the group's plan."""
        with self.portal.app_context():
            subscription = find_subscription(subscription_name)
            assert subscription is not None
            link_namespace(subscription, group_id, group_path, app_clock(self.portal).now())
            portal_db.session.commit()
        self.run_due_jobs()


@pytest.fixture
def gitlab_com(
    make_portal: Callable[..., Flask],
    make_instance: Callable[..., Flask],
    live_server: Callable[[Flask], LiveServer],
    monkeypatch: pytest.MonkeyPatch,
) -> GitLabCom:
    """The portal pushes to GitLab.com and GitLab.com asks the portal for trials, each over
    HTTP on loopback with the other's pinned keys, as ``provlab up`` runs them."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    portal = make_portal(GITLAB_COM_TRANSPORT="http")
    portal_server = live_server(portal)
    with portal.app_context():
        portal_keys = json.dumps(published_keys(portal).to_jwks())
    app = make_instance(
        GITLAB_COM=True,
        PORTAL_URL=portal_server.url,
        PORTAL_TRANSPORT="http",
        PORTAL_PUBLIC_KEYS=portal_keys,
    )
    server = live_server(app)
    with app.app_context():
        own_keys = json.dumps(KeySet((instance_key().verifying_key(),)).to_jwks())
    portal.config.update(GITLAB_COM_URL=server.url, GITLAB_COM_PUBLIC_KEYS=own_keys)
    return GitLabCom(portal, portal_server.url, app, server.url)
