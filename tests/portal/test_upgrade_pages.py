"""The *Upgrade plan* page over HTTP, with CSRF, in the click path of GitLab's "Upgrade subscription
tier": the card's actions → *Upgrade plan* → the upgrade, payment method, the Privacy Statement
and Terms of Service → *Upgrade subscription* (R7)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from portal.models import Invoice, Order
from tests.portal.helpers import (
    count,
    flashes,
    make_account,
    post_form,
    sign_in,
    signed_in_customer,
    subscription_row,
)

_KEY = re.compile(r'name="idempotency_key" value="([^"]+)"')


def _plan(app: Flask, name: str) -> str:
    from portal.models import Subscription, db

    with app.app_context():
        return db.session.execute(
            db.select(Subscription.plan).where(Subscription.name == name)
        ).scalar_one()


def _upgrade(client: FlaskClient, name: str, **form: Any) -> Any:
    page = client.get(f"/subscriptions/{name}/upgrade").get_data(as_text=True)
    key = _KEY.search(page)
    fields = {
        "plan": "ultimate",
        "accept_terms": "1",
        "idempotency_key": key.group(1) if key else "",
    }
    return post_form(
        client, f"/subscriptions/{name}/upgrade", {**fields, **form}, page="/subscriptions"
    )


def test_r7_the_card_offers_upgrade_plan_and_the_page_shows_the_purchase_summary(
    portal_app: Flask,
) -> None:
    client, (_, name, _, _) = signed_in_customer(portal_app)
    cards = client.get("/subscriptions").get_data(as_text=True)
    assert f'href="/subscriptions/{name}/upgrade" data-testid="upgrade-plan">Upgrade plan<' in cards
    page = client.get(f"/subscriptions/{name}/upgrade")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    for words in (
        "Select the desired upgrade",
        "Ultimate: $1,188.00 per seat per year",
        "Credit for Premium",
        "Payment method",
        "I accept the Privacy Statement and Terms of Service",
        "Upgrade subscription",
        "50 x $840.00 x 335/365",
        "$38,547.95",
    ):
        assert words in text, words
    assert _plan(portal_app, name) == "premium"  # showing the page buys nothing


def test_r7_upgrade_subscription_applies_ultimate_and_says_when_it_takes_effect(
    portal_app: Flask,
) -> None:
    client, (_, name, card, _) = signed_in_customer(portal_app)
    response = _upgrade(client, name, payment_method=str(card))
    assert response.status_code == 302 and response.location.endswith(f"/subscriptions/{name}")
    shown = client.get(response.location).get_data(as_text=True)
    message = flashes(shown)
    assert "Your subscription is upgraded to Ultimate" in message and "$38,547.95" in message
    assert "takes effect on the next subscription sync" in message
    assert _plan(portal_app, name) == "ultimate"
    assert subscription_row(portal_app, name)["seats"] == 50
    assert 'data-testid="plan">Ultimate<' in shown and "Upgrade plan</a>" not in shown
    assert count(portal_app, Order) == 1 and count(portal_app, Invoice) == 1


def test_r7_the_same_form_submitted_again_answers_with_its_order(portal_app: Flask) -> None:
    client, (_, name, card, _) = signed_in_customer(portal_app)
    page = client.get(f"/subscriptions/{name}/upgrade").get_data(as_text=True)
    match = _KEY.search(page)
    assert match
    form = {"plan": "ultimate", "accept_terms": "1", "idempotency_key": match.group(1)}
    form["payment_method"] = str(card)
    path = f"/subscriptions/{name}/upgrade"
    first = post_form(client, path, form, page="/subscriptions")
    again = post_form(client, path, form, page="/subscriptions")
    assert first.status_code == again.status_code == 302
    assert count(portal_app, Order) == 1


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"accept_terms": ""}, "Accept the Privacy Statement and Terms of Service"),
        ({"plan": "premium"}, "Choose the upgrade: Ultimate"),
        ({"payment_method": "x"}, "Choose one of your payment methods"),
        ({"payment_method": "declined"}, "Your payment was declined"),
    ],
)
def test_r7_a_refused_upgrade_comes_back_with_its_reason_and_changes_nothing(
    portal_app: Flask, form: dict[str, str], message: str
) -> None:
    client, (_, name, card, declined) = signed_in_customer(portal_app)
    chosen = {"declined": str(declined), "x": "x"}.get(form.get("payment_method", ""), str(card))
    response = _upgrade(client, name, **{**form, "payment_method": chosen})
    assert response.status_code == 422
    assert message in flashes(response)
    assert "Upgrade subscription" in response.get_data(as_text=True)
    assert _plan(portal_app, name) == "premium"
    assert count(portal_app, Order) == 0 and count(portal_app, Invoice) == 0


def test_r7_an_ultimate_subscription_is_not_offered_an_upgrade(portal_app: Flask) -> None:
    client, (_, name, card, _) = signed_in_customer(portal_app, plan="ultimate")
    assert "Upgrade plan" not in client.get("/subscriptions").get_data(as_text=True)
    response = client.get(f"/subscriptions/{name}/upgrade")
    assert response.status_code == 302 and response.location.endswith(f"/subscriptions/{name}")
    assert "already on Ultimate, the highest tier" in flashes(client.get(response.location))
    posted = _upgrade(client, name, payment_method=str(card))
    assert posted.status_code == 422 and "already on Ultimate" in flashes(posted)
    assert count(portal_app, Order) == 0


def test_another_customers_subscription_is_not_found(portal_app: Flask) -> None:
    _, (_, name, card, _) = signed_in_customer(portal_app)
    make_account(portal_app, "other@example.com")
    other = sign_in(portal_app, "other@example.com")
    assert other.get(f"/subscriptions/{name}/upgrade").status_code == 404
    posted = post_form(
        other,
        f"/subscriptions/{name}/upgrade",
        {"plan": "ultimate", "accept_terms": "1", "payment_method": str(card)},
        page="/subscriptions",
    )
    assert posted.status_code == 404
    assert _plan(portal_app, name) == "premium" and count(portal_app, Order) == 0
