"""Self-serve purchases on the subscription card, over HTTP, with CSRF (R1, R3–R7)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Flask

from portal.models import AddOnPurchase, MailMessage, Order
from tests.portal.helpers import (
    OWNER,
    add_ons,
    buy,
    count,
    flashes,
    mails,
    make_account,
    make_subscription,
    payment_method_ids,
    post_form,
    sign_in,
    signed_in_customer,
    subscription_row,
)


def test_r3_r1_r7_buy_duo_pro_summary_then_purchase_provisions_seats_and_mails(
    portal_app: Flask,
) -> None:
    client, (_, name, card, _) = signed_in_customer(portal_app)

    form = client.get(f"/subscriptions/{name}/buy_duo_pro")
    assert form.status_code == 200 and "Number of seats" in form.get_data(as_text=True)
    summary = post_form(
        client,
        f"/subscriptions/{name}/buy_duo_pro",
        {"seats": "10", "step": "summary"},
        page="/subscriptions",
    )
    page = summary.get_data(as_text=True)
    assert "Purchase summary" in page and "Payment method" in page and "Purchase seats" in page
    # A year's list price of $228 a seat, prorated over the 335 days left of the term.
    assert "$2,092.60" in page
    assert add_ons(portal_app, name) == []  # the summary buys nothing

    response = buy(client, name, 10, card)
    assert response.status_code == 302
    (purchase,) = add_ons(portal_app, name)
    assert purchase["tier"] == "duo_pro" and purchase["quantity"] == 10 and not purchase["trial"]
    assert purchase["ends_on"] == subscription_row(portal_app, name)["ends_on"]
    card_page = client.get(f"/subscriptions/{name}").get_data(as_text=True)
    assert "GitLab Duo Pro: 10 seats" in card_page
    (confirmation,) = mails(portal_app, "purchase_confirmation")
    assert confirmation["to"] == "contact@example.com"  # R7: the subscription contact
    assert "10 GitLab Duo Pro seats" in confirmation["body"] and "$2,092.60" in confirmation["body"]


def test_r3_duo_enterprise_cannot_be_bought_self_serve(portal_app: Flask) -> None:
    client, (_, name, card, _) = signed_in_customer(portal_app)
    response = post_form(
        client,
        f"/sales/subscriptions/{name}/orders",
        {"kind": "duo_enterprise", "seats": "5"},
        page="/subscriptions",
    )
    assert response.status_code == 403
    card_page = client.get(f"/subscriptions/{name}").get_data(as_text=True)
    assert "GitLab Duo Enterprise is sold by the sales team" in card_page
    assert add_ons(portal_app, name) == [] and count(portal_app, Order) == 0


def test_r4_no_add_ons_on_free(portal_app: Flask) -> None:
    client, (_, name, card, _) = signed_in_customer(portal_app, plan="free")
    response = buy(client, name, 5, card)
    assert response.status_code == 422
    assert "sold on Premium and Ultimate subscriptions only, not on Free" in flashes(response)
    assert add_ons(portal_app, name) == [] and count(portal_app, Order) == 0
    assert count(portal_app, MailMessage) == 0


def test_r5_add_on_seats_never_exceed_subscription_seats(portal_app: Flask) -> None:
    client, (_, name, card, _) = signed_in_customer(portal_app, seats=20)
    too_many = buy(client, name, 21, card)
    assert too_many.status_code == 422
    assert "can't exceed the subscription's 20 seats" in flashes(too_many)
    assert add_ons(portal_app, name) == []

    assert buy(client, name, 15, card).status_code == 302
    over = buy(client, name, 6, card, path="add_seats")
    assert over.status_code == 422
    assert "you can add at most 5" in flashes(over)
    assert add_ons(portal_app, name)[0]["quantity"] == 15

    assert buy(client, name, 5, card, path="add_seats").status_code == 302
    assert add_ons(portal_app, name)[0]["quantity"] == 20
    assert [m["kind"] for m in mails(portal_app)] == ["purchase_confirmation"] * 2


def test_r5_add_seats_needs_an_add_on_already_bought(portal_app: Flask) -> None:
    client, (_, name, card, _) = signed_in_customer(portal_app)
    response = buy(client, name, 3, card, path="add_seats")
    assert response.status_code == 422
    assert "no purchased GitLab Duo add-on" in flashes(response)
    assert count(portal_app, AddOnPurchase) == 0


def test_r6_a_second_duo_pro_purchase_is_refused_one_tier_at_a_time(portal_app: Flask) -> None:
    client, (_, name, card, _) = signed_in_customer(portal_app)
    assert buy(client, name, 5, card).status_code == 302
    again = buy(client, name, 5, card)
    assert again.status_code == 422 and "use Add seats" in flashes(again)
    assert len(add_ons(portal_app, name)) == 1 and count(portal_app, Order) == 1


def test_declined_payment_provisions_nothing(portal_app: Flask) -> None:
    client, (_, name, _, declined) = signed_in_customer(portal_app)
    response = buy(client, name, 5, declined)
    assert response.status_code == 422
    assert "declined" in flashes(response)
    assert add_ons(portal_app, name) == []
    assert count(portal_app, Order) == 0 and count(portal_app, MailMessage) == 0


def test_someone_elses_payment_method_is_refused(portal_app: Flask) -> None:
    client, (_, name, _, _) = signed_in_customer(portal_app)
    other = make_account(portal_app, "other@example.com")
    from tests.portal.helpers import payment_method_ids as ids

    response = buy(client, name, 5, ids(portal_app, other)[0])
    assert response.status_code == 422 and add_ons(portal_app, name) == []


def test_bad_seat_numbers_are_refused_clearly(portal_app: Flask) -> None:
    client, (_, name, card, _) = signed_in_customer(portal_app)
    for seats in ("", "0", "-3", "abc", "99999999999"):
        response = post_form(
            client,
            f"/subscriptions/{name}/buy_duo_pro",
            {"seats": seats, "step": "summary"},
            page="/subscriptions",
        )
        assert response.status_code == 422, seats
    assert add_ons(portal_app, name) == []


def test_expired_subscription_sells_nothing(portal_app: Flask) -> None:
    client, (_, name, card, _) = signed_in_customer(
        portal_app, starts_on=dt.date(2025, 1, 1), ends_on=dt.date(2026, 1, 1)
    )
    response = buy(client, name, 5, card)
    assert response.status_code == 422 and "not active" in flashes(response)


def test_change_subscription_contact(portal_app: Flask) -> None:
    client, (_, name, _, _) = signed_in_customer(portal_app)

    def change(**contact: str) -> Any:
        return post_form(client, f"/subscriptions/{name}/contact", contact, page="/subscriptions")

    bad = change(name="New", email="not-an-email", company="", country="DE")
    assert bad.status_code == 422
    assert subscription_row(portal_app, name)["contact_email"] == "contact@example.com"
    good = change(name="New Contact", email="new@example.com", company="X", country="fr")
    assert good.status_code == 302
    assert subscription_row(portal_app, name)["contact_email"] == "new@example.com"


def test_prices_come_from_the_configurable_price_list_in_cents(make_portal: Any) -> None:
    app = make_portal(PRICE_LIST="premium=1000,ultimate=2000,duo_pro=36500,duo_enterprise=1")
    customer_id = make_account(app, OWNER)
    # A whole year left: 3 seats x $365.00.
    name = make_subscription(app, customer_id, starts_on=dt.date(2026, 3, 2))
    client = sign_in(app, OWNER)
    summary = post_form(
        client,
        f"/subscriptions/{name}/buy_duo_pro",
        {"seats": "3", "step": "summary"},
        page="/subscriptions",
    )
    assert ">$1,095.00<" in summary.get_data(as_text=True)
    card = payment_method_ids(app, customer_id)[0]
    buy(client, name, 3, card)
    with app.app_context():
        from portal.models import db

        assert db.session.query(Order).one().amount_cents == 109_500
