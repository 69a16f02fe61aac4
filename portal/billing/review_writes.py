"""The writes of seat reviews, kept until the reviews of a whole run are decided (R34, R35).

A seat review decides everything from what it read (``review_inputs``) before it writes: the
review rows, the invoices of the charged ones and the new licenses they send. The daily job
reviews hundreds of subscriptions this way, then writes them in a few Core inserts (no ORM
entities: nothing reads them back in the run); a subscription whose review fails (a plan
missing from PRICE_LIST, bad data) is dropped whole, as if its review had run in a savepoint,
and the others go on.

Operations flush, never commit; the jobs and routes commit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from portal.billing.invoicing import (
    invoice_mail,
    new_cloud_license_mail,
    send_new_license,
    store_invoices,
)
from portal.billing.policy.invoices import Invoice as PolicyInvoice
from portal.billing.review_inputs import ReviewRow
from portal.mail import queue_mails
from portal.models import InvoiceState, SeatReview, Subscription, db
from protocol.license import LicenseType
from webcore.db import insert_ids


@dataclass(frozen=True)
class _InvoiceDue:
    subscription: Subscription
    invoice: PolicyInvoice
    state: str | None
    review: ReviewRow


@dataclass(frozen=True)
class _LicenseDue:
    subscription: Subscription
    seats: int  # the licensed seats the license carries (a later quarter may raise them again)
    why: str


@dataclass
class ReviewWrites:
    """The review rows, invoices and new licenses decided so far, in the order decided."""

    reviews: list[ReviewRow] = field(default_factory=list)
    effects: list[_InvoiceDue | _LicenseDue] = field(default_factory=list)

    def review(self, row: ReviewRow) -> None:
        self.reviews.append(row)

    def invoice(
        self,
        subscription: Subscription,
        invoice: PolicyInvoice,
        review: ReviewRow,
        state: str | None = None,
    ) -> None:
        self.effects.append(_InvoiceDue(subscription, invoice, state, review))

    def new_license(self, subscription: Subscription, why: str) -> None:
        self.effects.append(_LicenseDue(subscription, subscription.seats, why))

    def mark(self) -> tuple[int, int]:
        return len(self.reviews), len(self.effects)

    def drop_since(self, mark: tuple[int, int]) -> None:
        """Forget what was decided after ``mark`` (a review that failed part way)."""
        del self.reviews[mark[0] :]
        del self.effects[mark[1] :]

    def write(self, now: dt.datetime) -> None:
        """The review rows in one insert, the invoices in two, then their mails and the new
        licenses' in one, in the order decided (R7)."""
        ids = insert_ids(
            db.session.connection(),
            SeatReview.__table__,
            [row.values() for row in self.reviews],
        )
        for row, review_id in zip(self.reviews, ids, strict=True):
            row.id = review_id
        due = [e for e in self.effects if isinstance(e, _InvoiceDue)]
        rows = iter(
            store_invoices(
                [
                    (e.subscription, e.invoice, e.state or InvoiceState.INVOICED, e.review)
                    for e in due
                ],
                now,
            )
        )
        mails: list[tuple[str, Subscription, str, str]] = []
        for effect in self.effects:
            if isinstance(effect, _InvoiceDue):
                mails.append(invoice_mail(effect.subscription, next(rows), effect.invoice))
                continue
            seats = effect.subscription.seats
            effect.subscription.seats = effect.seats  # the mail names the seats of its time
            if effect.subscription.license_type == LicenseType.ONLINE_CLOUD.value:
                mails.append(new_cloud_license_mail(effect.subscription, effect.why))
            else:
                queue_mails(mails)  # the license file's mail comes after those before it
                mails = []
                send_new_license(effect.subscription, now, effect.why)
            effect.subscription.seats = seats
        queue_mails(mails)
        self.reviews.clear()
        self.effects.clear()
