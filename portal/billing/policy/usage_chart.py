# The seat usage chart of a subscription's term, rendered on the server as SVG text.
#
# What it draws is the picture the billing policy (seeds/004) draws in words (R33-R35): the daily
# billable users as a line (broken where a day has no reading), the licensed seats as a stepped
# line (rising after a charged quarterly review), the quarter boundaries as labelled vertical
# lines, and each review's measured maximum as a labelled point.
#
# Rules this module enforces:
# - The chart is plain SVG: readable without JavaScript or CSS, with <title> and <desc> naming
#   what a screen reader needs (the maxima, the licensed seats, what was charged) and text labels
#   on everything a colour would otherwise have to explain.
# - Every piece of text that comes from the caller is escaped: the markup is the template
#   portal/templates/billing/usage_chart.svg (autoescaped), filled with the numbers worked out
#   here and the caller's strings.
from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import jinja2

from portal.billing.policy.calendar import Period, term_quarters
from portal.billing.policy.invoices import BillingError, check_count, check_day
from portal.billing.policy.reviews import AnnualReview, QuarterlyReview, ReviewOutcome
from portal.billing.policy.utilization import SubscriptionTerm, UsageReading

__all__ = ["ChartMarker", "licensed_steps", "render_usage_chart", "usage_chart"]

WIDTH, HEIGHT = 720, 320
LEFT, RIGHT, TOP, BOTTOM = 56, 24, 44, 52
_ID = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")
# The portal's templates, outside Flask: the policy needs no app to draw. Autoescape escapes
# every caller text; |n writes a coordinate.
_TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("portal", "templates"),
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
    undefined=jinja2.StrictUndefined,
)


@dataclass(frozen=True, kw_only=True)
class ChartMarker:
    """A labelled point: a review's measured maximum (R33) on the day it was reached."""

    day: date
    users: int
    label: str

    def __post_init__(self) -> None:
        check_day("marker.day", self.day)
        check_count("marker.users", self.users)


def _num(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


_TEMPLATES.filters["n"] = _num


def _text_width(text: str) -> float:
    # An estimate for 11px sans-serif; enough to keep a label inside the chart.
    return 6.2 * len(text)


def _tick_step(top: int) -> int:
    # A 1-2-5 step giving at most about six gridlines.
    raw = max(top / 5, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if factor * magnitude >= raw:
            return int(factor * magnitude)
    return int(10 * magnitude)  # pragma: no cover - the loop always returns


def render_usage_chart(
    *,
    term: Period,
    usage: Iterable[UsageReading],
    licensed: Sequence[tuple[date, int]],
    markers: Sequence[ChartMarker] = (),
    title: str,
    summary: str = "",
    chart_id: str = "usage-chart",
) -> str:
    """An SVG document of daily billable users over ``term``.

    ``licensed`` is the licensed seat count as steps: (first day, seats), in date order, the
    first on the term's start. ``summary`` is added to the chart's <desc>. ``chart_id`` prefixes
    the element ids, so several charts can share a page.
    """
    if not _ID.fullmatch(chart_id):
        raise BillingError("chart_id: letters, digits, '-' and '_' only, starting with a letter")
    if not licensed or licensed[0][0] != term.starts_on:
        raise BillingError("licensed: the first step must start on the term's start")
    for (before, _), (after, _) in zip(licensed, licensed[1:], strict=False):
        if after <= before:
            raise BillingError("licensed: steps must be in date order")
    counts: dict[date, int] = {}
    for reading in usage:
        day = check_day("usage.day", reading.day)
        if day in term:
            users = check_count("usage.billable_users", reading.billable_users)
            counts[day] = max(users, counts.get(day, 0))

    peak = max([*counts.values(), *(s for _, s in licensed), *(m.users for m in markers), 1])
    step = _tick_step(peak)
    y_top = (peak // step + 1) * step
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(day: date) -> float:
        return LEFT + plot_w * (day - term.starts_on).days / term.days

    def y(users: int) -> float:
        return TOP + plot_h * (1 - users / y_top)

    days_without = term.days - len(counts)
    desc = [
        f"Daily billable users from {term.starts_on.isoformat()} to "
        f"{term.last_day.isoformat()}; licensed seats "
        + ", then ".join(f"{seats} from {day.isoformat()}" for day, seats in licensed)
        + "."
    ]
    desc += [f"{m.label} (reached on {m.day.isoformat()})." for m in markers]
    if days_without:
        desc.append(f"{days_without} days of the term have no reading.")
    if summary:
        desc.append(summary)
    end = x(term.ends_on)
    return _TEMPLATES.get_template("billing/usage_chart.svg").render(
        width=WIDTH,
        height=HEIGHT,
        left=LEFT,
        plot_right=WIDTH - RIGHT,
        top=TOP,
        bottom=TOP + plot_h,
        middle=TOP + plot_h / 2,
        legend_y=HEIGHT - 12,
        chart_id=chart_id,
        title=title,
        desc=" ".join(desc),
        gridlines=[(value, y(value)) for value in range(0, y_top + 1, step)],
        quarters=[
            {
                "left": x(q.starts_on),
                "right": x(q.ends_on),
                # "Y2 Q1" rather than "Year 2 Q1": twelve quarters of a 36-month term fit.
                "label": q.label if q.year is None else f"Y{q.year} Q{q.number}",
                "starts_on": q.starts_on.isoformat(),
            }
            for q in term_quarters(term)
        ],
        end=end,
        ends_on=term.ends_on.isoformat(),
        licensed_path=_licensed_path(licensed, x, y, end),
        users_path=_users_path(counts, x, y),
        markers=[_placed(marker, x(marker.day), y(marker.users)) for marker in markers],
    )


def _licensed_path(
    licensed: Sequence[tuple[date, int]],
    x: Callable[[date], float],
    y: Callable[[int], float],
    end: float,
) -> str:
    # A step line: the level holds until the next change.
    steps = [f"M{_num(x(licensed[0][0]))} {_num(y(licensed[0][1]))}"]
    for day, seats in licensed[1:]:
        steps.append(f"H{_num(x(day))} V{_num(y(seats))}")
    steps.append(f"H{_num(end)}")
    return " ".join(steps)


def _users_path(
    counts: dict[date, int], x: Callable[[date], float], y: Callable[[int], float]
) -> str:
    # Each day's count holds for that day, so the line is drawn in steps, and broken where a day
    # has no reading.
    segments: list[str] = []
    previous: date | None = None
    for day in sorted(counts):
        following = day + timedelta(days=1)
        if previous is not None and (day - previous).days == 1:
            segments.append(f"V{_num(y(counts[day]))} H{_num(x(following))}")
        else:
            segments.append(f"M{_num(x(day))} {_num(y(counts[day]))} H{_num(x(following))}")
        previous = day
    return " ".join(segments)


def _placed(marker: ChartMarker, cx: float, cy: float) -> dict[str, object]:
    # Labels read left to right from the point, unless they would run off the chart.
    anchor = "end" if cx + 6 + _text_width(marker.label) > WIDTH - 4 else "start"
    return {
        "x": cx,
        "y": cy,
        "dx": -6 if anchor == "end" else 6,
        "anchor": anchor,
        "label": marker.label,
    }


def _marker(review: QuarterlyReview | AnnualReview) -> ChartMarker | None:
    utilization = review.utilization
    if utilization.maximum is None:
        return None
    if isinstance(review, QuarterlyReview):
        name = review.quarter.label
        fate = {
            ReviewOutcome.CHARGED: f", {review.overage} charged",
            ReviewOutcome.LAST_QUARTER_NOT_CHARGED: f", {review.overage} over, not charged",
        }.get(review.outcome, "")
    else:
        name = review.period.label
        fate = f", {review.overage} charged" if review.outcome is ReviewOutcome.CHARGED else ""
    # A maximum reported at a sales check-in has no day of its own: it is marked on the day it
    # was measured, the period's last.
    return ChartMarker(
        day=utilization.peak_day or utilization.measured_on,
        users=utilization.maximum,
        label=f"{name} max {utilization.maximum}{fate}",
    )


def licensed_steps(
    subscription: SubscriptionTerm, reviews: Sequence[QuarterlyReview | AnnualReview] = ()
) -> tuple[tuple[date, int], ...]:
    """The licensed seats over the term as (first day, seats) steps.

    Seats bought during the term count from their effective day; a charged quarterly overage
    counts from the end of its quarter (R34).
    """
    changes: dict[date, int] = {}
    for purchase in subscription.seat_purchases:
        changes[purchase.effective_on] = changes.get(purchase.effective_on, 0) + purchase.seats
    for review in reviews:
        if isinstance(review, QuarterlyReview) and review.outcome is ReviewOutcome.CHARGED:
            day = review.quarter.ends_on
            changes[day] = changes.get(day, 0) + review.overage
    steps = [
        (
            subscription.term.starts_on,
            subscription.seats + changes.pop(subscription.term.starts_on, 0),
        )
    ]
    for day in sorted(changes):
        if day < subscription.term.ends_on:
            steps.append((day, steps[-1][1] + changes[day]))
    return tuple(steps)


def usage_chart(
    subscription: SubscriptionTerm,
    usage: Iterable[UsageReading],
    reviews: Sequence[QuarterlyReview | AnnualReview] = (),
    *,
    title: str,
    chart_id: str = "usage-chart",
) -> str:
    """The chart of a subscription's term with the results of its seat reviews marked."""
    markers = tuple(m for m in map(_marker, reviews) if m is not None)
    return render_usage_chart(
        term=subscription.term,
        usage=usage,
        licensed=licensed_steps(subscription, reviews),
        markers=markers,
        title=title,
        chart_id=chart_id,
    )
