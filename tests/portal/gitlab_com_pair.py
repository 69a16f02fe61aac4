"""Fixtures for the portal and GitLab.com together: both apps in one process, wired both ways
(the portal pushes to GitLab.com; GitLab.com asks the portal for trials), one group "acme" with
an owner, a Developer and a Guest."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from flask import Flask

from instance.gitlab_com.groups import add_member, create_group, role_level
from instance.identity import instance_key
from instance.models import db as instance_db
from instance.portal_client import SESSION_HOOK as INSTANCE_SESSION_HOOK
from portal.gitlab_com.client import SESSION_HOOK
from portal.gitlab_com.models import NamespaceLink
from portal.gitlab_com.namespaces import link_namespace
from portal.keys import published_keys
from portal.models import Subscription, db
from portal.subscriptions import find_subscription
from protocol.signing import KeySet
from provlab.parties import InProcessParty
from provlab.timetravel import travel_to
from tests.instance.conftest import add_user
from webcore.clock import app_clock
from webcore.transport import in_process_session

PORTAL_URL = "http://portal-for-gitlab-com.test"

GITLAB_COM_URL = "http://gitlab-com.test"


@dataclass
class Pair:
    portal: Flask
    gitlab_com: Flask
    group_id: int

    def run_jobs(self, minutes: int = 1) -> list[dict[str, object]]:
        target = app_clock(self.portal).now() + dt.timedelta(minutes=minutes)
        parties = [InProcessParty(self.portal), InProcessParty(self.gitlab_com)]
        return travel_to(parties, target).runs

    def link(self, name: str, namespace_id: int | None = None) -> None:
        with self.portal.app_context():
            subscription = find_subscription(name)
            assert subscription is not None
            link_namespace(
                subscription, namespace_id or self.group_id, "acme", app_clock(self.portal).now()
            )
            db.session.commit()

    def link_row(self, name: str) -> NamespaceLink:
        with self.portal.app_context():
            row = db.session.execute(
                sa.select(NamespaceLink)
                .join(Subscription, Subscription.id == NamespaceLink.subscription_id)
                .where(Subscription.name == name)
            ).scalar_one()
            db.session.expunge(row)
            return row


@pytest.fixture
def pair(make_portal: Callable[..., Flask], make_instance: Callable[..., Flask]) -> Pair:
    portal = make_portal()
    with portal.app_context():
        portal_keys = json.dumps(published_keys(portal).to_jwks())
    gitlab_com = make_instance(
        GITLAB_COM=True,
        PORTAL_PUBLIC_KEYS=portal_keys,
        PORTAL_URL=PORTAL_URL,
        PORTAL_TRANSPORT="inprocess",
    )
    gitlab_com.extensions[INSTANCE_SESSION_HOOK] = in_process_session(portal, PORTAL_URL)
    with gitlab_com.app_context():
        own_keys = json.dumps(KeySet((instance_key().verifying_key(),)).to_jwks())
        group = create_group("Acme", "acme", app_clock(gitlab_com).now())
        instance_db.session.commit()
        group_id = group.id
    for username in ("owner", "dev", "guest"):
        add_user(gitlab_com, username)
    with gitlab_com.app_context():
        from instance.models import User

        for username, role in (("owner", "owner"), ("dev", "developer"), ("guest", "guest")):
            user = instance_db.session.execute(
                sa.select(User).where(User.username == username)
            ).scalar_one()
            add_member(group, user, role_level(role), app_clock(gitlab_com).now())
        instance_db.session.commit()
    portal.config.update(GITLAB_COM_URL=GITLAB_COM_URL, GITLAB_COM_PUBLIC_KEYS=own_keys)
    portal.extensions[SESSION_HOOK] = in_process_session(gitlab_com, GITLAB_COM_URL)
    return Pair(portal, gitlab_com, group_id)
