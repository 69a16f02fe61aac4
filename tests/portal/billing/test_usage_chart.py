"""The usage chart: plain, accessible SVG with every caller text escaped (R33, R34)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import date

import pytest

from portal.billing.policy.calendar import review_years
from portal.billing.policy.invoices import BillingError
from portal.billing.policy.reviews import (
    Collection,
    annual_seat_reviews,
    quarterly_seat_reviews,
    review_year_utilization,
)
from portal.billing.policy.usage_chart import (
    ChartMarker,
    licensed_steps,
    render_usage_chart,
    usage_chart,
)
from portal.billing.policy.utilization import reported_utilization

from .helpers import annual_example, quarterly_example

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = 'A-S1 <script>alert("x")</script> & "Co"'


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def texts(root: ET.Element) -> list[str]:
    return [t.text or "" for t in root.iter(f"{SVG}text")]


def path(root: ET.Element, cls: str) -> str:
    (element,) = [p for p in root.iter(f"{SVG}path") if p.get("class") == cls]
    return element.get("d", "")


def quarterly_chart(**kwargs: object) -> ET.Element:
    sub, usage = quarterly_example()
    reviews = quarterly_seat_reviews(sub, usage, collection=Collection.AUTOMATIC)
    return parse(usage_chart(sub, usage, reviews, title="Seat usage", **kwargs))  # type: ignore[arg-type]


def test_chart_is_accessible_svg_with_title_and_description() -> None:
    root = quarterly_chart()
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title is not None and desc is not None
    assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    assert title.text == "Seat usage"
    assert desc.text is not None
    assert "licensed seats 100 from 2026-01-01, then 112 from 2026-04-01" in desc.text
    assert "Q4 max 130, 10 over, not charged (reached on 2026-10-12)" in desc.text


def test_r33_r34_chart_marks_each_reviews_measured_maximum_and_the_quarters() -> None:
    root = quarterly_chart()
    labels = texts(root)
    for expected in (
        "Q1",
        "Q2",
        "Q3",
        "Q4",
        "2026-04-01",
        "2027-01-01",
        "Q1 max 112, 12 charged",
        "Q2 max 120, 8 charged",
        "Q3 max 118",
        "Q4 max 130, 10 over, not charged",
        "Licensed seats",
    ):
        assert expected in labels, expected
    assert len(list(root.iter(f"{SVG}circle"))) == 4 + 1  # four maxima and the legend's dot


def test_r34_licensed_seats_step_up_at_the_end_of_each_charged_quarter() -> None:
    sub, usage = quarterly_example()
    reviews = quarterly_seat_reviews(sub, usage, collection=Collection.AUTOMATIC)
    assert licensed_steps(sub, reviews) == (
        (date(2026, 1, 1), 100),
        (date(2026, 4, 1), 112),
        (date(2026, 7, 1), 120),
    )
    d = path(quarterly_chart(), "licensed")
    assert d.count("V") == 2


def test_r35_annual_chart_marks_the_terms_maximum_and_a_flat_licensed_line() -> None:
    sub, usage = annual_example()
    reviews = annual_seat_reviews(sub, usage)
    root = parse(usage_chart(sub, usage, reviews, title="Annual"))
    assert "Term max 63, 13 charged" in texts(root)
    assert licensed_steps(sub, reviews) == ((date(2027, 3, 1), 50),)


def test_r33_days_without_a_reading_break_the_users_line_and_are_counted() -> None:
    sub, usage = quarterly_example()
    gap = [u for u in usage if not date(2026, 7, 10) <= u.day < date(2026, 7, 20)]
    root = parse(usage_chart(sub, gap, title="Gap"))
    assert path(root, "users").count("M") == 2
    desc = root.find(f"{SVG}desc")
    assert desc is not None and desc.text is not None
    assert "10 days of the term have no reading" in desc.text


def test_every_caller_text_is_escaped() -> None:
    sub, usage = quarterly_example()
    svg = render_usage_chart(
        term=sub.term,
        usage=usage,
        licensed=[(sub.term.starts_on, 100)],
        markers=[ChartMarker(day=date(2026, 2, 16), users=112, label=HOSTILE)],
        title=HOSTILE,
        summary=HOSTILE,
    )
    assert "<script" not in svg
    root = parse(svg)
    assert not list(root.iter(f"{SVG}script"))
    title = root.find(f"{SVG}title")
    assert title is not None and title.text == HOSTILE
    assert HOSTILE in texts(root)


def test_chart_without_usage_still_draws_the_frame() -> None:
    sub, _ = quarterly_example()
    root = parse(usage_chart(sub, [], title="Empty"))
    assert not [p for p in root.iter(f"{SVG}path") if p.get("class") == "users"]
    assert "Q1" in texts(root)


@pytest.mark.parametrize("chart_id", ["", "1abc", 'x" onload="alert(1)', "a b"])
def test_a_bad_chart_id_is_refused(chart_id: str) -> None:
    sub, usage = quarterly_example()
    with pytest.raises(BillingError, match="chart_id"):
        usage_chart(sub, usage, title="x", chart_id=chart_id)


def test_licensed_steps_must_start_on_the_term_and_go_forward() -> None:
    sub, usage = quarterly_example()
    with pytest.raises(BillingError, match="licensed"):
        render_usage_chart(term=sub.term, usage=usage, licensed=[], title="x")
    with pytest.raises(BillingError, match="licensed"):
        render_usage_chart(
            term=sub.term,
            usage=usage,
            licensed=[(sub.term.starts_on, 1), (date(2026, 5, 1), 2), (date(2026, 4, 1), 3)],
            title="x",
        )


def test_element_ids_are_prefixed_so_two_charts_can_share_a_page() -> None:
    svg = usage_chart(*quarterly_example(), title="x", chart_id="sub-7")
    assert re.findall(r'id="([^"]+)"', svg) == ["sub-7-title", "sub-7-desc"]


def test_a_check_in_maximum_is_marked_on_the_day_it_was_measured() -> None:
    sub, usage = annual_example()
    (period,) = review_years(sub.term)
    review = review_year_utilization(
        sub, period, reported_utilization(period, 70), licensed_seats=50
    )
    root = parse(usage_chart(sub, [], [review], title="Check-in"))
    assert "Term max 70, 20 charged" in texts(root)
    desc = root.find(f"{SVG}desc")
    assert desc is not None and desc.text is not None
    assert "(reached on 2028-02-29)" in desc.text
