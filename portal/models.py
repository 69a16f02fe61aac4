"""The portal's tables. Feature tables join this module as the features arrive."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any, Protocol, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from protocol.license import AddOnTier
from webcore.auth import SessionUserMixin
from webcore.db import new_database
from webcore.job_declarations import JobMixin
from webcore.lockout import SignInLockoutMixin
from webcore.throttle import ThrottleCounterMixin

AGILE_PLANNING = AddOnTier.ENTERPRISE_AGILE_PLANNING.value

db = new_database()


class Role(enum.StrEnum):
    CUSTOMER = "customer"
    SUPPORT = "support"
    SALES = "sales"


class Account(SessionUserMixin, db.Model):  # type: ignore[name-defined]
    """Someone who signs in to the portal: a customer contact, a support engineer, sales."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    password_hash: Mapped[str] = mapped_column(sa.String(300))
    role: Mapped[str] = mapped_column(sa.String(20))
    created_at: Mapped[dt.datetime]

    @property
    def display_name(self) -> str:
        return self.name


class Job(JobMixin, db.Model):  # type: ignore[name-defined]
    """The portal's scheduled work (see webcore.jobs)."""


class SignInLockout(SignInLockoutMixin, db.Model):  # type: ignore[name-defined]
    """Failed sign-ins per account or unknown login (see webcore.lockout)."""


class ThrottleCounter(ThrottleCounterMixin, db.Model):  # type: ignore[name-defined]
    """Per-client request counts of throttled endpoints (see webcore.throttle)."""


class SeenNonce(db.Model):  # type: ignore[name-defined]
    """Nonces of accepted signed requests, kept until their freshness window has passed."""

    __tablename__ = "seen_nonces"

    nonce: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)


# -- subscriptions and what is sold on them ------------------------------------------------------


class SubscriptionKind(enum.StrEnum):
    PAID = "paid"
    PLAN_TRIAL = "plan_trial"
    COMMUNITY = "community_program"
    # What the pages call each kind; a nonmember, so iterating the enum gives the kinds alone.
    LABELS = enum.nonmember(
        {PAID: "Paid", PLAN_TRIAL: "Plan trial", COMMUNITY: "Community program"}
    )


class Subscription(db.Model):  # type: ignore[name-defined]
    """A customer's subscription: plan, seats, term, contact, and how its license is delivered."""

    __tablename__ = "subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(40), unique=True)  # "A-S00012345", the badge
    customer_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id"), index=True)
    plan: Mapped[str] = mapped_column(sa.String(20))  # protocol.license.Plan values
    seats: Mapped[int]
    starts_on: Mapped[dt.date]
    ends_on: Mapped[dt.date]  # exclusive, as licenses are
    kind: Mapped[str] = mapped_column(sa.String(20))
    license_type: Mapped[str] = mapped_column(sa.String(20))  # protocol.license.LicenseType values
    # The review cycle the contract asks for (ReviewCycle values, R34, R35); the cycle in effect
    # is portal.billing.reviews.review_cycle_in_effect. The column keeps its first name.
    review_cycle: Mapped[str] = mapped_column("review_terms", sa.String(20))
    auto_renew: Mapped[bool] = mapped_column(default=True)
    contact_name: Mapped[str] = mapped_column(sa.String(200))
    contact_email: Mapped[str] = mapped_column(sa.String(254))
    contact_company: Mapped[str] = mapped_column(sa.String(200), default="")
    contact_country: Mapped[str] = mapped_column(sa.String(2))
    activation_code: Mapped[str | None] = mapped_column(sa.String(24), unique=True)
    created_at: Mapped[dt.datetime]
    # The day the last renewal (automatic or booked by sales) started the current term; None
    # until the first. The column keeps its first name (see ``term_starts_on``).
    renewed_on: Mapped[dt.date | None] = mapped_column("term_starts_on")
    # The day the customer gave notice of cancellation (R36: in time if >= 30 days before).
    cancellation_notified_on: Mapped[dt.date | None]
    ended_on: Mapped[dt.date | None]  # the term ended without renewal (R36)
    # A renewal sales booked before the term ends: the next term runs [ends_on,
    # renewal_ends_on) at renewal_seats, and starts on ends_on (portal.billing.renewals).
    renewal_seats: Mapped[int | None]
    renewal_ends_on: Mapped[dt.date | None]

    customer: Mapped[Account] = relationship()
    # The GitLab Duo purchases and trials: every Duo rule (R6 one tier at a time, R19, R23,
    # renewals) reads this list, so Enterprise Agile Planning rows, held in the same table, are
    # kept out of it and listed on their own (``portal.agile_planning``).
    add_on_purchases: Mapped[list[AddOnPurchase]] = relationship(
        back_populates="subscription",
        order_by="AddOnPurchase.id",
        primaryjoin=f"and_(Subscription.id == AddOnPurchase.subscription_id, "
        f"AddOnPurchase.tier != '{AGILE_PLANNING}')",
    )
    agile_planning_purchases: Mapped[list[AddOnPurchase]] = relationship(
        viewonly=True,
        order_by="AddOnPurchase.id",
        primaryjoin=f"and_(Subscription.id == AddOnPurchase.subscription_id, "
        f"AddOnPurchase.tier == '{AGILE_PLANNING}')",
    )

    @property
    def term_starts_on(self) -> dt.date:
        """The current term is [term_starts_on, ends_on) (R34, R35 review one term at a time)."""
        return self.renewed_on or self.starts_on


def purchase_id(add_on_purchase_id: int) -> str:
    """The purchase id licenses carry (``AddOnProduct.purchase_id``; the instance keeps it under
    the same name)."""
    return f"AOP-{add_on_purchase_id:08d}"


class AddOnPurchase(db.Model):  # type: ignore[name-defined]
    """Seats of one user-based add-on on a subscription for a term, bought or on trial (R1, R6):
    a GitLab Duo tier, or Enterprise Agile Planning."""

    __tablename__ = "add_on_purchases"

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(sa.ForeignKey("subscriptions.id"), index=True)
    tier: Mapped[str] = mapped_column(sa.String(30))  # protocol.license.AddOnTier values
    quantity: Mapped[int]
    starts_on: Mapped[dt.date]
    ends_on: Mapped[dt.date]  # exclusive
    trial: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime]

    subscription: Mapped[Subscription] = relationship(back_populates="add_on_purchases")

    @property
    def purchase_id(self) -> str:
        return purchase_id(self.id)


class PaymentMethod(db.Model):  # type: ignore[name-defined]
    """A card on file for a customer (the payment gateway decides whether a charge succeeds)."""

    __tablename__ = "payment_methods"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id"), index=True)
    brand: Mapped[str] = mapped_column(sa.String(20))
    last4: Mapped[str] = mapped_column(sa.String(4))

    @property
    def label(self) -> str:
        return f"{self.brand} ending in {self.last4}"


class OrderKind:
    DUO_PRO = "duo_pro"  # self-serve (R3) or sales
    ADD_ON_SEATS = "add_on_seats"  # Add seats (R5)
    DUO_ENTERPRISE = "duo_enterprise"  # sales only (R3)
    SUBSCRIPTION_SEATS = "subscription_seats"  # sales: more seats on the subscription
    RENEWAL = "renewal"  # sales
    TRIAL_EXTENSION = "trial_extension"  # sales, $0 (R23)
    AGILE_PLANNING = "enterprise_agile_planning"  # sales only (R3, R6)
    GITLAB_COM_SUBSCRIPTION = "gitlab_com_subscription"  # a plan bought for a GitLab.com group
    COMPUTE_MINUTES = "compute_minutes"  # GitLab.com packs of 1,000 minutes (R6)
    STORAGE = "storage"  # GitLab.com packs of 10 GiB for a year (R6)
    PLAN_UPGRADE = "plan_upgrade"  # self-serve: Premium to Ultimate for the rest of the term
    LABELS = {
        DUO_PRO: "GitLab Duo Pro seats",
        ADD_ON_SEATS: "Additional add-on seats",
        DUO_ENTERPRISE: "GitLab Duo Enterprise seats",
        SUBSCRIPTION_SEATS: "Additional subscription seats",
        RENEWAL: "Renewal",
        TRIAL_EXTENSION: "Duo trial extension ($0 opportunity)",
        AGILE_PLANNING: "Enterprise Agile Planning seats",
        GITLAB_COM_SUBSCRIPTION: "Subscription for a GitLab.com group",
        COMPUTE_MINUTES: "Additional compute minutes",
        STORAGE: "Additional storage",
        PLAN_UPGRADE: "Upgrade plan",
    }


class Order(db.Model):  # type: ignore[name-defined]
    """Something sold on a subscription, self-serve or by sales; money in integer cents."""

    __tablename__ = "orders"
    # A submitted form's key: the same summary or order form submitted twice (a retry, a second
    # tab) finds the first order instead of placing (and charging) a second one.
    __table_args__ = (
        sa.UniqueConstraint(
            "subscription_id", "idempotency_key", name="uq_orders_subscription_id_idempotency_key"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(sa.ForeignKey("subscriptions.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(30))
    channel: Mapped[str] = mapped_column(sa.String(20))  # "self_serve" or "sales"
    quantity: Mapped[int]
    amount_cents: Mapped[int]
    payment_reference: Mapped[str | None] = mapped_column(sa.String(100))
    add_on_purchase_id: Mapped[int | None] = mapped_column(sa.ForeignKey("add_on_purchases.id"))
    placed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("accounts.id"))
    note: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[dt.datetime]
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(64))


# -- activation, licenses and usage --------------------------------------------------------------


class Activation(db.Model):  # type: ignore[name-defined]
    """The instance a subscription's activation code is bound to (R8), and its sync state."""

    __tablename__ = "activations"

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(sa.ForeignKey("subscriptions.id"), unique=True)
    instance_id: Mapped[str] = mapped_column(sa.String(100), unique=True)
    key_id: Mapped[str] = mapped_column(sa.String(100), unique=True)
    public_key: Mapped[dict[str, Any]]
    gitlab_version: Mapped[str] = mapped_column(sa.String(40))
    hostname: Mapped[str] = mapped_column(sa.String(255))
    activated_at: Mapped[dt.datetime]
    last_sync_at: Mapped[dt.datetime | None]
    # The cloud license last answered to this instance: a sync compares its fingerprint with the
    # license it would build, and signs a new one only when the content changed.
    license_id: Mapped[int | None] = mapped_column(sa.ForeignKey("issued_licenses.id"))

    subscription: Mapped[Subscription] = relationship()
    license: Mapped[IssuedLicense | None] = relationship()


class IssuedLicense(db.Model):  # type: ignore[name-defined]
    """Every license the portal signed: cloud licenses sent at activation and sync, files."""

    __tablename__ = "issued_licenses"

    id: Mapped[int] = mapped_column(primary_key=True)
    license_id: Mapped[str] = mapped_column(sa.String(64), unique=True)
    subscription_id: Mapped[int] = mapped_column(sa.ForeignKey("subscriptions.id"), index=True)
    license_type: Mapped[str] = mapped_column(sa.String(20))
    instance_id: Mapped[str | None] = mapped_column(sa.String(100))
    fingerprint: Mapped[str] = mapped_column(sa.String(64))  # of the content, not the id/time
    token: Mapped[str] = mapped_column(sa.Text)
    issued_at: Mapped[dt.datetime]


# -- trial requests (leads) ----------------------------------------------------------------------


class LeadStatus:
    PENDING = "pending"
    TRIAL_CREATED = "trial_created"
    DROPPED = "dropped"


class Lead(db.Model):  # type: ignore[name-defined]
    """A trial request: a Duo trial request from the public form, until sales turns it into a
    trial or drops it; or GitLab.com's lead for a trial a group owner started there (its
    ``namespace_id``), recorded with the trial, and with GitLab's later lead fields."""

    __tablename__ = "leads"

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_name: Mapped[str] = mapped_column(sa.String(40), index=True)
    email: Mapped[str] = mapped_column(sa.String(254), index=True)
    first_name: Mapped[str] = mapped_column(sa.String(100))
    last_name: Mapped[str] = mapped_column(sa.String(100))
    company: Mapped[str] = mapped_column(sa.String(200))
    country: Mapped[str] = mapped_column(sa.String(2))
    add_on: Mapped[str | None] = mapped_column(sa.String(30))  # None: an Ultimate trial's lead
    # GitLab's lead fields GitLab.com sends (protocol.provisioning): None from the public form.
    company_size: Mapped[str | None] = mapped_column(sa.String(20))
    phone_number: Mapped[str | None] = mapped_column(sa.String(50))
    state: Mapped[str | None] = mapped_column(sa.String(10))
    namespace_id: Mapped[int | None]  # the GitLab.com group of a trial started there
    submitted_at: Mapped[dt.datetime]
    status: Mapped[str] = mapped_column(sa.String(20), default=LeadStatus.PENDING, index=True)
    reason: Mapped[str | None] = mapped_column(sa.String(40))
    reason_detail: Mapped[str | None] = mapped_column(sa.Text)
    processed_at: Mapped[dt.datetime | None]
    subscription_id: Mapped[int | None] = mapped_column(sa.ForeignKey("subscriptions.id"))
    add_on_purchase_id: Mapped[int | None] = mapped_column(sa.ForeignKey("add_on_purchases.id"))


# -- mail ----------------------------------------------------------------------------------------


class MailStatus:
    QUEUED = "queued"
    SENT = "sent"
    HELD = "held"  # no SMTP server configured: kept in the outbox only
    FAILED = "failed"
    LABELS = {
        QUEUED: "Waiting to be sent",
        SENT: "Sent",
        HELD: "Held in the outbox (no mail server)",
        FAILED: "Failed",
    }


class MailKind:
    """What a mail is about, as support reads it in the outbox."""

    LABELS = {
        "purchase_confirmation": "Purchase confirmation",
        "license": "New license",
        "trial_activation": "GitLab Duo trial activated",
        "invoice": "Invoice",
        "order_amendment": "Order amendment",
    }

    @classmethod
    def label(cls, kind: str) -> str:
        return cls.LABELS.get(kind, kind.replace("_", " ").capitalize())


class MailMessage(db.Model):  # type: ignore[name-defined]
    """A mail in the outbox: queued in the transaction that caused it, delivered by a job."""

    __tablename__ = "mail_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(40))
    recipient: Mapped[str] = mapped_column(sa.String(254))
    subject: Mapped[str] = mapped_column(sa.String(300))
    body: Mapped[str] = mapped_column(sa.Text)
    attachment_name: Mapped[str | None] = mapped_column(sa.String(200))
    attachment: Mapped[str | None] = mapped_column(sa.Text)
    subscription_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("subscriptions.id"), index=True
    )
    subscription: Mapped[Subscription | None] = relationship()
    status: Mapped[str] = mapped_column(sa.String(20), default=MailStatus.QUEUED)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[dt.datetime]
    sent_at: Mapped[dt.datetime | None]


class _SubscriptionRow(Protocol):
    subscription_id: Mapped[int]


_Row = TypeVar("_Row", bound=_SubscriptionRow)


def rows_of(
    model: type[_Row],
    subscription: Subscription,
    *order_by: sa.ColumnElement[Any] | Mapped[Any],
    where: sa.ColumnElement[bool] | None = None,
) -> list[_Row]:
    """The ``model`` rows of ``subscription`` (those ``where`` holds), in ``order_by`` order."""
    statement = sa.select(model).where(model.subscription_id == subscription.id)
    if where is not None:
        statement = statement.where(where)
    return list(db.session.scalars(statement.order_by(*order_by)))


# The billing models live in their own module (issue 16: one job a module); re-exported here so
# `from portal.models import Invoice` keeps working, and imported here (after everything they
# refer to exists) so the declarative registry sees their tables whenever portal.models is loaded.
from portal.billing_models import (  # noqa: E402, F401
    DailyUsageCount,
    Invoice,
    InvoiceLine,
    InvoiceState,
    SalesCheckIn,
    SeatReview,
    SeatReviewKind,
    UsageReport,
    invoice_number,
)

# GitLab.com's namespace links on the same metadata.
from portal.gitlab_com import models as _gitlab_com_models  # noqa: E402, F401
