"""Mail leaves through a real SMTP server after the commit, and waits in the outbox otherwise (R7)."""

from __future__ import annotations

import asyncio
import email
import re
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask

from portal.keys import published_keys
from protocol.license import read_license_file
from tests.portal.helpers import (
    buy,
    mails,
    make_account,
    make_subscription,
    payment_method_ids,
    run_jobs_until,
    sign_in,
)


class Inbox:
    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


@contextmanager
def running_smtp_server(inbox: Inbox) -> Iterator[int]:
    """A real SMTP server on a free loopback port, delivering to ``inbox``; yields the port."""
    from aiosmtpd.controller import Controller

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


@pytest.fixture
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    with running_smtp_server(inbox) as port:
        yield inbox, port


def _buy(app: Flask) -> None:
    customer_id = make_account(app, "owner@example.com")
    name = make_subscription(
        app, customer_id, contact_email="contact@example.com", license_type="offline_cloud"
    )
    client = sign_in(app, "owner@example.com")
    response = buy(client, name, 4, payment_method_ids(app, customer_id)[0])
    assert response.status_code == 302


def test_r7_purchase_confirmation_and_license_are_delivered_over_smtp(
    make_portal: Any, smtp_server: tuple[Inbox, int]
) -> None:
    inbox, port = smtp_server
    app = make_portal(SMTP_HOST="127.0.0.1", SMTP_PORT=port)
    _buy(app)
    assert inbox.messages == []  # queued in the transaction, sent by the delivery job
    run_jobs_until(app, "2026-03-02T00:00:00Z")
    subjects = sorted(m["Subject"] for m in inbox.messages)
    assert len(subjects) == 2 and all(m["To"] == "contact@example.com" for m in inbox.messages)
    assert any("purchase" in s and "confirmed" in s for s in subjects)
    license_mail = next(m for m in inbox.messages if "license" in m["Subject"])
    (attachment,) = [part for part in license_mail.walk() if part.get_filename()]
    assert attachment.get_filename().endswith(".gitlab-license")
    with app.app_context():
        license = read_license_file(
            attachment.get_payload(decode=True).decode(), published_keys(app)
        )
    assert license.add_on_products[0].quantity == 4
    assert {m["status"] for m in mails(app)} == {"sent"}


def test_without_smtp_mail_is_held_in_the_outbox_for_support(portal_app: Flask) -> None:
    _buy(portal_app)
    run_jobs_until(portal_app, "2026-03-02T00:00:00Z")
    assert {m["status"] for m in mails(portal_app)} == {"held"}
    make_account(portal_app, "support@provlab.example", role="support")
    support = sign_in(portal_app, "support@provlab.example", path="/support/sign_in")
    page = support.get("/support/mail").get_data(as_text=True)
    assert page.count('data-testid="mail"') == 2 and "contact@example.com" in page


def test_an_unreachable_smtp_server_is_retried(make_portal: Any) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens here once the socket closes
    app = make_portal(SMTP_HOST="127.0.0.1", SMTP_PORT=port)
    _buy(app)
    runs = run_jobs_until(app, "2026-03-02T00:00:00Z")
    assert {run["outcome"] for run in runs} == {"retrying"}
    assert {m["status"] for m in mails(app)} == {"queued"}
    # Eight tries over a few hours, then the outbox says the mail failed, and why.
    runs = run_jobs_until(app, "2026-03-03T00:00:00Z")
    assert [run["outcome"] for run in runs if run["name"] == "deliver_mail"][-2:] == ["done"] * 2
    assert {m["status"] for m in mails(app)} == {"failed"}


class HeldInbox(Inbox):
    """An SMTP server that takes each message, then holds its answer until released."""

    def __init__(self) -> None:
        super().__init__()
        self.receiving = threading.Event()
        self.release = threading.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.receiving.set()
        await asyncio.get_running_loop().run_in_executor(None, self.release.wait, 30)
        return await super().handle_DATA(server, session, envelope)


def test_a_slow_smtp_server_holds_no_database_transaction(make_portal: Any) -> None:
    """Delivery talks to the mail server with no transaction open (webcore.outbound): on SQLite
    a transaction would hold the write lock, and every write of the portal would wait."""
    inbox = HeldInbox()
    with running_smtp_server(inbox) as port:
        try:
            app = make_portal(SMTP_HOST="127.0.0.1", SMTP_PORT=port)
            _buy(app)
            delivery = threading.Thread(
                target=run_jobs_until, args=(app, "2026-03-02T00:00:00Z"), daemon=True
            )
            delivery.start()
            assert inbox.receiving.wait(30), "the delivery job never reached the mail server"
            writer = threading.Thread(
                target=make_account, args=(app, "second@example.com"), daemon=True
            )
            writer.start()
            writer.join(20)  # only a bound on a hang: a held lock keeps it waiting until released
            wrote_while_held = not writer.is_alive() and not inbox.release.is_set()
            inbox.release.set()
            delivery.join(60)
            writer.join(30)
        finally:
            inbox.release.set()  # never leave the server waiting, whatever failed above
    assert wrote_while_held, "a write waited for the mail server: delivery held a transaction"
    assert {m["status"] for m in mails(app)} == {"sent"}


def test_support_opens_a_mail_from_the_outbox(portal_app: Flask) -> None:
    """The outbox lists each mail with its kind in words and a human time; opening one shows its
    subject, recipient and body as the customer gets them."""
    _buy(portal_app)
    make_account(portal_app, "support@provlab.example", role="support")
    support = sign_in(portal_app, "support@provlab.example", path="/support/sign_in")
    outbox = support.get("/support/mail").get_data(as_text=True)
    assert "Purchase confirmation" in outbox and "purchase_confirmation" not in outbox
    assert re.search(r"[A-Z][a-z]{2} \d{1,2}, \d{4}, \d{2}:\d{2} UTC", outbox)
    link = re.search(r'href="(/support/mail/\d+)">([^<]+)</a>', outbox)
    assert link is not None
    page = support.get(link.group(1))
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert link.group(2) in text and "contact@example.com" in text
    body = re.search(r'data-testid="mail-body">(.*?)</pre>', text, re.S)
    assert body is not None and body.group(1).strip()
    assert support.get("/support/mail/999999").status_code == 404
    customer = sign_in(portal_app, "owner@example.com")
    assert customer.get(link.group(1)).status_code == 403
