"""An invoice for every charge: self-serve purchases, *Add seats* and sales orders (a $0 trial
extension included) are invoiced line by line with the period each line covers, shown to the
customer and to support, and mailed to the subscription contact with the order's confirmation
(R7); a form submitted twice is charged and invoiced once. The automatic renewal's invoice says
which active user count it used (R36).

The portal's clock starts at 2026-03-02; a test subscription runs 2026-01-31 .. 2027-01-30
(ends_on 2027-01-31), so a purchase today covers 335 days: 2026-03-02 .. 2027-01-30.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from portal.models import Invoice, Order, db
from tests.portal.billing_helpers import invoices, store_daily_usage
from tests.portal.helpers import (
    CONTACT,
    OWNER,
    add_ons,
    count,
    csrf_token,
    customer_subscription,
    mails,
    make_account,
    make_customer,
    post_form,
    run_jobs_until,
    sign_in,
    signed_in_customer,
)
from tests.portal.test_mail import Inbox, running_smtp_server
from tests.portal.test_placed_once import _gateway, _submit, _summary
from tests.portal.test_support_and_sales import _with_trial

SALES = "sales@provlab.example"
SUPPORT = "support@provlab.example"
PERIOD = "2026-03-02 .. 2027-01-30"


def _buy(client: Any, name: str, flow: str, seats: int, card: int) -> None:
    response = post_form(
        client,
        f"/subscriptions/{name}/{flow}",
        {"seats": str(seats), "step": "purchase", "payment_method": str(card)},
        page="/subscriptions",
    )
    assert response.status_code == 302


def _sales(app: Flask) -> Any:
    make_account(app, SALES, role="sales")
    return sign_in(app, SALES)


def _sales_order(sales: Any, name: str, **form: str) -> None:
    response = post_form(sales, f"/sales/subscriptions/{name}/orders", form, page="/sales")
    assert response.status_code == 302
    assert "placed" in sales.get(response.location).get_data(as_text=True)


def _links(page: str, pattern: str) -> list[str]:
    return re.findall(rf'href="({pattern})"', page)


def test_r7_a_purchase_and_add_seats_are_invoiced_with_lines_and_periods(
    portal_app: Flask,
) -> None:
    client, (_, name, card, _) = signed_in_customer(portal_app)
    _buy(client, name, "buy_duo_pro", 10, card)
    _buy(client, name, "add_seats", 5, card)

    # 10 x 22,800 x 335/365 = 209,260.27 -> 209,260; 5 x 22,800 x 335/365 = 104,630.14 -> 104,630
    assert [
        (i["kind"], i["issued_on"], i["state"], i["lines"]) for i in invoices(portal_app, name)
    ] == [
        ("order", "2026-03-02", "invoiced", [(10, 22800, "335/365", 209260)]),
        ("order", "2026-03-02", "invoiced", [(5, 22800, "335/365", 104630)]),
    ]
    with portal_app.app_context():
        orders = db.session.execute(sa.select(Order).order_by(Order.id)).scalars().all()
        assert [o.amount_cents for o in orders] == [209260, 104630]  # charged what is invoiced

    # The customer: both on the subscription's invoices, each with its line and period.
    listing = client.get(f"/subscriptions/{name}/invoices").get_data(as_text=True)
    assert "GitLab Duo Pro seats" in listing and "Additional add-on seats" in listing
    pages = [
        client.get(link).get_data(as_text=True)
        for link in _links(listing, r"/subscriptions/[^\"]+/invoices/\d+")
    ]
    assert len(pages) == 2
    bought = next(p for p in pages if "$2,092.60" in p)
    assert "GitLab Duo Pro seats" in bought and PERIOD in bought and "335/365" in bought
    assert 'data-testid="invoice-order"' in bought and "paid by card" in bought
    added = next(p for p in pages if "$1,046.30" in p)
    assert "Additional GitLab Duo Pro seats" in added and PERIOD in added

    # Support: the console's invoices and the subscription's, each invoice with its lines.
    make_account(portal_app, SUPPORT, role="support")
    support = sign_in(portal_app, SUPPORT, path="/support/sign_in")
    everything = support.get("/support/invoices").get_data(as_text=True)
    console = support.get(f"/support/subscriptions/{name}").get_data(as_text=True)
    for link in _links(everything, r"/support/invoices/\d+"):
        assert link in console
        shown = support.get(link).get_data(as_text=True)
        assert PERIOD in shown and ("$2,092.60" in shown or "$1,046.30" in shown)

    # R7: each confirmation to the contact carries its invoice, line, period and total.
    confirmations = mails(portal_app, "purchase_confirmation")
    assert [m["to"] for m in confirmations] == [CONTACT, CONTACT]
    assert f"({PERIOD}): 10 x $228.00 x 335/365 = $2,092.60" in confirmations[0]["body"]
    assert f"({PERIOD}): 5 x $228.00 x 335/365 = $1,046.30" in confirmations[1]["body"]
    assert all(re.search(r"Invoice INV-\d{8}, issued 2026-03-02", m["body"]) for m in confirmations)


def test_r7_the_invoice_reaches_the_contact_over_smtp_after_the_commit(make_portal: Any) -> None:
    inbox = Inbox()
    with running_smtp_server(inbox) as port:
        app = make_portal(SMTP_HOST="127.0.0.1", SMTP_PORT=port)
        client, (_, name, card, _) = signed_in_customer(app)
        _buy(client, name, "buy_duo_pro", 10, card)
        assert inbox.messages == []  # queued in the purchase's transaction
        run_jobs_until(app, "2026-03-02T01:00:00Z")
    (confirmation,) = [m for m in inbox.messages if "confirmed" in m["Subject"]]
    assert confirmation["To"] == CONTACT
    body = confirmation.get_payload(decode=True).decode()
    assert f"GitLab Duo Pro seats ({PERIOD}): 10 x $228.00 x 335/365 = $2,092.60" in body
    assert "Total: $2,092.60" in body


def test_r3_r5_r7_sales_orders_are_invoiced_renewal_included(portal_app: Flask) -> None:
    name = make_customer(portal_app).name  # Premium, 50 seats
    sales = _sales(portal_app)
    _sales_order(sales, name, kind="duo_enterprise", seats="5")
    _sales_order(sales, name, kind="subscription_seats", seats="5")
    _sales_order(sales, name, kind="renewal", seats="55")

    found = invoices(portal_app, name)
    assert [(i["kind"], i["issued_on"], i["lines"]) for i in found] == [
        # 5 x 46,800 x 335/365 = 214,767.12
        ("order", "2026-03-02", [(5, 46800, "335/365", 214767)]),
        # 5 x 34,800 x 335/365 = 159,698.63
        ("order", "2026-03-02", [(5, 34800, "335/365", 159699)]),
        # a year from 2027-01-31: 55 x 34,800 = 1,914,000 and the Enterprise seats, 5 x 46,800
        ("renewal", "2026-03-02", [(55, 34800, "365/365", 1914000), (5, 46800, "365/365", 234000)]),
    ]
    with portal_app.app_context():
        orders = db.session.execute(sa.select(Order).order_by(Order.id)).scalars().all()
        assert [o.amount_cents for o in orders] == [i["total_cents"] for i in found]
        renewal = db.session.get(Invoice, found[2]["id"])
        assert renewal is not None and renewal.order is not None
        assert [(line.period_starts_on, line.last_day) for line in renewal.lines] == [
            (dt.date(2027, 1, 31), dt.date(2028, 1, 30))
        ] * 2
    assert len(mails(portal_app, "purchase_confirmation")) == 3


def test_r23_r7_a_trial_extension_is_invoiced_as_one_zero_dollar_line(portal_app: Flask) -> None:
    name = _with_trial(portal_app)
    trial_ended_on = add_ons(portal_app, name)[0]["ends_on"]
    _sales_order(_sales(portal_app), name, kind="trial_extension", days="30", note="opp-123")

    (invoice,) = invoices(portal_app, name)
    (line,) = invoice["lines"]
    assert invoice["total_cents"] == 0 and line[1:] == (0, "30/365", 0)
    with portal_app.app_context():
        row = db.session.get(Invoice, invoice["id"])
        assert row is not None and row.order is not None and row.order.kind == "trial_extension"
        (stored,) = row.lines  # the 30 days added after the trial's old end
        assert stored.period_starts_on == trial_ended_on
        assert stored.period_ends_on == trial_ended_on + dt.timedelta(days=30)
    customer = sign_in(portal_app, "owner@example.com")
    page = customer.get(f"/subscriptions/{name}/invoices/{invoice['id']}").get_data(as_text=True)
    assert "trial extended by 30 days ($0 opportunity)" in page and "$0.00" in page
    (confirmation,) = mails(portal_app, "purchase_confirmation")
    assert "Total: $0.00" in confirmation["body"]


def test_the_same_summary_or_order_form_twice_is_invoiced_once(portal_app: Flask) -> None:
    gateway = _gateway(portal_app)
    client, (_, name, card, _) = signed_in_customer(portal_app)
    form = _summary(client, name, "buy_duo_pro", 10)
    _submit(client, name, "buy_duo_pro", form, card)
    _submit(client, name, "buy_duo_pro", form, card)  # a retry, a second tab

    sales = _sales(portal_app)
    page = sales.get(f"/sales/subscriptions/{name}").get_data(as_text=True)
    key = re.search(
        r'value="subscription_seats">\s*<input type="hidden" name="idempotency_key" value="([^"]+)"',
        page,
    )
    assert key is not None
    order_form = {
        "kind": "subscription_seats",
        "seats": "5",
        "idempotency_key": key.group(1),
        "csrf_token": csrf_token(sales, "/sales"),
    }
    for _ in range(2):
        assert sales.post(f"/sales/subscriptions/{name}/orders", data=order_form).status_code == 302

    assert len(gateway.charges) == 1
    assert count(portal_app, Order) == 2 and count(portal_app, Invoice) == 2
    assert len(mails(portal_app, "purchase_confirmation")) == 2


# -- R36: the figure a renewal used ----------------------------------------------------------------


def _counts(until: dt.date, days: int, users: int) -> list[tuple[dt.date, int]]:
    return [(until - dt.timedelta(days=n), users) for n in range(days, 0, -1)]


@pytest.mark.parametrize(
    ("reported_until", "note"),
    [
        (dt.date(2027, 1, 1), "Active users on 2026-12-31, the last day of the term: 42."),
        (
            dt.date(2026, 12, 30),  # the instance stopped reporting after 2026-12-29
            "No usage reported on 2026-12-31; used the last count received, 2026-12-29: 42 users.",
        ),
        (
            None,
            "No usage reported on 2026-12-31 or before it, and no sales check-in; used the "
            "licensed seats: 50 users.",
        ),
    ],
)
def test_r36_the_renewal_invoice_says_which_active_user_count_it_used(
    make_portal: Any, reported_until: dt.date | None, note: str
) -> None:
    app: Flask = make_portal(start="2026-12-20T09:00:00Z")
    name = customer_subscription(
        app, OWNER, contact_email=CONTACT, seats=50, starts_on=dt.date(2026, 1, 1)
    )
    if reported_until is not None:
        store_daily_usage(app, name, _counts(reported_until, 20, 42))

    run_jobs_until(app, "2027-01-01T06:00:00Z")

    (renewal,) = invoices(app, name)
    seats = 42 if reported_until else 50
    assert renewal["kind"] == "renewal" and renewal["lines"][0][0] == seats
    client = sign_in(app, OWNER)
    page = client.get(f"/subscriptions/{name}/invoices/{renewal['id']}").get_data(as_text=True)
    assert f'data-testid="invoice-note">{note}<' in page
    (mail,) = mails(app, "invoice")
    assert note in mail["body"]
