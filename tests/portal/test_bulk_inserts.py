"""Bulk Core inserts that must answer each new row's id (``webcore.db.insert_ids``): the seat
review's rows, invoices and mails are written this way, and each is referred to by its id (an
invoice by its review, a mail's delivery job by the mail)."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from flask import Flask

from portal.models import MailMessage, MailStatus, db
from webcore.db import insert_ids
from webcore.transaction import unit_of_work

pytestmark = pytest.mark.all_backends

NOW = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)


def _mail(subject: str) -> dict[str, object]:
    return {
        "kind": "invoice",
        "recipient": "owner@example.com",
        "subject": subject,
        "body": "-",
        "attachment_name": None,
        "attachment": None,
        "subscription_id": None,
        "status": MailStatus.QUEUED,
        "last_error": None,
        "created_at": NOW,
        "sent_at": None,
    }


def test_insert_ids_answers_each_new_rows_id_in_the_order_given(portal_app: Flask) -> None:
    table = MailMessage.__table__
    with unit_of_work(portal_app):
        connection = db.session.connection()
        earlier = insert_ids(connection, table, [_mail(f"earlier {n}") for n in range(3)])
        # A gap below the largest id: new rows still come above it.
        connection.execute(sa.delete(table).where(table.c.id == earlier[1]))
        subjects = [f"mail {n}" for n in range(120)]
        ids = insert_ids(connection, table, [_mail(subject) for subject in subjects])
        assert insert_ids(connection, table, []) == []

    assert len(ids) == len(set(ids)) == len(subjects)
    assert min(ids) > max(earlier)
    with portal_app.app_context():
        stored = dict(
            db.session.execute(sa.select(table.c.id, table.c.subject).where(table.c.id.in_(ids)))
            .tuples()
            .all()
        )
    assert [stored[mail_id] for mail_id in ids] == subjects
