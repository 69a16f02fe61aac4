"""``provlab portal`` commands on trial requests (the public form, sales' processing, the list)
and the mail outbox."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import sqlalchemy as sa
from flask import Flask

from provlab.commands.options import json_option
from provlab.commands.portal.base import (
    lead_row,
    portal_group,
    portal_now,
    run,
    var_option,
)


@portal_group.command("trial-request")
@click.option("--subscription", "subscription_name", required=True)
@click.option("--email", required=True)
@click.option("--first-name", required=True)
@click.option("--last-name", required=True)
@click.option("--company", required=True)
@click.option("--country", required=True, help="Two-letter country code.")
@click.option(
    "--add-on",
    type=click.Choice(["duo_pro", "duo_enterprise"]),
    default="duo_pro",
    show_default=True,
)
@var_option
@json_option
def trial_request(var: Path, as_json: bool, **fields: str) -> None:
    """Submit the public Duo trial form (R20; processed later by sales, R21)."""
    from portal.leads import submit_trial_request

    def action(app: Flask) -> tuple[Any, str]:
        lead = submit_trial_request(fields, portal_now())
        return lead_row(lead), f"trial request #{lead.id} received"

    run(var, action, as_json)


@portal_group.command("process-leads")
@var_option
@json_option
def process_leads(var: Path, as_json: bool) -> None:
    """Run sales' lead processing now (normally a daily job, R21)."""
    from portal.leads import process_due_leads

    def action(app: Flask) -> tuple[Any, str]:
        handled = process_due_leads(portal_now())
        return {"processed": handled}, f"processed {handled} trial request(s)"

    run(var, action, as_json)


@portal_group.command("leads")
@click.option("--status", type=click.Choice(["pending", "trial_created", "dropped"]), default=None)
@var_option
@json_option
def leads(status: str | None, var: Path, as_json: bool) -> None:
    """List trial requests with their status and, for dropped ones, the reason (R22)."""
    from portal.models import Lead, db

    def action(app: Flask) -> tuple[Any, str]:
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

    run(var, action, as_json)


@portal_group.command("outbox")
@var_option
@json_option
def outbox(var: Path, as_json: bool) -> None:
    """List the mail outbox (R7)."""
    from portal.models import MailMessage, db

    def action(app: Flask) -> tuple[Any, str]:
        rows = [
            {
                "id": m.id,
                "kind": m.kind,
                "to": m.recipient,
                "subject": m.subject,
                "status": m.status,
                "created_at": m.created_at.isoformat(),
            }
            for m in db.session.execute(sa.select(MailMessage).order_by(MailMessage.id)).scalars()
        ]
        text = "\n".join(f"#{r['id']} {r['status']:<7} {r['to']}  {r['subject']}" for r in rows)
        return rows, text or "the outbox is empty"

    run(var, action, as_json)
