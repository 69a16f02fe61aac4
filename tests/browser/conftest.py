"""Fixtures of the browser tests: an instance wired to the tests' fake portal, and GitLab.com
beside a Customers Portal, both real servers talking to each other over HTTP."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from portal.gitlab_com.namespaces import link_namespace
from portal.keys import published_keys
from portal.models import Account
from portal.models import db as portal_db
from portal.purchases import buy_duo_pro
from portal.subscriptions import find_subscription
from provlab.liveserver import LiveServer
from provlab.parties import HttpParty
from provlab.timetravel import travel_to
from tests.conftest import SIMULATION_TOKEN
from tests.instance.conftest import add_user, fake_portal, make_wired_instance
from tests.instance.gitlab_com.conftest import group, member
from tests.portal.gitlab_com_pair import introduce_the_portal
from tests.portal.helpers import customer_order, make_account, make_subscription
from webcore.clock import app_clock

__all__ = [
    "BUYER",
    "GitLabCom",
    "ServedInstance",
    "acme_group",
    "fake_portal",
    "gitlab_com",
    "make_wired_instance",
    "served_instance",
]

BUYER = "buyer@example.com"  # the portal customer who buys for the groups


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

    def subscribe(
        self, group_id: int, group_path: str, *, duo: int | None = None, **options: Any
    ) -> str:
        """A subscription of the portal customer BUYER (10 seats unless told), with ``duo``
        GitLab Duo Pro seats bought, linked to the group and pushed to GitLab.com."""
        with self.portal.app_context():
            found = portal_db.session.execute(
                sa.select(Account.id).where(Account.email == BUYER)
            ).scalar_one_or_none()
        customer = found or make_account(self.portal, BUYER)
        options.setdefault("seats", 10)
        name = make_subscription(self.portal, customer, **options)
        if duo is not None:
            with customer_order(self.portal, customer, name) as (terms, card):
                buy_duo_pro(terms, duo, card)
        self.link(name, group_id, group_path)
        return name


def acme_group(gitlab_com: GitLabCom) -> int:
    """Group "Acme" on GitLab.com: its owner Olga, a Developer in its subgroup, a Reporter and
    a Guest; its id."""
    acme = group(gitlab_com.app, "acme")
    group(gitlab_com.app, "platform", "acme")
    for username, name, where, role in (
        ("olga", "Olga Owner", "acme", "owner"),
        ("dev", "Dev Developer", "acme/platform", "developer"),
        ("ann", "Ann Analyst", "acme", "reporter"),
        ("gus", "Gus Guest", "acme", "guest"),
    ):
        add_user(gitlab_com.app, username, name=name)
        member(gitlab_com.app, username, where, role)
    return acme


@dataclass
class ServedInstance:
    """A self-managed instance wired to the tests' fake portal, served over HTTP; its
    administrator is root (named Administrator), with the tests' password."""

    app: Flask
    url: str


@pytest.fixture
def served_instance(
    make_wired_instance: Callable[..., Flask], live_server: Callable[[Flask], LiveServer]
) -> ServedInstance:
    app = make_wired_instance()
    add_user(app, "root", admin=True, name="Administrator")
    return ServedInstance(app, live_server(app).url)


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
    introduce_the_portal(portal, app, server.url, "gloas-browser-tests", BASE_URL=portal_server.url)
    return GitLabCom(portal, portal_server.url, app, server.url)
