"""A fleet of self-managed instances against one portal: their subscriptions on the portal, and
lightweight instances that speak the real protocol.

``provlab up --instances N`` runs N real instance servers; ``provlab bench fleet`` drives hundreds
or thousands of ``FleetInstance``s instead: each has its own Ed25519 key and instance id, is
activated with its own subscription's code (R8) and sends real signed Seat Link syncs over HTTP
(R13, R32), verifying the portal's signed answer and the license in it against the pinned keys,
as an instance does. What it leaves out is the instance's own database: its report is what an
instance with ``users`` billable users and no add-on would send.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import requests
import sqlalchemy as sa
from flask import Flask

from instance.portal_client import PortalClient
from protocol.clock import Clock
from protocol.license import LicenseType, verify_license
from protocol.messages import ActivationRequest, DailyUsage, SyncRequest
from protocol.signing import KeySet, SigningKey

FLEET_CUSTOMER_EMAIL = "fleet@example.com"
FLEET_CUSTOMER_PASSWORD = "fleet-demo-password"
FLEET_GITLAB_VERSION = "17.5.0-ee"


@dataclass(frozen=True)
class FleetSubscription:
    name: str
    activation_code: str


def create_fleet_subscriptions(
    app: Flask,
    count: int,
    *,
    customer_email: str = FLEET_CUSTOMER_EMAIL,
    seats: int = 10,
) -> list[FleetSubscription]:
    """One premium online-cloud subscription per instance of a fleet of ``count``, each with its
    activation code, owned by ``customer_email`` (a customer account, created if missing).
    Instance k's subscription is the customer's one for company "Fleet k": a fleet started
    again on the same database finds its subscriptions (its instances are activated on them)."""
    from portal.licensing import ensure_activation_code
    from portal.models import Account, Role, Subscription, db
    from portal.setup import create_account
    from portal.subscriptions import create_subscription
    from webcore.clock import app_clock
    from webcore.transaction import unit_of_work

    with unit_of_work(app):
        customer = db.find(Account, Account.email == customer_email)
        if customer is None:
            customer = create_account(
                customer_email, "Fleet Operator", FLEET_CUSTOMER_PASSWORD, Role.CUSTOMER, app
            )
        existing = {
            subscription.contact_company: subscription
            for subscription in db.session.execute(
                sa.select(Subscription)
                .where(Subscription.customer_id == customer.id)
                .order_by(Subscription.id)
            ).scalars()
        }
        now = app_clock(app).now()
        fleet = []
        for number in range(1, count + 1):
            company = f"Fleet {number}"
            subscription = existing.get(company) or create_subscription(
                customer,
                plan="premium",
                seats=seats,
                starts_on=now.date(),
                now=now,
                contact_company=company,
                contact_country="DE",
            )
            fleet.append(FleetSubscription(subscription.name, ensure_activation_code(subscription)))
        return fleet


@dataclass
class FleetInstance:
    """One lightweight self-managed instance: its own key and id, a license once activated."""

    number: int
    users: int = 5
    key: SigningKey = field(default_factory=SigningKey.generate)
    instance_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    license_id: str | None = None
    subscription_name: str | None = None
    syncs: int = 0

    @property
    def hostname(self) -> str:
        return f"gitlab-{self.number}.fleet.test"

    @contextlib.contextmanager
    def _client(self, portal_url: str, keys: KeySet, clock: Clock) -> Iterator[PortalClient]:
        # A connection of its own, closed after the call: each instance of a fleet calls from its
        # own host once a day, so no connection is reused across instances.
        session = requests.Session()
        session.trust_env = False
        session.headers["Connection"] = "close"
        try:
            yield PortalClient(session, portal_url.rstrip("/"), keys, clock, self.key)
        finally:
            session.close()

    def activate(self, portal_url: str, keys: KeySet, clock: Clock, code: str) -> None:
        """Activate with ``code`` (R8); raises ``PortalError`` when the portal refuses."""
        request = ActivationRequest(
            activation_code=code,
            instance_id=self.instance_id,
            gitlab_version=FLEET_GITLAB_VERSION,
            hostname=self.hostname,
            instance_public_key=self.key.verifying_key().to_jwk(),
        )
        with self._client(portal_url, keys, clock) as client:
            answer = client.activate(request)
        self.license_id = self._verified(answer.license_token, keys)
        self.subscription_name = answer.subscription_name

    def sync(self, portal_url: str, keys: KeySet, clock: Clock) -> None:
        """Send today's signed Seat Link report (R13, R32) and verify the license that comes
        back; raises ``PortalError`` when the portal refuses."""
        if self.license_id is None:
            raise RuntimeError(f"fleet instance {self.number} is not activated")
        today = clock.now().date()
        request = SyncRequest(
            instance_id=self.instance_id,
            license_id=self.license_id,
            gitlab_version=FLEET_GITLAB_VERSION,
            hostname=self.hostname,
            billable_users=self.users,
            max_historical_users=self.users,
            add_on_usage=(),
            daily_usage=(DailyUsage(day=today, billable_users=self.users),),
        )
        with self._client(portal_url, keys, clock) as client:
            answer = client.sync(request)
        self.license_id = self._verified(answer.license_token, keys)
        self.syncs += 1

    def _verified(self, token: str, keys: KeySet) -> str:
        document = verify_license(token, keys)
        if (
            document.license_type is not LicenseType.ONLINE_CLOUD
            or document.instance_id != self.instance_id
        ):
            raise RuntimeError(f"fleet instance {self.number} got a license not bound to it")
        return document.license_id
