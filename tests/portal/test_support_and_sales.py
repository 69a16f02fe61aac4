"""The support console and sales' orders (R3, R6, R9, R23)."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask

from portal.keys import published_keys
from portal.models import Order
from protocol.license import LicenseType, read_license_file
from tests.portal.helpers import (
    CONTACT,
    FakeInstance,
    activation_code,
    add_ons,
    buy,
    count,
    csrf_token,
    customer_subscription,
    flashes,
    mails,
    make_account,
    make_customer,
    make_subscription,
    payment_method_ids,
    place_order,
    post_form,
    run_jobs_until,
    sign_in,
    sign_in_staff,
    subscription_row,
)


def _with_trial(app: Flask) -> str:
    name = make_customer(app, seats=10).name
    client = app.test_client()
    client.post(
        "/trials/duo",
        data={
            "subscription_name": name,
            "email": CONTACT,
            "first_name": "A",
            "last_name": "B",
            "company": "C",
            "country": "FR",
            "add_on": "duo_pro",
            "csrf_token": csrf_token(client, "/trials/duo"),
        },
    )
    run_jobs_until(app, "2026-03-02T05:00:00Z")
    assert add_ons(app, name)[0]["trial"]
    return name


def test_support_sign_in_is_separate_and_refuses_customers(portal_app: Flask) -> None:
    make_account(portal_app, "owner@example.com")
    make_account(portal_app, "support@provlab.example", role="support")
    client = portal_app.test_client()
    response = client.post(
        "/support/sign_in",
        data={
            "login": "owner@example.com",
            "password": "correct horse battery staple",
            "csrf_token": csrf_token(client, "/support/sign_in"),
        },
    )
    assert response.status_code == 401
    assert client.get("/support").status_code == 302  # still anonymous: sent to sign in
    support = sign_in(portal_app, "support@provlab.example", path="/support/sign_in")
    assert support.get("/support").status_code == 200


def test_r23_support_cannot_extend_a_duo_trial(portal_app: Flask) -> None:
    name = _with_trial(portal_app)
    before = add_ons(portal_app, name)
    support = sign_in_staff(portal_app, "support")
    page = support.get(f"/support/subscriptions/{name}").get_data(as_text=True)
    action = re.search(r'action="([^"]+/extend)"', page)
    assert action, "the console offers Extend trial"
    response = support.post(action.group(1), data={"csrf_token": csrf_token(support, "/support")})
    shown = flashes(support.get(response.location))
    assert "does not support extending GitLab Duo trials" in shown
    assert "$0 order" in shown
    assert add_ons(portal_app, name) == before and count(portal_app, Order) == 0


def test_r23_sales_extends_a_duo_trial_with_a_zero_dollar_order(portal_app: Flask) -> None:
    name = _with_trial(portal_app)
    before = add_ons(portal_app, name)[0]["ends_on"]
    sales = sign_in_staff(portal_app, "sales")
    response = place_order(
        sales, name, {"kind": "trial_extension", "days": "30", "note": "opp-123"}
    )
    assert response.status_code == 302
    (trial,) = add_ons(portal_app, name)
    assert (trial["ends_on"] - before).days == 30
    with portal_app.app_context():
        from portal.models import db

        order = db.session.query(Order).one()
        assert order.kind == "trial_extension" and order.amount_cents == 0
    assert mails(portal_app, "purchase_confirmation")  # R7


def test_r6_r3_sales_duo_enterprise_replaces_duo_pro(portal_app: Flask) -> None:
    customer_id, name, _, _ = make_customer(portal_app, seats=30)
    owner = sign_in(portal_app, "owner@example.com")
    buy(owner, name, 10, payment_method_ids(portal_app, customer_id)[0])
    run_jobs_until(portal_app, "2026-03-10T00:00:00Z")

    sales = sign_in_staff(portal_app, "sales")
    too_many = place_order(sales, name, {"kind": "duo_enterprise", "seats": "31"})
    assert "can't exceed" in flashes(sales.get(too_many.location))
    place_order(sales, name, {"kind": "duo_enterprise", "seats": "20"})
    pro, enterprise = add_ons(portal_app, name)
    assert pro["tier"] == "duo_pro" and str(pro["ends_on"]) == "2026-03-10"
    assert enterprise["tier"] == "duo_enterprise" and str(enterprise["starts_on"]) == "2026-03-10"
    assert enterprise["quantity"] == 20
    # And the customer can no longer buy Duo Pro beside it (one tier at a time).
    again = post_form(
        owner,
        f"/subscriptions/{name}/buy_duo_pro",
        {"seats": "1", "step": "summary"},
        page="/subscriptions",
    )
    assert again.status_code == 422 and "one GitLab Duo tier at a time" in flashes(again)


def test_r36_sales_renewal_is_booked_as_the_next_term_and_extra_seats(portal_app: Flask) -> None:
    name = make_customer(portal_app, seats=10).name
    sales = sign_in_staff(portal_app, "sales")
    place_order(sales, name, {"kind": "subscription_seats", "seats": "5"})
    place_order(sales, name, {"kind": "renewal", "seats": "12"})
    # R36: the renewal is booked as the next term; the current one keeps its 15 seats and end.
    row = subscription_row(portal_app, name)
    assert row["seats"] == 15 and str(row["ends_on"]) == "2027-01-31"
    assert row["renewal_seats"] == 12 and str(row["renewal_ends_on"]) == "2028-01-31"
    page = sales.get(f"/sales/subscriptions/{name}").get_data(as_text=True)
    assert "Renewal booked: 12 seats from 2027-01-31 to 2028-01-31" in page
    again = place_order(sales, name, {"kind": "renewal", "seats": "20"})
    assert "A renewal is already booked for 12 seats" in flashes(sales.get(again.location))
    assert [o for o in _orders(portal_app)] == [("subscription_seats", 5), ("renewal", 12)]


def test_r5_r28_renewal_can_lower_the_add_on_but_not_below_its_seats(portal_app: Flask) -> None:
    name = make_customer(portal_app, seats=100).name
    sales = sign_in_staff(portal_app, "sales")
    place_order(sales, name, {"kind": "duo_enterprise", "seats": "50"})
    refused = place_order(sales, name, {"kind": "renewal", "seats": "40"})
    assert "can't exceed the subscription's 40 seats" in flashes(sales.get(refused.location))
    place_order(sales, name, {"kind": "renewal", "seats": "100", "add_on_seats": "30"})
    current, renewed = add_ons(portal_app, name)
    assert current["quantity"] == 50 and str(current["ends_on"]) == "2027-01-31"
    assert renewed["quantity"] == 30 and str(renewed["starts_on"]) == "2027-01-31"
    assert str(renewed["ends_on"]) == "2028-01-31"


def _orders(app: Flask) -> list[tuple[str, int]]:
    with app.app_context():
        from portal.models import db

        return [(o.kind, o.quantity) for o in db.session.query(Order).order_by(Order.id)]


def test_r9_legacy_and_offline_license_files_are_signed_with_the_portal_keys(
    portal_app: Flask,
) -> None:
    customer_id = make_account(portal_app, "owner@example.com")
    trial = make_subscription(
        portal_app,
        customer_id,
        plan="ultimate",
        kind="plan_trial",
        starts_on=__import__("datetime").date(2026, 3, 1),
    )
    offline = make_subscription(portal_app, customer_id, license_type="offline_cloud")
    cloud = make_subscription(portal_app, customer_id)
    owner = sign_in(portal_app, "owner@example.com")
    with portal_app.app_context():
        keys = published_keys(portal_app)
    files: dict[str, Any] = {}
    for name in (trial, offline):
        response = post_form(
            owner, f"/subscriptions/{name}/license", {}, page=f"/subscriptions/{name}"
        )
        assert response.status_code == 200
        assert f'filename="{name}.gitlab-license"' in response.headers["Content-Disposition"]
        files[name] = read_license_file(response.get_data(as_text=True), keys)
    assert files[trial].license_type is LicenseType.LEGACY and files[trial].trial
    assert (files[trial].ends_on - files[trial].starts_on).days == 30
    assert files[offline].license_type is LicenseType.OFFLINE_CLOUD
    refused = post_form(
        owner, f"/subscriptions/{cloud}/license", {}, page=f"/subscriptions/{cloud}"
    )
    assert refused.status_code == 302  # use the code


def test_a_purchase_on_an_offline_subscription_mails_the_new_license_file(
    portal_app: Flask,
) -> None:
    customer_id, name, _, _ = make_customer(portal_app, license_type="offline_cloud")
    owner = sign_in(portal_app, "owner@example.com")
    buy(owner, name, 3, payment_method_ids(portal_app, customer_id)[0])
    (mail,) = mails(portal_app, "license")
    with portal_app.app_context():
        license = read_license_file(mail["attachment"], published_keys(portal_app))
    assert license.add_on_products[0].quantity == 3 and mail["to"] == CONTACT


def test_r32_support_console_shows_activation_usage_licenses_orders_and_mail(
    portal_app: Flask,
) -> None:
    customer_id, name, _, _ = make_customer(portal_app)
    owner = sign_in(portal_app, "owner@example.com")
    instance = FakeInstance(portal_app, instance_id="inst-42", gitlab_version="17.1.2-ee")
    assert instance.activate(activation_code(portal_app, owner, name))[0] == 200
    buy(owner, name, 6, payment_method_ids(portal_app, customer_id)[0])
    assert instance.sync(billable_users=37, assigned=4)[0] == 200

    support = sign_in_staff(portal_app, "support")
    found = support.get("/support?q=owner@example.com").get_data(as_text=True)
    assert f"/support/subscriptions/{name}" in found
    page = support.get(f"/support/subscriptions/{name}").get_data(as_text=True)
    assert "inst-42" in page and "17.1.2-ee" in page
    assert "<td>37</td>" in page and "duo_pro 4/4" in page  # the usage report
    assert "Online license" in page and "duo_pro" in page and "$" in page
    assert "Your purchase for" in page  # the confirmation mail


def test_r5_r36_sales_renewal_prices_seats_and_add_on_like_the_automatic_renewal(
    portal_app: Flask,
) -> None:
    """The sales order and the automatic renewal make one renewal (billing.renewals.renew)."""
    name = make_customer(portal_app, seats=100).name
    sales = sign_in_staff(portal_app, "sales")
    place_order(sales, name, {"kind": "duo_enterprise", "seats": "50"})
    place_order(sales, name, {"kind": "renewal", "seats": "100", "add_on_seats": "30"})
    with portal_app.app_context():
        from portal.models import Subscription, db
        from portal.pricing import yearly_price

        plan = db.session.query(Subscription).filter_by(name=name).one().plan
        renewal = db.session.query(Order).filter_by(kind="renewal").one()
        assert renewal.amount_cents == 100 * yearly_price(plan) + 30 * yearly_price(
            "duo_enterprise"
        )
        assert renewal.note == "renewed to 2028-01-31"


def test_r23_sales_extends_an_ended_duo_trial_from_today_with_a_zero_dollar_order(
    portal_app: Flask,
) -> None:
    name = _with_trial(portal_app)  # 2026-03-02 to 2026-05-01
    run_jobs_until(portal_app, "2026-05-10T06:00:00Z")
    make_account(portal_app, "sales@provlab.example", role="sales")
    sales = sign_in(portal_app, "sales@provlab.example")
    page = sales.get(f"/sales/subscriptions/{name}").get_data(as_text=True)
    assert "GitLab Duo Pro trial ended on 2026-05-01" in page
    response = post_form(
        sales,
        f"/sales/subscriptions/{name}/orders",
        {"kind": "trial_extension", "days": "30", "note": "opp-456"},
        page="/sales",
    )
    assert response.status_code == 302
    assert "placed" in flashes(sales.get(response.location))
    (trial,) = add_ons(portal_app, name)
    # An ended trial runs again from today: 2026-05-10 + 30 days.
    assert trial["ends_on"].isoformat() == "2026-06-09" and trial["trial"]
    with portal_app.app_context():
        from portal.models import db

        order = db.session.query(Order).one()
        assert (order.kind, order.amount_cents, order.note) == ("trial_extension", 0, "opp-456")


def test_r23_sales_cannot_extend_a_trial_a_purchase_replaced_or_that_never_was(
    portal_app: Flask,
) -> None:
    name = customer_subscription(portal_app, "owner@example.com", contact_email=CONTACT, seats=10)
    make_account(portal_app, "sales@provlab.example", role="sales")
    sales = sign_in(portal_app, "sales@provlab.example")

    def extend() -> str:
        response = post_form(
            sales,
            f"/sales/subscriptions/{name}/orders",
            {"kind": "trial_extension", "days": "30"},
            page="/sales",
        )
        return flashes(sales.get(response.location))

    assert "no GitLab Duo trial to extend" in extend()
    post_form(
        sales,
        f"/sales/subscriptions/{name}/orders",
        {"kind": "duo_enterprise", "seats": "5"},
        page="/sales",
    )
    assert "no GitLab Duo trial to extend" in extend()
    assert [row["trial"] for row in add_ons(portal_app, name)] == [False]
    assert count(portal_app, Order) == 1
