"""Mail: queued in the outbox by the transaction that causes it, delivered afterwards by a job.

Queuing is a database write, so a purchase that is rolled back leaves no mail behind, and a mail
is never sent for something that did not happen (R7). It is a Core insert, not ORM entities: the
daily seat review queues thousands at once, and nothing reads a mail back in the transaction that
queues it. Delivery runs as the ``deliver_mail`` job:
over SMTP when ``SMTP_HOST`` is configured (retried with backoff), otherwise the mail is held in
the outbox, which the support console shows either way.
"""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from typing import Protocol

from flask import current_app

from portal.models import MailMessage, MailStatus, Subscription, db
from webcore.clock import app_clock
from webcore.db import insert_ids
from webcore.outbound import outside_transaction


class MailTransport(Protocol):
    def send(self, message: EmailMessage) -> None: ...


class SmtpTransport:
    def __init__(self, host: str, port: int, timeout: float = 10.0) -> None:
        self.host, self.port, self.timeout = host, port, timeout

    def send(self, message: EmailMessage) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            smtp.send_message(message)


def mail_transport() -> MailTransport | None:
    transport = current_app.extensions.get("portal.mail")
    if transport is not None:
        return transport
    host = current_app.config.get("SMTP_HOST")
    return SmtpTransport(host, int(current_app.config["SMTP_PORT"])) if host else None


def queue_mail(
    kind: str,
    subscription: Subscription,
    subject: str,
    body: str,
    *,
    attachment_name: str | None = None,
    attachment: str | None = None,
) -> int:
    """Put a mail to the subscription contact in the outbox and schedule its delivery; its id."""
    (mail_id,) = queue_mails(
        [(kind, subscription, subject, body)],
        attachment_name=attachment_name,
        attachment=attachment,
    )
    return mail_id


def queue_mails(
    mails: list[tuple[str, Subscription, str, str]],
    *,
    attachment_name: str | None = None,
    attachment: str | None = None,
) -> list[int]:
    """``queue_mail`` of each (kind, subscription, subject, body): one insert for them all, and
    one for their delivery jobs; their ids, in order."""
    if not mails:
        return []
    now = app_clock().now()
    ids = insert_ids(
        db.session.connection(),
        MailMessage.__table__,
        [
            {
                "kind": kind,
                "recipient": subscription.contact_email,
                "subject": subject,
                "body": f"Hello {subscription.contact_name},\n\n{body}\n\n"
                "— GitLab Customers Portal\n",
                "attachment_name": attachment_name,
                "attachment": attachment,
                "subscription_id": subscription.id,
                "status": MailStatus.QUEUED,
                "last_error": None,
                "created_at": now,
                "sent_at": None,
            }
            for kind, subscription, subject, body in mails
        ],
    )
    current_app.extensions["jobs"].schedule_new(
        "deliver_mail", now, [(f"deliver_mail:{mail_id}", {"mail_id": mail_id}) for mail_id in ids]
    )
    return ids


def as_email(message: MailMessage, sender: str) -> EmailMessage:
    email = EmailMessage()
    email["From"] = sender
    email["To"] = message.recipient
    email["Subject"] = message.subject
    email.set_content(message.body)
    if message.attachment is not None and message.attachment_name:
        email.add_attachment(
            message.attachment.encode(),
            maintype="application",
            subtype="octet-stream",
            filename=message.attachment_name,
        )
    return email


def deliver(mail_id: int, *, last_attempt: bool = False) -> None:
    """Send one queued mail (the job's body). An SMTP failure raises so the job retries; after
    the last attempt the mail is marked failed in the outbox, with the error, for support."""
    message = db.session.get(MailMessage, mail_id)
    if message is None or message.status == MailStatus.SENT:
        return
    transport = mail_transport()
    if transport is None:
        message.status = MailStatus.HELD
        return
    email = as_email(message, current_app.config["MAIL_FROM"])
    try:
        # A slow mail server must not hold the portal's database (webcore.outbound); the job's
        # lease keeps another worker from sending the same mail meanwhile.
        with outside_transaction(db.session):
            transport.send(email)
    except (OSError, smtplib.SMTPException) as exc:
        message.last_error = f"{type(exc).__name__}: {exc}"[:500]
        if last_attempt:
            message.status = MailStatus.FAILED
            return
        raise
    message.status = MailStatus.SENT
    message.sent_at = app_clock().now()
    message.last_error = None
