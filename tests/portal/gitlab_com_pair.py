"""Fixtures for the portal and GitLab.com together: both apps in one process, wired both ways
(the portal pushes to GitLab.com; GitLab.com asks the portal for trials), one group "acme" with
an owner, a Developer and a Guest."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from instance.gitlab_com.groups import add_member, create_group, role_level
from instance.gitlab_com.oauth import register_application
from instance.identity import instance_key
from instance.models import db as instance_db
from instance.portal_client import SESSION_HOOK as INSTANCE_SESSION_HOOK
from portal.gitlab_com.client import SESSION_HOOK
from portal.gitlab_com.models import NamespaceLink
from portal.gitlab_com.namespaces import buy_namespace_subscription, link_namespace
from portal.gitlab_com.oauth_client import redirect_uri
from portal.keys import published_keys
from portal.models import Account, PaymentMethod, Subscription, db
from portal.subscriptions import find_subscription
from protocol.signing import KeySet
from provlab.parties import InProcessParty
from provlab.timetravel import travel_to
from tests.instance.conftest import add_user
from tests.instance.conftest import sign_in as sign_in_gitlab_com
from tests.portal.helpers import csrf_token
from webcore.clock import app_clock
from webcore.transport import in_process_session

PORTAL_URL = "http://portal-for-gitlab-com.test"
# GitLab.com's trial lead form, completed (in the trial requests' order: ``*TRIAL_FORM.values()``
# follows the requester's email there).
TRIAL_FORM = {
    "first_name": "Olga",
    "last_name": "Owner",
    "company_name": "Acme",
    "country": "DE",
    "company_size": "1-99",
    "phone_number": "+49 30 1234567",
}

GITLAB_COM_URL = "http://gitlab-com.test"
CLIENT_ID, CLIENT_SECRET = "customers-portal", "gloas-test-secret"


def _local(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


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

    def buy_for_acme(self, customer_id: int, plan: str, seats: int, card: int) -> Subscription:
        """The customer buys ``plan`` for the group acme on the card with id ``card``, now
        (``buy_namespace_subscription``); in the caller's portal app context, not committed."""
        buyer = db.session.get(Account, customer_id)
        assert buyer is not None
        return buy_namespace_subscription(
            buyer,
            namespace_id=self.group_id,
            namespace_path="acme",
            plan=plan,
            seats=seats,
            payment_method=db.session.get(PaymentMethod, card),
            now=app_clock(self.portal).now(),
        )

    def link_account(self, portal_client: FlaskClient, username: str = "owner") -> str:
        """Link the signed-in customer's portal account to GitLab.com user ``username`` the way
        a browser does: the portal's button, GitLab.com's sign-in and *Authorize*, the callback.
        Returns the page the callback sends the customer to."""
        start = portal_client.post(
            "/customers/auth/gitlab",
            data={"csrf_token": csrf_token(portal_client, "/subscriptions?tab=gitlab_saas")},
        )
        assert start.status_code == 302 and start.location.startswith(GITLAB_COM_URL)
        browser = self.gitlab_com.test_client()
        sign_in_gitlab_com(browser, username)
        authorized = browser.get(_local(start.location))
        if authorized.status_code == 200:  # the consent page (not shown when authorized before)
            form = authorized.get_data(as_text=True).split('action="/oauth/authorize"', 1)[1]
            fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', form.split("</form>")[0]))
            authorized = browser.post("/oauth/authorize", data=fields)
        assert authorized.status_code == 302, authorized.get_data(as_text=True)
        back = portal_client.get(_local(authorized.location))
        assert back.status_code == 302, back.get_data(as_text=True)
        return str(back.location)

    def link_row(self, name: str) -> NamespaceLink:
        with self.portal.app_context():
            row = db.session.execute(
                sa.select(NamespaceLink)
                .join(Subscription, Subscription.id == NamespaceLink.subscription_id)
                .where(Subscription.name == name)
            ).scalar_one()
            db.session.expunge(row)
            return row


def introduce_the_portal(
    portal: Flask, gitlab_com: Flask, gitlab_com_url: str, secret: str, **portal_config: str
) -> None:
    """Wire the portal to GitLab.com as `provlab up` does: GitLab.com's address and public keys in
    the portal's config, and the portal's OAuth application registered on GitLab.com."""
    with gitlab_com.app_context():
        own_keys = json.dumps(KeySet((instance_key().verifying_key(),)).to_jwks())
    portal.config.update(
        GITLAB_COM_URL=gitlab_com_url,
        GITLAB_COM_PUBLIC_KEYS=own_keys,
        GITLAB_COM_CLIENT_ID=CLIENT_ID,
        GITLAB_COM_CLIENT_SECRET=secret,
        **portal_config,
    )
    with gitlab_com.app_context():
        # Registered with its callback, which the portal's config (BASE_URL) decides.
        register_application(
            "Customers Portal",
            redirect_uri(portal),
            ("api", "read_user"),
            app_clock(gitlab_com).now(),
            uid=CLIENT_ID,
            secret=secret,
        )
        instance_db.session.commit()


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
    introduce_the_portal(portal, gitlab_com, GITLAB_COM_URL, CLIENT_SECRET)
    portal.extensions[SESSION_HOOK] = in_process_session(gitlab_com, GITLAB_COM_URL)
    return Pair(portal, gitlab_com, group_id)
