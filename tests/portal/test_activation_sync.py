"""The portal's side of the protocol over HTTP: activation (R8) and daily sync (R13, R32)."""

from __future__ import annotations

import datetime as dt

import pytest
from flask import Flask

from portal.models import Activation, SeenNonce, UsageReport
from protocol.envelope import seal_request
from protocol.license import LicenseType
from protocol.messages import ErrorAnswer
from protocol.signing import SigningKey
from tests.portal.helpers import (
    OWNER,
    FakeInstance,
    activated_instance,
    activation_code,
    buy,
    count,
    customer_subscription,
    make_account,
    make_subscription,
    payment_method_ids,
    post_form,
    sign_in,
    subscription_row,
)
from webcore.clock import app_clock

# The sync API locks rows and relies on unique nonces: prove it on both databases.
pytestmark = pytest.mark.all_backends


def test_r8_activation_code_binds_first_instance_and_refuses_a_second(portal_app: Flask) -> None:
    instance, name, client, code = activated_instance(portal_app)
    assert len(code) == 24 and code.isalnum()
    # The same code again shows the same code (one code per subscription).
    assert activation_code(portal_app, client, name) == code

    status, answer = FakeInstance(portal_app, instance_id="instance-2").activate(code)
    assert status == 409 and isinstance(answer, ErrorAnswer)
    assert answer.code == "activation_code_in_use" and "another instance" in answer.message
    assert count(portal_app, Activation) == 1

    page = client.get(f"/subscriptions/{name}").get_data(as_text=True)
    assert "Activated on instance gitlab.example.com" in page


def test_r8_activation_answers_a_signed_online_cloud_license(portal_app: Flask) -> None:
    name = customer_subscription(portal_app, OWNER, seats=40, plan="ultimate")
    code = activation_code(portal_app, sign_in(portal_app, OWNER), name)
    instance = FakeInstance(portal_app)
    status, answer = instance.activate(code)
    assert status == 200 and answer.subscription_name == name
    license = instance.license(answer.license_token)
    assert license.license_type is LicenseType.ONLINE_CLOUD
    assert license.instance_id == "instance-1" and license.seats == 40
    assert license.subscription_name == name and license.plan.value == "ultimate"


def test_r8_invalid_expired_and_not_cloud_compatible_activations_are_refused(
    portal_app: Flask,
) -> None:
    status, answer = FakeInstance(portal_app).activate("A" * 24)
    assert status == 404 and answer.code == "invalid_activation_code"

    customer_id = make_account(portal_app, OWNER)
    expired = make_subscription(
        portal_app, customer_id, starts_on=dt.date(2025, 1, 1), ends_on=dt.date(2026, 1, 1)
    )
    client = sign_in(portal_app, OWNER)
    status, answer = FakeInstance(portal_app).activate(activation_code(portal_app, client, expired))
    assert status == 403 and answer.code == "subscription_expired"

    name = make_subscription(portal_app, customer_id)
    code = activation_code(portal_app, client, name)
    with portal_app.app_context():
        from portal.models import Subscription, db

        db.session.execute(
            Subscription.__table__.update()
            .where(Subscription.__table__.c.name == name)
            .values(license_type="offline_cloud")
        )
        db.session.commit()
    status, answer = FakeInstance(portal_app).activate(code)
    assert status == 422 and answer.code == "subscription_not_cloud_compatible"
    assert count(portal_app, Activation) == 0


def test_r9_plan_trial_and_community_program_get_no_activation_code(portal_app: Flask) -> None:
    customer_id = make_account(portal_app, OWNER)
    trial = make_subscription(
        portal_app, customer_id, plan="ultimate", kind="plan_trial", starts_on=dt.date(2026, 3, 1)
    )
    community = make_subscription(
        portal_app, customer_id, plan="ultimate", kind="community_program"
    )
    client = sign_in(portal_app, OWNER)
    for name in (trial, community):
        assert subscription_row(portal_app, name)["license_type"] == "legacy"
        response = post_form(
            client, f"/subscriptions/{name}/activation_code", {}, page="/subscriptions"
        )
        page = client.get(response.location).get_data(as_text=True)
        assert "legacy licenses only" in page
        assert subscription_row(portal_app, name)["activation_code"] is None


def test_r13_r1_sync_answers_license_with_every_active_purchase(portal_app: Flask) -> None:
    instance, name, client, _ = activated_instance(portal_app, seats=30)
    status, answer = instance.sync()
    assert status == 200
    assert instance.license(answer.license_token).add_on_products == ()

    card, _ = payment_method_ids(portal_app, 1)
    buy(client, name, 7, card)
    status, answer = instance.sync()
    (product,) = instance.license(answer.license_token).add_on_products
    assert product.tier.value == "duo_pro" and product.quantity == 7 and not product.trial
    assert product.purchase_id.startswith("AOP-")


def test_r32_sync_stores_the_usage_report(portal_app: Flask) -> None:
    instance, name, _, _ = activated_instance(portal_app)
    status, _ = instance.sync(billable_users=42, assigned=3)
    assert status == 200
    with portal_app.app_context():
        from portal.models import db

        report = db.session.query(UsageReport).one()
        assert report.billable_users == 42
        assert report.add_on_usage == [
            {"tier": "duo_pro", "purchased_seats": 3, "assigned_seats": 3}
        ]
        assert db.session.query(Activation).one().last_sync_at == app_clock(portal_app).now()


def test_a_daily_sync_that_changes_nothing_reuses_the_license(portal_app: Flask) -> None:
    instance, _, _, _ = activated_instance(portal_app)
    first = instance.sync()[1].license_token
    assert instance.sync()[1].license_token == first


def test_replayed_stale_and_forged_syncs_are_refused_and_change_nothing(portal_app: Flask) -> None:
    instance, _, _, _ = activated_instance(portal_app)
    token, nonce = seal_request(instance.sync_request(), instance.key, app_clock(portal_app))
    assert instance.post_token("/api/v1/seat_links", token, nonce)[0] == 200
    reports = count(portal_app, UsageReport)

    status, answer = instance.post_token("/api/v1/seat_links", token, nonce)
    assert status == 409 and answer.code == "replayed_request"

    stale, nonce = seal_request(instance.sync_request(), instance.key, app_clock(portal_app))
    app_clock(portal_app).advance(dt.timedelta(minutes=10))
    status, answer = instance.post_token("/api/v1/seat_links", stale, nonce)
    assert status == 400 and answer.code == "stale_request"

    forger = SigningKey.generate(kid=instance.key.kid)
    forged, nonce = seal_request(instance.sync_request(), forger, app_clock(portal_app))
    status, answer = instance.post_token("/api/v1/seat_links", forged, nonce)
    assert status == 401 and answer.code == "invalid_signature"

    nonces = count(portal_app, SeenNonce)
    for body in ({"request": "garbage"}, {"nope": 1}, None):
        response = portal_app.test_client().post("/api/v1/seat_links", json=body)
        assert response.status_code in (400, 401)
    assert count(portal_app, UsageReport) == reports
    assert count(portal_app, SeenNonce) == nonces


def test_sync_of_an_expired_subscription_is_refused(portal_app: Flask) -> None:
    instance, _, _, _ = activated_instance(portal_app)
    app_clock(portal_app).set(dt.datetime(2027, 3, 1, tzinfo=dt.UTC))
    status, answer = instance.sync()
    assert status == 403 and answer.code == "subscription_expired"
    assert count(portal_app, UsageReport) == 0


def test_keys_endpoint_publishes_the_signing_key(portal_app: Flask) -> None:
    jwks = portal_app.test_client().get("/api/v1/keys").get_json()
    assert jwks["keys"] and jwks["keys"][0]["kty"] == "OKP"


def test_r8_the_same_instance_may_activate_again_or_move_to_another_subscription(
    portal_app: Flask,
) -> None:
    instance, first, client, code = activated_instance(portal_app)
    assert instance.activate(code)[0] == 200  # again: same instance, same binding
    assert count(portal_app, Activation) == 1

    customer_id = 1
    second = make_subscription(portal_app, customer_id)
    status, answer = instance.activate(activation_code(portal_app, client, second))
    assert status == 200 and answer.subscription_name == second
    with portal_app.app_context():
        from portal.models import db

        (activation,) = db.session.query(Activation).all()
        assert activation.subscription.name == second
    # An impostor claiming the instance id with another key cannot take the binding over.
    third = make_subscription(portal_app, customer_id)
    impostor = FakeInstance(portal_app, instance_id=instance.instance_id)
    status, answer = impostor.activate(activation_code(portal_app, client, third))
    assert status == 409 and answer.code == "activation_code_in_use"
