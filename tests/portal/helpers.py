"""Helpers for the portal's tests: accounts, subscriptions, signed-in clients, the instance side."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import html
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from portal.keys import published_keys
from portal.models import Account, AddOnPurchase, MailMessage, PaymentMethod, Subscription, db
from portal.orders import OrderTerms
from portal.setup import add_payment_method
from portal.subscriptions import create_subscription, find_subscription
from protocol.envelope import open_response, parse_message, seal_request
from protocol.license import AddOnTier, License, verify_license
from protocol.messages import (
    ActivationAnswer,
    ActivationRequest,
    AddOnUsage,
    ErrorAnswer,
    SyncAnswer,
    SyncRequest,
)
from protocol.signing import SigningKey
from provlab.parties import InProcessParty
from webcore.auth import hash_password
from webcore.clock import app_clock

PASSWORD = "correct horse battery staple"
OWNER = "owner@example.com"
CONTACT = "contact@example.com"
_CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')
_META_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def now(app: Flask) -> dt.datetime:
    return app_clock(app).now()


@functools.cache
def _password_hash() -> str:
    return hash_password(PASSWORD)  # scrypt is slow on purpose: hash the test password once


def make_account(app: Flask, email: str, role: str = "customer", name: str = "Pat Doe") -> int:
    with app.app_context():
        account = db.inserted(
            Account(
                email=email,
                name=name,
                password_hash=_password_hash(),
                role=role,
                created_at=now(app),
            )
        )
        if role == "customer":
            add_payment_method(account, "Visa", "4242")
            add_payment_method(account, "Mastercard", "0002")
        db.session.commit()
        return account.id


def make_subscription(app: Flask, customer_id: int, **options: Any) -> str:
    """A subscription for the customer, starting a month ago unless told otherwise."""
    with app.app_context():
        today = now(app).date()
        customer = db.session.get(Account, customer_id)
        options.setdefault("plan", "premium")
        options.setdefault("seats", 50)
        options.setdefault("starts_on", today - dt.timedelta(days=30))
        options.setdefault("contact_country", "DE")
        subscription = create_subscription(customer, now=now(app), **options)
        db.session.commit()
        return subscription.name


def customer_subscription(app: Flask, email: str, **options: Any) -> str:
    """A new customer ``email`` and a subscription of theirs (``make_subscription``'s
    ``options``): its name."""
    return make_subscription(app, make_account(app, email), **options)


def payment_method_ids(app: Flask, customer_id: int) -> tuple[int, int]:
    """(a card that pays, a card that is declined)."""
    with app.app_context():
        rows = (
            db.session.execute(
                sa.select(PaymentMethod)
                .where(PaymentMethod.account_id == customer_id)
                .order_by(PaymentMethod.id)
            )
            .scalars()
            .all()
        )
        return rows[0].id, rows[1].id


class Customer(NamedTuple):
    """The customer OWNER, a subscription of theirs and their two cards."""

    id: int
    name: str  # the subscription's
    card: int  # pays
    declined: int  # is declined


def make_customer(app: Flask, **subscription: Any) -> Customer:
    """OWNER with a subscription of theirs, CONTACT its contact unless told otherwise."""
    customer_id = make_account(app, OWNER)
    name = make_subscription(app, customer_id, **{"contact_email": CONTACT, **subscription})
    return Customer(customer_id, name, *payment_method_ids(app, customer_id))


def signed_in_customer(app: Flask, **subscription: Any) -> tuple[FlaskClient, Customer]:
    """``make_customer``, and OWNER signed in."""
    customer = make_customer(app, **subscription)
    return sign_in(app, OWNER), customer


@contextlib.contextmanager
def customer_order(
    app: Flask, customer_id: int, name: str
) -> Iterator[tuple[OrderTerms, PaymentMethod]]:
    """In the portal's app context: the terms of an order the customer places on their
    subscription ``name`` themselves, now, and their card that pays; committed on leaving."""
    card_id, _ = payment_method_ids(app, customer_id)
    with app.app_context():
        subscription = find_subscription(name)
        buyer = db.session.get(Account, customer_id)
        card = db.session.get(PaymentMethod, card_id)
        assert subscription is not None and buyer is not None and card is not None
        yield OrderTerms(subscription=subscription, placed_by=buyer, now=now(app)), card
        db.session.commit()


def csrf_token(client: FlaskClient, path: str = "/users/sign_in") -> str:
    page = client.get(path).get_data(as_text=True)
    match = _CSRF.search(page) or _META_CSRF.search(page)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def sign_in(app: Flask, email: str, path: str = "/users/sign_in") -> FlaskClient:
    client = app.test_client()
    response = client.post(
        path, data={"login": email, "password": PASSWORD, "csrf_token": csrf_token(client, path)}
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def trial_request_args(subscription: str, email: str, country: str) -> list[str]:
    """The arguments of ``provlab portal trial-request``: a Duo trial request by A B of company C."""
    options = {"--subscription": subscription, "--email": email, "--first-name": "A"}
    options |= {"--last-name": "B", "--company": "C", "--country": country}
    return ["trial-request", *(word for pair in options.items() for word in pair)]


def post_form(client: FlaskClient, path: str, data: dict[str, Any], page: str | None = None) -> Any:
    token = csrf_token(client, page or "/trials/duo")
    return client.post(path, data={**data, "csrf_token": token})


def sign_in_staff(app: Flask, role: str) -> FlaskClient:
    """A new support engineer or sales person (`role@provlab.example`), signed in where that role
    signs in (support has its own sign-in page)."""
    email = f"{role}@provlab.example"
    make_account(app, email, role=role)
    return sign_in(app, email, path="/support/sign_in" if role == "support" else "/users/sign_in")


def buy(client: FlaskClient, name: str, seats: int, card: int, path: str = "buy_duo_pro") -> Any:
    """The customer buys `seats` seats of an add-on (Duo Pro by default) on the card with id
    `card`, through the purchase form's last step."""
    return post_form(
        client,
        f"/subscriptions/{name}/{path}",
        {"seats": str(seats), "step": "purchase", "payment_method": str(card)},
        page="/subscriptions",
    )


def place_order(client: FlaskClient, name: str, form: dict[str, Any]) -> Any:
    """Sales places an order of the kind and fields in `form` on the subscription."""
    return post_form(client, f"/sales/subscriptions/{name}/orders", form, page="/sales")


def flashes(page: Any) -> str:
    """The flash messages on a page (a response or its HTML), unescaped, joined."""
    text = page if isinstance(page, str) else page.get_data(as_text=True)
    return " ".join(html.unescape(m) for m in re.findall(r'role="alert">([^<]*)<', text))


def subscription_row(app: Flask, name: str) -> dict[str, Any]:
    with app.app_context():
        s = db.session.execute(
            sa.select(Subscription).where(Subscription.name == name)
        ).scalar_one()
        return {
            "seats": s.seats,
            "ends_on": s.ends_on,
            "license_type": s.license_type,
            "activation_code": s.activation_code,
            "id": s.id,
            "contact_email": s.contact_email,
            "renewal_seats": s.renewal_seats,
            "renewal_ends_on": s.renewal_ends_on,
        }


def add_ons(app: Flask, name: str) -> list[dict[str, Any]]:
    with app.app_context():
        rows = (
            db.session.execute(
                sa.select(AddOnPurchase)
                .join(Subscription)
                .where(Subscription.name == name)
                .order_by(AddOnPurchase.id)
            )
            .scalars()
            .all()
        )
        return [
            {
                "tier": r.tier,
                "quantity": r.quantity,
                "starts_on": r.starts_on,
                "ends_on": r.ends_on,
                "trial": r.trial,
            }
            for r in rows
        ]


def mails(app: Flask, kind: str | None = None) -> list[dict[str, Any]]:
    with app.app_context():
        query = sa.select(MailMessage).order_by(MailMessage.id)
        if kind:
            query = query.where(MailMessage.kind == kind)
        return [
            {
                "kind": m.kind,
                "to": m.recipient,
                "subject": m.subject,
                "body": m.body,
                "status": m.status,
                "attachment": m.attachment,
            }
            for m in db.session.execute(query).scalars()
        ]


def count(app: Flask, model: Any) -> int:
    with app.app_context():
        return int(db.session.execute(sa.select(sa.func.count()).select_from(model)).scalar_one())


def run_jobs_until(app: Flask, at: str | dt.datetime) -> list[dict[str, Any]]:
    """Move the portal's simulated clock to ``at`` through every due job, in time order."""
    from protocol.clock import parse_utc
    from provlab.timetravel import travel_to

    target = parse_utc(at) if isinstance(at, str) else at
    return travel_to([InProcessParty(app)], target).runs


def activation_code(app: Flask, client: FlaskClient, name: str) -> str:
    response = client.post(
        f"/subscriptions/{name}/activation_code",
        data={"csrf_token": csrf_token(client, "/subscriptions")},
    )
    assert response.status_code == 302
    page = client.get(response.location).get_data(as_text=True)
    match = re.search(r'data-testid="activation-code">([A-Za-z0-9]+)<', page)
    assert match, page
    return match.group(1)


@dataclass
class FakeInstance:
    """The instance's side of the protocol, driven by hand: its own key, id and version."""

    app: Flask
    instance_id: str = "instance-1"
    key: SigningKey = field(default_factory=SigningKey.generate)
    gitlab_version: str = "17.5.0-ee"
    license_id: str | None = None

    def _post(self, path: str, message: Any, key: SigningKey | None = None) -> tuple[int, Any]:
        token, nonce = seal_request(message, key or self.key, app_clock(self.app))
        return self.post_token(path, token, nonce)

    def post_token(self, path: str, token: str, nonce: str) -> tuple[int, Any]:
        response = self.app.test_client().post(path, json={"request": token})
        body = response.get_json()
        if "response" not in body:
            return response.status_code, ErrorAnswer.from_dict(body["error"])
        with self.app.app_context():
            keys = published_keys(self.app)
        opened = open_response(body["response"], keys, app_clock(self.app), nonce)
        if opened.type == ErrorAnswer.TYPE:
            return response.status_code, parse_message(opened, ErrorAnswer)
        return response.status_code, opened

    def activation_request(self, code: str) -> ActivationRequest:
        return ActivationRequest(
            code,
            self.instance_id,
            self.gitlab_version,
            "gitlab.example.com",
            self.key.verifying_key().to_jwk(),
        )

    def activate(self, code: str) -> tuple[int, Any]:
        status, answer = self._post("/api/v1/activations", self.activation_request(code))
        if status == 200:
            answer = parse_message(answer, ActivationAnswer)
            self.license_id = self.license(answer.license_token).license_id
        return status, answer

    def sync_request(self, billable_users: int = 12, assigned: int = 0) -> SyncRequest:
        usage = (AddOnUsage(AddOnTier.DUO_PRO, assigned, assigned),) if assigned else ()
        return SyncRequest(
            self.instance_id,
            self.license_id or "none",
            self.gitlab_version,
            "gitlab.example.com",
            billable_users,
            billable_users,
            usage,
        )

    def sync(self, **usage: int) -> tuple[int, Any]:
        status, answer = self._post("/api/v1/seat_links", self.sync_request(**usage))
        if status == 200:
            answer = parse_message(answer, SyncAnswer)
        return status, answer

    def license(self, token: str) -> License:
        with self.app.app_context():
            return verify_license(token, published_keys(self.app))


def activated_instance(
    app: Flask, **subscription: Any
) -> tuple[FakeInstance, str, FlaskClient, str]:
    """A subscription of OWNER's, activated by a new FakeInstance: (the instance, the
    subscription's name, OWNER signed in, the activation code)."""
    customer_id = make_account(app, OWNER)
    name = make_subscription(app, customer_id, **subscription)
    client = sign_in(app, OWNER)
    code = activation_code(app, client, name)
    instance = FakeInstance(app)
    status, answer = instance.activate(code)
    assert status == 200, answer
    return instance, name, client, code
