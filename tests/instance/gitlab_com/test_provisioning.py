"""The portal's push to GitLab.com: signed, fresh, replay-proof, applied whole, answered with
seat usage; refused for an unknown group or a subgroup; only on GitLab.com."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from flask import Flask

from instance.gitlab_com.billable import group_subscription
from instance.gitlab_com.provisioning import group_duo_purchase
from instance.models import db
from protocol.envelope import seal_request
from protocol.license import AddOnTier, Plan
from protocol.messages import ErrorAnswer
from protocol.provisioning import MainPlan, NamespaceProvision, ProvisionAnswer
from protocol.signing import SigningKey
from tests.instance.fake_portal import FakePortal
from tests.instance.gitlab_com.conftest import TERM, provision, push, send
from webcore.clock import app_clock


def test_a_push_provisions_the_plan_and_duo_and_answers_seat_usage(
    app: Flask, fake_portal: FakePortal, hierarchy: dict[str, int]
) -> None:
    root = hierarchy["root"]
    pushed = push(app, fake_portal, provision(Plan.ULTIMATE, 20, duo=5)(root))
    assert pushed.status == 200
    # Ultimate: the Guest does not count (R31): owner, dev, reporter, projdev, svc.
    assert pushed.answer == ProvisionAnswer(root, 5, 5)
    with app.app_context():
        subscription = group_subscription(root)
        assert subscription is not None
        assert (subscription.plan_code, subscription.seats) == ("ultimate", 20)
        purchase = group_duo_purchase(root)
        assert purchase is not None
        assert (purchase.tier, purchase.quantity, purchase.namespace_id) == ("duo_pro", 5, root)


def test_pushing_the_same_state_twice_changes_nothing(
    app: Flask, fake_portal: FakePortal, hierarchy: dict[str, int]
) -> None:
    root = hierarchy["root"]
    first = push(app, fake_portal, provision(duo=3)(root))
    second = push(app, fake_portal, provision(duo=3)(root))
    assert first.answer == second.answer
    with app.app_context():
        assert (
            db.session.execute(
                db.select(db.func.count()).select_from(db.metadata.tables["add_on_purchases"])
            ).scalar_one()
            == 1
        )


def test_duo_enterprise_takes_precedence_and_a_dropped_add_on_expires_r6(
    app: Flask, fake_portal: FakePortal, hierarchy: dict[str, int]
) -> None:
    root = hierarchy["root"]
    push(app, fake_portal, provision(duo=3)(root))
    push(app, fake_portal, provision(duo=4, add_on=AddOnTier.DUO_ENTERPRISE)(root))
    with app.app_context():
        purchase = group_duo_purchase(root)
        assert purchase is not None and purchase.tier == "duo_enterprise"
    push(app, fake_portal, provision()(root))
    with app.app_context():
        purchase = group_duo_purchase(root)
        today = app_clock(app).now().date()
        assert purchase is not None and purchase.ends_on == today - dt.timedelta(days=1)


def test_a_subgroup_or_an_unknown_group_is_refused_with_a_signed_answer(
    app: Flask, fake_portal: FakePortal, hierarchy: dict[str, int]
) -> None:
    sub = push(app, fake_portal, provision()(hierarchy["sub"]))
    assert sub.status == 400
    assert sub.answer == ErrorAnswer("not_root_namespace", "Must be root namespace!")
    unknown = push(app, fake_portal, provision()(99999))
    assert unknown.status == 404
    assert unknown.answer == ErrorAnswer("namespace_not_found", "Namespace Not Found")
    with app.app_context():
        assert group_subscription(hierarchy["sub"]) is None


def test_a_replayed_forged_or_misdirected_push_is_refused_unsigned_and_changes_nothing(
    app: Flask, fake_portal: FakePortal, hierarchy: dict[str, int]
) -> None:
    root = hierarchy["root"]
    clock = app_clock(app)
    token, nonce = seal_request(provision(duo=2)(root), fake_portal.key, clock)
    assert send(app, token, nonce, root).status == 200
    replay = send(app, token, nonce, root)
    assert (replay.status, replay.body["error"]["code"]) == (409, "replayed_request")
    forged_token, forged_nonce = seal_request(
        provision(Plan.ULTIMATE, 99)(root), SigningKey.generate(), clock
    )
    forged = send(app, forged_token, forged_nonce, root)
    assert (forged.status, forged.body["error"]["code"]) == (401, "invalid_signature")
    token, nonce = seal_request(provision(Plan.ULTIMATE, 99)(root), fake_portal.key, clock)
    elsewhere = send(app, token, nonce, hierarchy["other"])
    assert elsewhere.status == 400 and elsewhere.answer is None
    with app.app_context():
        subscription = group_subscription(root)
        assert subscription is not None and subscription.seats == 10


def test_a_stale_push_is_refused(
    app: Flask, fake_portal: FakePortal, hierarchy: dict[str, int]
) -> None:
    clock = app_clock(app)
    token, nonce = seal_request(provision()(hierarchy["root"]), fake_portal.key, clock)
    clock.advance(dt.timedelta(minutes=6))
    stale = send(app, token, nonce, hierarchy["root"])
    assert (stale.status, stale.body["error"]["code"]) == (400, "stale_request")


def test_self_managed_has_no_provisioning_endpoint(
    make_wired_instance: Callable[..., Flask], fake_portal: FakePortal
) -> None:
    self_managed = make_wired_instance()
    token, nonce = seal_request(provision()(1), fake_portal.key, app_clock(self_managed))
    assert send_status(self_managed, token) == 404


def send_status(app: Flask, token: str) -> int:
    return (
        app.test_client()
        .post(
            "/api/v4/internal/gitlab_subscriptions/namespaces/1/provision", json={"request": token}
        )
        .status_code
    )


def test_max_seats_used_keeps_the_terms_maximum_and_a_new_term_starts_again(
    app: Flask, fake_portal: FakePortal, hierarchy: dict[str, int]
) -> None:
    root = hierarchy["root"]
    push(app, fake_portal, provision()(root))  # Premium: 6 billable
    with app.app_context():
        subscription = group_subscription(root)
        assert subscription is not None
        subscription.max_seats_used = 9
        db.session.commit()
    assert push(app, fake_portal, provision()(root)).answer == ProvisionAnswer(root, 6, 9)
    renewed = NamespaceProvision(root, MainPlan(Plan.PREMIUM, TERM[1], dt.date(2028, 3, 1), 10), ())
    assert push(app, fake_portal, renewed).answer == ProvisionAnswer(root, 6, 6)
