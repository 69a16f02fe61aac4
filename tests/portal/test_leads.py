"""Duo trial requests: the form always answers success; sales decides later (R11, R12, R19–R22)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from portal.models import AddOnPurchase, Lead, MailMessage, db
from tests.portal.helpers import (
    CONTACT,
    FakeInstance,
    activation_code,
    add_ons,
    count,
    csrf_token,
    customer_subscription,
    mails,
    make_account,
    make_subscription,
    run_jobs_until,
    sign_in,
)

PROCESSING = "2026-03-02T05:00:00Z"  # the default daily lead processing after the 00:00 request


def _fields(name: str, **overrides: str) -> dict[str, str]:
    """A Duo trial request's fields, as the form and the JSON API take them."""
    request = {"subscription_name": name, "email": CONTACT, "add_on": "duo_pro", "country": "DE"}
    person = {"first_name": "Ada", "last_name": "Lovelace", "company": "Example Corp"}
    return {**request, **person, **overrides}


def _request(app: Flask, name: str, **overrides: str) -> Any:
    client = app.test_client()
    data = _fields(name, **overrides)
    return client.post(
        "/trials/duo", data={**data, "csrf_token": csrf_token(client, "/trials/duo")}
    )


def _subscription(app: Flask, **options: Any) -> str:
    customer_id = make_account(
        app, f"owner{count(app, Lead)}-{options.get('plan', 'x')}@example.com"
    )
    options.setdefault("contact_email", CONTACT)
    return make_subscription(app, customer_id, **options)


def _without_csrf(page: str) -> str:
    return re.sub(r'(name="csrf-token" content|name="csrf_token" value)="[^"]+"', "", page)


def _lead(app: Flask) -> dict[str, Any]:
    with app.app_context():
        lead = db.session.execute(sa.select(Lead).order_by(Lead.id.desc())).scalars().first()
        assert lead is not None
        return {"status": lead.status, "reason": lead.reason, "detail": lead.reason_detail}


def test_r20_r21_r7_eligible_request_becomes_a_60_day_trial_at_processing(
    portal_app: Flask,
) -> None:
    name = _subscription(portal_app, seats=25)
    response = _request(portal_app, name, email="Contact@Example.com")
    assert response.status_code == 200
    assert "Your GitLab Duo trial request was received" in response.get_data(as_text=True)
    # R21: nothing yet: the request waits for sales.
    assert _lead(portal_app)["status"] == "pending" and add_ons(portal_app, name) == []

    run_jobs_until(portal_app, "2026-03-02T04:59:00Z")
    assert add_ons(portal_app, name) == []
    run_jobs_until(portal_app, PROCESSING)
    (trial,) = add_ons(portal_app, name)
    assert trial["trial"] and trial["tier"] == "duo_pro" and trial["quantity"] == 25
    assert (trial["ends_on"] - trial["starts_on"]).days == 60
    assert _lead(portal_app)["status"] == "trial_created"
    (mail,) = mails(portal_app, "trial_activation")  # R7
    assert mail["to"] == CONTACT and "60-day GitLab Duo Pro trial" in mail["body"]


def test_r21_processing_delay_is_configurable(make_portal: Any) -> None:
    app = make_portal(LEAD_PROCESSING_DELAY_MINUTES=6 * 60)  # 00:00 + 6 h misses the 05:00 run
    name = _subscription(app)
    _request(app, name)
    run_jobs_until(app, PROCESSING)
    assert _lead(app)["status"] == "pending"
    run_jobs_until(app, "2026-03-03T05:00:00Z")
    assert _lead(app)["status"] == "trial_created"


def test_r22_embargoed_trial_request_fails_silently(portal_app: Flask) -> None:
    name = _subscription(portal_app)
    eligible_page = _without_csrf(_request(portal_app, name, country="DE").get_data(as_text=True))
    with portal_app.app_context():
        db.session.execute(sa.delete(Lead))
        db.session.commit()

    response = _request(portal_app, name, country="IR")
    assert response.status_code == 200
    assert (
        _without_csrf(response.get_data(as_text=True)) == eligible_page
    )  # the requester sees the same success
    run_jobs_until(portal_app, "2026-03-03T06:00:00Z")
    assert add_ons(portal_app, name) == []
    assert count(portal_app, MailMessage) == 0
    lead = _lead(portal_app)
    assert lead["status"] == "dropped" and lead["reason"] == "embargoed_country"

    support_id = make_account(portal_app, "support@provlab.example", role="support")
    assert support_id
    console = sign_in(portal_app, "support@provlab.example", path="/support/sign_in")
    page = console.get(f"/support?q={name}").get_data(as_text=True)
    assert 'data-reason="embargoed_country"' in page and "is embargoed" in page


def test_r22_embargo_list_is_configurable(make_portal: Any) -> None:
    app = make_portal(EMBARGOED_COUNTRIES=["DE"])
    name = _subscription(app)
    _request(app, name, country="DE")
    run_jobs_until(app, PROCESSING)
    assert _lead(app)["reason"] == "embargoed_country" and add_ons(app, name) == []


def test_r20_email_must_be_the_subscription_contacts(portal_app: Flask) -> None:
    name = _subscription(portal_app)
    assert _request(portal_app, name, email="someone.else@example.com").status_code == 200
    run_jobs_until(portal_app, PROCESSING)
    assert _lead(portal_app)["reason"] == "email_not_contact" and add_ons(portal_app, name) == []


@pytest.mark.parametrize(
    ("options", "reason"),
    [
        ({"plan": "free"}, "free_plan"),
        (
            {"plan": "ultimate", "kind": "plan_trial", "starts_on": dt.date(2026, 2, 20)},
            "plan_trial_in_progress",
        ),
        ({"plan": "ultimate", "kind": "community_program"}, "community_program"),
        (
            {"starts_on": dt.date(2025, 1, 1), "ends_on": dt.date(2026, 1, 1)},
            "subscription_expired",
        ),
        ({"plan": "ultimate", "kind": "plan_trial", "starts_on": dt.date(2026, 1, 1)}, "not_paid"),
    ],
    ids=["free", "plan-trial", "community", "expired", "ended-plan-trial"],
)
def test_r19_r11_r12_ineligible_subscriptions_get_no_trial(
    portal_app: Flask, options: dict[str, Any], reason: str
) -> None:
    name = _subscription(portal_app, **options)
    assert _request(portal_app, name).status_code == 200
    run_jobs_until(portal_app, PROCESSING)
    assert _lead(portal_app)["reason"] == reason
    assert add_ons(portal_app, name) == [] and count(portal_app, MailMessage) == 0


def test_r11_a_plan_trial_on_another_subscription_blocks_the_duo_trial(portal_app: Flask) -> None:
    customer_id = make_account(portal_app, "owner@example.com")
    paid = make_subscription(portal_app, customer_id, contact_email=CONTACT)
    make_subscription(
        portal_app,
        customer_id,
        plan="ultimate",
        kind="plan_trial",
        starts_on=dt.date(2026, 2, 25),
        contact_email=CONTACT,
    )
    _request(portal_app, paid)
    run_jobs_until(portal_app, PROCESSING)
    assert _lead(portal_app)["reason"] == "plan_trial_in_progress"
    # Once the plan trial has ended (2026-03-27), the Duo trial can start.
    run_jobs_until(portal_app, "2026-03-27T06:00:00Z")
    _request(portal_app, paid)
    run_jobs_until(portal_app, "2026-03-28T05:00:00Z")
    assert _lead(portal_app)["status"] == "trial_created"


def test_r19_a_subscription_with_duo_or_a_duo_trial_gets_no_second_trial(portal_app: Flask) -> None:
    name = _subscription(portal_app)
    _request(portal_app, name)
    run_jobs_until(portal_app, PROCESSING)
    _request(portal_app, name, add_on="duo_enterprise")
    run_jobs_until(portal_app, "2026-03-03T05:00:00Z")
    assert _lead(portal_app)["reason"] == "already_had_duo_trial"
    assert len(add_ons(portal_app, name)) == 1


def test_unknown_subscription_is_dropped_silently(portal_app: Flask) -> None:
    assert _request(portal_app, "A-S00000001").status_code == 200
    run_jobs_until(portal_app, PROCESSING)
    assert _lead(portal_app)["reason"] == "unknown_subscription"


def test_malformed_requests_get_a_clear_error_and_record_nothing(portal_app: Flask) -> None:
    for overrides in (
        {"email": "not-an-email"},
        {"first_name": ""},
        {"country": "XX"},
        {"add_on": "duo_ultra"},
    ):
        response = _request(portal_app, "A-S00000001", **overrides)
        assert response.status_code == 422
        assert 'role="alert"' in response.get_data(as_text=True)
    assert count(portal_app, Lead) == 0


def test_r21_json_trial_request_endpoint_answers_success(portal_app: Flask) -> None:
    name = _subscription(portal_app)
    client = portal_app.test_client()
    body = _fields(
        name, first_name="A", last_name="B", company="C", country="KP", add_on="duo_enterprise"
    )
    response = client.post("/api/v1/trial_requests", json=body)
    assert response.status_code == 202 and response.get_json()["status"] == "received"
    assert client.post("/api/v1/trial_requests", json={**body, "email": ""}).status_code == 422
    assert client.post("/api/v1/trial_requests", data="nope").status_code == 400
    run_jobs_until(portal_app, PROCESSING)
    assert _lead(portal_app)["reason"] == "embargoed_country"


def test_r13_trial_reaches_the_instance_with_the_next_sync(portal_app: Flask) -> None:
    name = customer_subscription(portal_app, "owner@example.com", contact_email=CONTACT, seats=10)
    instance = FakeInstance(portal_app)
    instance.activate(activation_code(portal_app, sign_in(portal_app, "owner@example.com"), name))
    _request(portal_app, name)
    assert instance.license(instance.sync()[1].license_token).add_on_products == ()
    run_jobs_until(portal_app, PROCESSING)
    (product,) = instance.license(instance.sync()[1].license_token).add_on_products
    assert product.trial and product.quantity == 10
    with portal_app.app_context():
        assert db.session.execute(sa.select(AddOnPurchase)).scalar_one().trial


def test_r23_a_request_after_the_trial_ended_is_dropped_with_its_reason(portal_app: Flask) -> None:
    name = _subscription(portal_app)
    _request(portal_app, name)
    run_jobs_until(portal_app, PROCESSING)
    (trial,) = add_ons(portal_app, name)
    assert trial["ends_on"] == dt.date(2026, 5, 1)  # 2026-03-02 + 60 days
    # The day the trial ends it is over (ends_on is exclusive, as licenses are).
    run_jobs_until(portal_app, "2026-05-01T06:00:00Z")
    _request(portal_app, name)
    run_jobs_until(portal_app, "2026-05-02T05:00:00Z")
    lead = _lead(portal_app)
    assert (lead["status"], lead["reason"]) == ("dropped", "duo_trial_ended")
    assert "ended on 2026-05-01" in lead["detail"]
    assert "$0 order" in lead["detail"]
    assert len(add_ons(portal_app, name)) == 1
    assert len(mails(portal_app, "trial_activation")) == 1
