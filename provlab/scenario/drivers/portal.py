"""The portal as a scenario drives it: its transaction, clock, accounts and subscriptions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.orm import Session

from portal.gitlab_com.models import NamespaceLink
from portal.licensing import ensure_activation_code, license_file_for
from portal.models import Account, Subscription
from portal.orders import OrderTerms
from portal.subscriptions import find_subscription
from provlab.scenario.drivers.party import PartyDriver
from provlab.scenario.vocabulary import in_setup

CUSTOMER_EMAIL = "customer@scenario.test"
SALES_EMAIL = "sales@scenario.test"


class PortalDriver(PartyDriver):
    party = "portal"

    # -- inside a transaction or reading() ------------------------------------------------------

    def account(self, email: str) -> Account:
        session: Session = self.app.extensions["sqlalchemy"].session
        return session.execute(sa.select(Account).where(Account.email == email)).scalar_one()

    def customer(self) -> Account:
        return self.account(CUSTOMER_EMAIL)

    def seller(self) -> Account:
        return self.account(SALES_EMAIL)

    def subscription(self, name: str) -> Subscription:
        return in_setup(
            find_subscription(str(name)), f"no subscription {name} in setup.portal.subscriptions"
        )

    def linked_to(self, namespace_id: int) -> Subscription | None:
        """The subscription linked to a GitLab.com group, if any."""
        session: Session = self.app.extensions["sqlalchemy"].session
        return session.execute(
            sa.select(Subscription)
            .join(NamespaceLink, NamespaceLink.subscription_id == Subscription.id)
            .where(NamespaceLink.namespace_id == namespace_id)
        ).scalar_one_or_none()

    @contextmanager
    def as_sales(self, name: str) -> Iterator[tuple[Subscription, Account, dt.datetime]]:
        """A sales person's unit of work on one subscription: (subscription, seller, now)."""
        with self.transaction():
            yield self.subscription(name), self.seller(), self.now()

    @contextmanager
    def sales_order(self, name: str) -> Iterator[OrderTerms]:
        """A sales order's unit of work on one subscription: its terms (the seller, now)."""
        with self.transaction():
            yield OrderTerms(
                subscription=self.subscription(name), placed_by=self.seller(), now=self.now()
            )

    # -- what the customer takes from the portal to the instance ----------------------------------

    def activation_code(self, name: str) -> str:
        with self.transaction():
            return ensure_activation_code(self.subscription(name))

    def license_file(self, name: str) -> str:
        """The subscription's license file as the customer downloads it (the armored text)."""
        with self.transaction():
            return license_file_for(self.subscription(name), self.now()).token
