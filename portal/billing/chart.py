"""The usage chart of a subscription's current term, from its stored usage and reviews: daily
counts, licensed seats, quarter boundaries, review maxima (drawn by ``policy.usage_chart``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from portal.billing.policy.reviews import ReviewOutcome
from portal.billing.policy.usage_chart import ChartMarker, licensed_steps, render_usage_chart
from portal.billing.policy.utilization import SubscriptionTerm
from portal.billing.reviews import billed, reviews_of, subscription_term
from portal.billing.usage import current_term, usage_history
from portal.models import SeatReview, SeatReviewKind, Subscription


def usage_chart_svg(subscription: Subscription, chart_id: str = "usage-chart") -> str | None:
    """The term's chart: daily counts, licensed seats, quarter boundaries, review maxima."""
    if not billed(subscription):
        return None
    term = current_term(subscription)
    sub_term = subscription_term(subscription, priced=False)
    usage = usage_history(subscription, term.starts_on, term.ends_on)
    reviews = reviews_of(subscription, term)
    steps = _licensed_steps(sub_term, reviews)
    markers = [
        ChartMarker(
            day=r.peak_day or (r.period_ends_on - dt.timedelta(days=1)),
            users=r.measured_maximum,
            label=f"{r.label} max {r.measured_maximum}"
            + (f", {r.overage} charged" if r.outcome == ReviewOutcome.CHARGED else "")
            + (
                f", {r.overage} over, not charged"
                if r.outcome == ReviewOutcome.LAST_QUARTER_NOT_CHARGED
                else ""
            ),
        )
        for r in reviews
        if r.measured_maximum is not None
    ]
    return render_usage_chart(
        term=term,
        usage=usage,
        licensed=steps,
        markers=tuple(markers),
        title=f"Seat usage of {subscription.name}, {term.starts_on} to {term.last_day}",
        summary=f"{len(usage)} daily readings; {subscription.seats} seats licensed now.",
        chart_id=chart_id,
    )


def _licensed_steps(
    sub_term: SubscriptionTerm, reviews: Sequence[SeatReview]
) -> tuple[tuple[dt.date, int], ...]:
    steps = list(licensed_steps(sub_term))
    for review in reviews:
        if review.outcome == ReviewOutcome.CHARGED and review.kind == SeatReviewKind.QUARTERLY:
            steps.append((review.period_ends_on, steps[-1][1] + review.overage))
    return tuple(steps)
