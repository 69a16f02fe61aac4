"""What the portal shows: trial requests (leads), add-ons, mail, and billing's invoices,
subscription terms and seat reviews (R7, R22, R33-R36)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from portal.billing.invoicing import invoices_of
from portal.gitlab_com.models import NamespaceLink
from portal.models import Lead, MailMessage, SeatReview, Subscription, db
from portal.pricing import format_money
from portal.subscriptions import active_add_on
from provlab.scenario.vocabulary import StepContext, expectation


@expectation(
    "lead", "lead: {subscription: A-S00000001, status: dropped, reason: embargoed_country}"
)
def expect_lead(context: StepContext, args: Any) -> None:
    """The newest trial request for a subscription has this status (and internal reason)."""
    fields = context.mapping(args, {"subscription"}, {"status", "reason"})
    with context.portal.reading() as session:
        lead = (
            session.execute(
                sa.select(Lead)
                .where(Lead.subscription_name == str(fields["subscription"]).upper())
                .order_by(Lead.submitted_at.desc(), Lead.id.desc())
            )
            .scalars()
            .first()
        )
        if lead is None:
            context.fail("no trial request was recorded")
        context.compare(lead, fields, ("status", "reason"), what="lead")


@expectation(
    "portal_add_on",
    "portal_add_on: {subscription: A-S00000001, tier: duo_pro, trial: true, quantity: 50}",
)
def expect_portal_add_on(context: StepContext, args: Any) -> None:
    """The subscription's current add-on on the portal (or `none: true` for no add-on)."""
    fields = context.mapping(args, {"subscription"}, {"tier", "trial", "quantity", "none"})
    portal = context.portal
    with portal.reading():
        add_on = context.present(
            fields,
            active_add_on(portal.subscription(fields["subscription"]), portal.now().date()),
            lambda add_on: f"the subscription has {add_on.tier} ({add_on.quantity} seats)",
            "the subscription has no active add-on",
        )
        if add_on is None:
            return
        context.compare(add_on, fields, ("tier", "trial", "quantity"))


@expectation("mail", "mail: {to: contact@customer.test, subject_contains: trial, count: 1}")
def expect_mail(context: StepContext, args: Any) -> None:
    """Mail the portal queued or sent (R7): how many match."""
    fields = context.mapping(
        args, set(), {"to", "subject_contains", "body_contains", "count", "kind"}
    )
    with context.portal.reading() as session:
        query = sa.select(MailMessage)
        if "to" in fields:
            query = query.where(MailMessage.recipient == fields["to"])
        if "kind" in fields:
            query = query.where(MailMessage.kind == fields["kind"])
        mails = session.execute(query).scalars().all()
        if "subject_contains" in fields:
            mails = [
                m for m in mails if str(fields["subject_contains"]).lower() in m.subject.lower()
            ]
        if "body_contains" in fields:
            mails = [m for m in mails if str(fields["body_contains"]) in m.body]
        count = int(fields.get("count", 1))
        if len(mails) != count:
            context.fail(
                f"{len(mails)} matching mail(s), expected {count}: {[m.subject for m in mails]}"
            )


# -- billing ---------------------------------------------------------------------------------------


def _invoice_line_text(line: Any) -> str:
    return (
        f"{line.seats} x {format_money(line.unit_price_cents)} x {line.proration_label} = "
        f"{format_money(line.amount_cents)}"
    )


def _linked_subscription(context: StepContext, path: str) -> Subscription:
    link = db.find(NamespaceLink, NamespaceLink.namespace_path == path)
    if link is None:
        context.fail(f"no subscription is linked to the group {path}")
    subscription: Subscription = link.subscription
    return subscription


@expectation(
    "invoices",
    "invoices: {subscription: A-S00000001, exactly: [{issued_on: 2026-04-01, "
    "kind: quarterly_seat_review, state: invoiced, total_cents: 314630, "
    'lines: ["12 x $348.00 x 275/365 = $3,146.30"]}]}',
)
def expect_invoices(context: StepContext, args: Any) -> None:
    """Exactly these invoices of a subscription (or of the one linked to a GitLab.com ``group``),
    oldest first (R7, R34-R36), to the cent: each
    line as ``seats x price x proration = amount``, the period each covers (first .. last day),
    and the invoice's note (the active user count a renewal used, R36)."""
    fields = context.mapping(args, {"exactly"}, {"subscription", "group"})
    if not isinstance(fields["exactly"], list):
        context.malformed("exactly is a list of invoices")
    if ("subscription" in fields) == ("group" in fields):
        context.malformed("invoices names a subscription or a GitLab.com group, one of them")
    portal = context.portal
    with portal.reading():
        if "group" in fields:  # the subscription linked to it (bought in the scenario)
            subscription = _linked_subscription(context, str(fields["group"]))
        else:
            subscription = portal.subscription(fields["subscription"])
        actual = [
            {
                "issued_on": row.issued_on.isoformat(),
                "kind": row.kind,
                "state": row.state,
                "total_cents": row.total_cents,
                "lines": [_invoice_line_text(line) for line in row.lines],
                "periods": [f"{line.period_starts_on} .. {line.last_day}" for line in row.lines],
                "note": row.note or "",
            }
            for row in reversed(invoices_of(subscription))  # oldest first
        ]
    if len(actual) != len(fields["exactly"]):
        context.fail(f"{len(actual)} invoice(s), expected {len(fields['exactly'])}: {actual}")
    allowed = {"issued_on", "kind", "state", "total_cents", "lines", "periods", "note"}
    for index, (found, wanted) in enumerate(zip(actual, fields["exactly"], strict=True)):
        if not isinstance(wanted, dict) or set(wanted) - allowed:
            context.malformed(f"an invoice takes {', '.join(sorted(allowed))}")
        expected = {
            key: [str(v) for v in value]
            if key in ("lines", "periods")
            else str(value)
            if key == "issued_on"
            else value
            for key, value in wanted.items()
        }
        context.compare_shown(found, expected, f"invoice {index + 1}")


@expectation(
    "subscription",
    "subscription: {name: A-S00000001, seats: 128, ends_on: 2028-01-01, ended: false, "
    "term_starts_on: 2027-01-01, booked_renewal: none}",
)
def expect_subscription(context: StepContext, args: Any) -> None:
    """The portal's subscription: its plan, licensed seats, current term, whether it ended
    unrenewed, the renewal sales booked for the next term ("30 seats until 2028-01-01" or
    "none") (R34, R36)."""
    fields = context.mapping(
        args,
        {"name"},
        {"plan", "seats", "ends_on", "term_starts_on", "ended", "auto_renew", "booked_renewal"},
    )
    with context.portal.reading():
        subscription = context.portal.subscription(fields["name"])
        booked = (
            f"{subscription.renewal_seats} seats until {subscription.renewal_ends_on.isoformat()}"
            if subscription.renewal_ends_on is not None
            else "none"
        )
        mapped = {
            "plan": subscription.plan,
            "seats": subscription.seats,
            "ends_on": subscription.ends_on.isoformat(),
            "term_starts_on": subscription.term_starts_on.isoformat(),
            "ended": subscription.ended_on is not None,
            "auto_renew": subscription.auto_renew,
            "booked_renewal": booked,
        }
    texts = {"plan", "ends_on", "term_starts_on", "booked_renewal"}
    for key, value in fields.items():
        if key != "name" and mapped[key] != (str(value) if key in texts else value):
            context.fail(f"subscription {key} is {mapped[key]!r}, expected {value!r}")


@expectation(
    "seat_reviews",
    'seat_reviews: {subscription: A-S00000001, exactly: ["Q1 max 112 over 12: charged"]}',
)
def expect_seat_reviews(context: StepContext, args: Any) -> None:
    """Exactly these seat reviews of the subscription, in period order (R33-R35)."""
    fields = context.mapping(args, {"subscription", "exactly"})
    portal = context.portal
    with portal.reading() as session:
        subscription = portal.subscription(fields["subscription"])
        rows = session.execute(
            sa.select(SeatReview)
            .where(SeatReview.subscription_id == subscription.id)
            .order_by(SeatReview.period_starts_on, SeatReview.id)
        ).scalars()
        actual = [
            f"{r.label} max {'none' if r.measured_maximum is None else r.measured_maximum} "
            f"over {r.overage}: {r.outcome}"
            for r in rows
        ]
    expected = [str(item) for item in fields["exactly"] or []]
    if actual != expected:
        context.fail(f"seat reviews are {actual}, expected {expected}")
