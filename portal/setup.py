"""First-start work for the portal: database, secrets, signing key, periodic jobs, demo data."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask import Flask

from portal import MIGRATIONS
from portal.jobs import PERIODIC_JOBS
from portal.keys import load_signing_key
from portal.models import Account, PaymentMethod, Role, db
from webcore.app import store_session_secret
from webcore.auth import check_password, hash_password
from webcore.clock import app_clock
from webcore.db import upgrade_to_head
from webcore.transaction import unit_of_work


def prepare(app: Flask) -> None:
    """Bring the database to head, store a session secret, load the signing key, plan jobs."""
    upgrade_to_head(app, db, MIGRATIONS)
    store_session_secret(app)
    load_signing_key(app)
    with unit_of_work(app):
        scheduler = app.extensions["jobs"]
        now = app_clock(app).now()
        for name, first_run in PERIODIC_JOBS.items():
            scheduler.ensure(name, first_run(now))


@dataclass(frozen=True)
class DemoLogin:
    role: str
    email: str
    password: str


DEMO_CUSTOMER = DemoLogin(Role.CUSTOMER, "customer@example.com", "customer-demo-password")
DEMO_SUPPORT = DemoLogin(Role.SUPPORT, "support@provlab.example", "support-demo-password")
DEMO_SALES = DemoLogin(Role.SALES, "sales@provlab.example", "sales-demo-password")


def create_account(email: str, name: str, password: str, role: str, app: Flask) -> Account:
    """A portal account; its password follows the password rule (``check_password``)."""
    if role not in set(Role):
        raise ValueError(f"role must be one of {', '.join(Role)}")
    check_password(password)
    return db.inserted(
        Account(
            email=email,
            name=name,
            password_hash=hash_password(password),
            role=Role(role).value,
            created_at=app_clock(app).now(),
        )
    )


def add_payment_method(account: Account, brand: str, last4: str) -> PaymentMethod:
    return db.inserted(PaymentMethod(account_id=account.id, brand=brand, last4=last4))


def _seed_customer(account: Account, app: Flask) -> None:
    """The demo customer's cards (the one ending in 0002 is declined) and subscriptions."""
    from portal.subscriptions import create_subscription

    now = app_clock(app).now()
    add_payment_method(account, "Visa", "4242")
    add_payment_method(account, "Mastercard", "0002")
    # An online cloud-licensed Premium, and an offline Ultimate (license files by mail).
    for plan, seats, license_type in (("premium", 50, None), ("ultimate", 20, "offline_cloud")):
        create_subscription(
            account,
            plan=plan,
            seats=seats,
            now=now,
            license_type=license_type,
            contact_company="Example Corp",
            contact_country="DE",
        )


def seed_demo(app: Flask) -> list[DemoLogin]:
    """Demo accounts (idempotent): a customer, a support engineer and a sales person."""
    names: dict[str, str] = {
        Role.CUSTOMER: "Casey Customer",
        Role.SUPPORT: "Sam Support",
        Role.SALES: "Sasha Sales",
    }
    with unit_of_work(app):
        for login in (DEMO_CUSTOMER, DEMO_SUPPORT, DEMO_SALES):
            exists = db.session.execute(
                sa.select(Account.id).where(Account.email == login.email)
            ).first()
            if exists is None:
                account = create_account(
                    login.email, names[login.role], login.password, login.role, app
                )
                if login.role == Role.CUSTOMER:
                    _seed_customer(account, app)
    return [DEMO_CUSTOMER, DEMO_SUPPORT, DEMO_SALES]
