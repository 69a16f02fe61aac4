"""The support console: a separate sign-in for support engineers, then search and inspect.

Support sees what customers never do: every trial request (lead) with its status and the reason
it was dropped (R22), the activation and its sync history, licenses, orders, trials and the mail
outbox. *Extend trial* is refused with the documented explanation (R23).
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_user

from portal.billing import chart, invoicing, reviews, usage
from portal.errors import Refused
from portal.gitlab_com.provisioning import link_of, pending_push
from portal.leads import leads_for, search_leads
from portal.licensing import activation_of, licenses_of, usage_reports_of
from portal.models import (
    AddOnPurchase,
    Invoice,
    Lead,
    LeadStatus,
    MailKind,
    MailMessage,
    MailStatus,
    Role,
    db,
)
from portal.purchases import support_extend_trial
from portal.subscriptions import orders_of, search_subscriptions
from portal.views import find_account, subscription_or_404
from webcore.auth import SignInForm, authenticate, roles_required
from webcore.clock import app_clock
from webcore.errors import refusal_redirects

blueprint = Blueprint("support", __name__, url_prefix="/support")


@blueprint.route("/sign_in", methods=["GET", "POST"])
def sign_in() -> ResponseReturnValue:
    """Support's own sign-in: only support engineers get in here."""
    form = SignInForm()
    if form.validate_on_submit():
        # The shared check: one password check whether or not the account exists, and the
        # same lockout as the customers' sign-in.
        account, message = authenticate(
            find_account,
            form.login.data,
            form.password.data,
            may_sign_in=lambda found: found.role == Role.SUPPORT,
            refused_message="Invalid login or password, or not a support engineer.",
        )
        if account is not None:
            login_user(account)
            return redirect(url_for(".index"))
        # The failed attempt counts towards the lockout: answered normally, it is committed.
        flash(message, "error")
        return render_template("support/sign_in.html", form=form), 401
    return render_template("support/sign_in.html", form=form)


@blueprint.get("")
@roles_required(Role.SUPPORT)
def index() -> ResponseReturnValue:
    query = request.args.get("q", "").strip()
    return render_template(
        "support/index.html",
        query=query,
        subscriptions=search_subscriptions(query) if query else [],
        leads=search_leads(query) if query else [],
    )


@blueprint.get("/subscriptions/<name>")
@roles_required(Role.SUPPORT)
def subscription(name: str) -> ResponseReturnValue:
    found = subscription_or_404(name)
    mails = (
        db.session.execute(
            sa.select(MailMessage)
            .where(MailMessage.subscription_id == found.id)
            .order_by(MailMessage.id.desc())
        )
        .scalars()
        .all()
    )
    return render_template(
        "support/subscription.html",
        subscription=found,
        today=app_clock().now().date(),
        activation=activation_of(found),
        licenses=licenses_of(found),
        usage=usage_reports_of(found),
        orders=orders_of(found),
        leads=leads_for(found),
        mails=mails,
        purchases=[*found.add_on_purchases, *found.agile_planning_purchases],  # R6
        namespace_link=link_of(found),
        push_job=pending_push(found.id),
        chart=chart.usage_chart_svg(found),
        reviews=reviews.reviews_of(found) if reviews.billed(found) else [],
        check_ins=usage.check_ins_of(found) if reviews.billed(found) else [],
        check_in_periods=usage.check_in_periods(found) if reviews.billed(found) else [],
        invoices=invoicing.invoices_of(found),
        seat_link=usage.has_seat_link(found),
    )


@blueprint.post("/subscriptions/<name>/check_ins")
@roles_required(Role.SUPPORT)
def check_in(name: str) -> ResponseReturnValue:
    """R32: enter the maximum active users a customer without Seat Link reported to sales."""
    found = subscription_or_404(name)
    with refusal_redirects(url_for(".subscription", name=found.name)):
        if not reviews.billed(found):
            raise Refused("Seat reviews apply to paid subscriptions only.", code="not_billed")
        entry = reviews.record_check_in(
            found,
            period_label=request.form.get("period", ""),
            reported_maximum=request.form.get("maximum", ""),
            entered_by=current_user,
            now=app_clock().now(),
        )
    flash(
        f"Check-in recorded: {entry.reported_maximum} users at most from "
        f"{entry.period_starts_on} to {entry.period_ends_on}.",
        "success",
    )
    return redirect(url_for(".subscription", name=found.name))


@blueprint.get("/invoices")
@roles_required(Role.SUPPORT)
def invoices() -> ResponseReturnValue:
    return render_template(
        "billing/invoices.html",
        subscription=None,
        invoices=invoicing.all_invoices(),
        invoice_endpoint="support.invoice",
    )


@blueprint.get("/invoices/<id:invoice_id>")
@roles_required(Role.SUPPORT)
def invoice(invoice_id: int) -> ResponseReturnValue:
    found = db.get_or_404(Invoice, invoice_id)
    return render_template(
        "billing/invoice.html", invoice=found, subscription=found.subscription, support=True
    )


@blueprint.post("/invoices/<id:invoice_id>/accept_amendment")
@roles_required(Role.SUPPORT)
def accept_amendment(invoice_id: int) -> ResponseReturnValue:
    """R34: the customer accepted the order amendment: the charge is invoiced."""
    found = db.get_or_404(Invoice, invoice_id)
    with refusal_redirects(url_for(".invoice", invoice_id=found.id)):
        invoicing.accept_amendment(found, app_clock().now())
    flash(f"Invoice {found.number} is now invoiced.", "success")
    return redirect(url_for(".invoice", invoice_id=found.id))


@blueprint.post("/subscriptions/<name>/trials/<id:purchase_id>/extend")
@roles_required(Role.SUPPORT)
def extend_trial(name: str, purchase_id: int) -> ResponseReturnValue:
    found = subscription_or_404(name)
    purchase = db.get_or_404(AddOnPurchase, purchase_id)
    if purchase.subscription_id != found.id:
        abort(404)
    with refusal_redirects(url_for(".subscription", name=found.name)):
        support_extend_trial(found)
    return redirect(url_for(".subscription", name=found.name))


@blueprint.get("/leads")
@roles_required(Role.SUPPORT)
def leads() -> ResponseReturnValue:
    status = request.args.get("status", "")
    query = sa.select(Lead).order_by(Lead.submitted_at.desc(), Lead.id.desc()).limit(500)
    if status in (LeadStatus.PENDING, LeadStatus.TRIAL_CREATED, LeadStatus.DROPPED):
        query = query.where(Lead.status == status)
    return render_template(
        "support/leads.html", leads=db.session.execute(query).scalars().all(), status=status
    )


@blueprint.get("/mail")
@roles_required(Role.SUPPORT)
def outbox() -> ResponseReturnValue:
    mails = (
        db.session.execute(sa.select(MailMessage).order_by(MailMessage.id.desc()).limit(500))
        .scalars()
        .all()
    )
    return render_template("support/outbox.html", mails=mails, kind=MailKind.label)


@blueprint.get("/mail/<id:mail_id>")
@roles_required(Role.SUPPORT)
def mail(mail_id: int) -> ResponseReturnValue:
    """One mail from the outbox as its recipient gets it: subject, recipient, body, attachment."""
    found = db.get_or_404(MailMessage, mail_id)
    return render_template(
        "support/mail.html", mail=found, kind=MailKind.label, status=MailStatus.LABELS
    )
