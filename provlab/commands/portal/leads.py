"""``provlab portal`` commands on trial requests (the public form, sales' processing, the list)
and the mail outbox."""

from __future__ import annotations

from typing import Any

import click
import sqlalchemy as sa

from provlab.commands.options import one_of
from provlab.commands.portal.base import (
    columns,
    lead_row,
    portal_command,
    portal_now,
)


@portal_command("trial-request")
@click.option("--subscription", "subscription_name", required=True)
@click.option("--email", required=True)
@click.option("--first-name", required=True)
@click.option("--last-name", required=True)
@click.option("--company", required=True)
@click.option("--country", required=True, help="Two-letter country code.")
@one_of("--add-on", ["duo_pro", "duo_enterprise"], "duo_pro")
def trial_request(**fields: str) -> tuple[Any, str]:
    """Submit the public Duo trial form (R20; processed later by sales, R21)."""
    from portal.leads import submit_trial_request

    lead = submit_trial_request(fields, portal_now())
    return lead_row(lead), f"trial request #{lead.id} received"


@portal_command("process-leads")
def process_leads() -> tuple[Any, str]:
    """Run sales' lead processing now (normally a daily job, R21)."""
    from portal.leads import process_due_leads

    handled = process_due_leads(portal_now())
    return {"processed": handled}, f"processed {handled} trial request(s)"


@portal_command("leads")
@click.option("--status", type=click.Choice(["pending", "trial_created", "dropped"]), default=None)
def leads(status: str | None) -> tuple[Any, str]:
    """List trial requests with their status and, for dropped ones, the reason (R22)."""
    from portal.models import Lead, db

    query = sa.select(Lead).order_by(Lead.id)
    if status:
        query = query.where(Lead.status == status)
    rows = [lead_row(lead) for lead in db.session.execute(query).scalars()]
    text = (
        "\n".join(
            f"#{r['id']} {r['subscription_name']} {r['email']} {r['country']} "
            f"{r['status']} {r['reason'] or ''}"
            for r in rows
        )
        or "no trial requests"
    )
    return rows, text


@portal_command("outbox")
def outbox() -> tuple[Any, str]:
    """List the mail outbox (R7)."""
    from portal.models import MailMessage, db

    rows = [
        {**columns(m, "id kind"), "to": m.recipient, **columns(m, "subject status created_at")}
        for m in db.session.execute(sa.select(MailMessage).order_by(MailMessage.id)).scalars()
    ]
    text = "\n".join(f"#{r['id']} {r['status']:<7} {r['to']}  {r['subject']}" for r in rows)
    return rows, text or "the outbox is empty"
