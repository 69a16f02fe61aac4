"""The sync channel can't be taken over (issue 9, point 8), and a refusal keeps only its nonce.

An activation request carries the activation code and the instance id, neither of which is a
secret. The key registered for an instance is replaced only by a key change signed with that
key; anything else is ``activation_code_in_use`` and changes nothing but the claimed nonce.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from portal.models import Activation, SeenNonce, UsageReport, db
from protocol.envelope import new_nonce, seal_key_change, seal_request
from protocol.messages import ActivationAnswer, ErrorAnswer, KeyChange
from protocol.signing import SigningKey
from tests.portal.helpers import (
    FakeInstance,
    activated_instance,
    activation_code,
    make_subscription,
)
from webcore.clock import app_clock

pytestmark = pytest.mark.all_backends

Snapshot = dict[str, list[tuple[Any, ...]]]


def _snapshot(app: Flask) -> Snapshot:
    """Every row of every table, in a stable order."""
    with app.app_context():
        tables: Snapshot = {}
        for table in db.metadata.sorted_tables:
            rows = db.session.execute(sa.select(table)).all()
            tables[table.name] = sorted((tuple(row) for row in rows), key=repr)
        return tables


def _refused_keeping_only_its_nonce(
    app: Flask, before: Snapshot, nonce: str, *, counted_guess: bool = False
) -> None:
    """Only the nonce claim is kept; an invalid code also counts one guess of the client's
    towards the activation throttle (portal.activation_throttle), by design."""
    after = _snapshot(app)
    changed = [name for name in before if before[name] != after[name]]
    expected = [SeenNonce.__tablename__] + (["throttle_counters"] if counted_guess else [])
    assert sorted(changed) == sorted(expected), changed
    added = set(after["seen_nonces"]) - set(before["seen_nonces"])
    assert [row[0] for row in added] == [nonce]


def _activated(app: Flask) -> tuple[FakeInstance, str, Any]:
    instance, _, client, code = activated_instance(app)
    assert instance.sync()[0] == 200
    return instance, code, client


def _post_activation(
    app: Flask,
    instance: FakeInstance,
    code: str,
    new_key: SigningKey,
    signed_by: SigningKey | None,
    **proof: Any,
) -> tuple[int, Any, str]:
    """Activate `instance` with `new_key`, with a key change signed by `signed_by` if given."""
    nonce = new_nonce()
    request = dataclasses.replace(instance, key=new_key).activation_request(code)
    if signed_by is not None:
        change = KeyChange(
            proof.get("instance_id", instance.instance_id),
            proof.get("new_key_id", new_key.verifying_key().thumbprint()),
        )
        sealed = seal_key_change(
            change, signed_by, app_clock(app), proof.get("request_nonce", nonce)
        )
        request = dataclasses.replace(request, key_change=sealed)
    token, _ = seal_request(request, new_key, app_clock(app), nonce=nonce)
    status, answer = instance.post_token("/api/v1/activations", token, nonce)
    return status, answer, nonce


def test_a_foreign_key_with_the_bound_code_and_instance_id_is_refused(portal_app: Flask) -> None:
    instance, code, _ = _activated(portal_app)
    impostor = SigningKey.generate()
    before = _snapshot(portal_app)

    status, answer, nonce = _post_activation(portal_app, instance, code, impostor, None)

    assert status == 409 and isinstance(answer, ErrorAnswer)
    assert answer.code == "activation_code_in_use"
    _refused_keeping_only_its_nonce(portal_app, before, nonce)
    # The real instance keeps its sync; the impostor's key opens nothing.
    assert instance.sync()[0] == 200
    stolen = dataclasses.replace(instance, key=impostor)
    assert stolen.sync()[0] == 401


def test_a_foreign_key_claiming_the_registered_kid_is_refused(portal_app: Flask) -> None:
    instance, code, _ = _activated(portal_app)
    impostor = SigningKey.generate(kid=instance.key.kid)
    before = _snapshot(portal_app)
    status, answer, nonce = _post_activation(portal_app, instance, code, impostor, None)
    assert status == 409 and answer.code == "activation_code_in_use"
    _refused_keeping_only_its_nonce(portal_app, before, nonce)


@pytest.mark.parametrize(
    "proof",
    [
        {"signed_by": "impostor"},  # signed by the new key itself, not the registered one
        {"instance_id": "instance-2"},
        {"new_key_id": "someone-elses-key"},
        {"request_nonce": "another-request-nonce"},
    ],
)
def test_a_key_change_not_proven_by_the_registered_key_is_refused(
    portal_app: Flask, proof: dict[str, str]
) -> None:
    instance, code, _ = _activated(portal_app)
    impostor = SigningKey.generate()
    proof = dict(proof)  # the parameter is shared by both backends' runs
    signer = impostor if proof.pop("signed_by", None) else instance.key
    before = _snapshot(portal_app)
    status, answer, nonce = _post_activation(portal_app, instance, code, impostor, signer, **proof)
    assert status == 409 and answer.code == "activation_code_in_use"
    _refused_keeping_only_its_nonce(portal_app, before, nonce)


def test_an_instance_rotates_its_key_with_a_change_signed_by_the_old_key(
    portal_app: Flask,
) -> None:
    instance, code, _ = _activated(portal_app)
    old_key, new_key = instance.key, SigningKey.generate()

    status, answer, _ = _post_activation(portal_app, instance, code, new_key, old_key)

    assert status == 200
    with portal_app.app_context():
        (activation,) = db.session.query(Activation).all()
        assert activation.key_id == new_key.kid
    instance.key = new_key
    assert instance.sync()[0] == 200
    assert dataclasses.replace(instance, key=old_key).sync()[0] == 401


def test_a_key_change_cannot_be_replayed(portal_app: Flask) -> None:
    instance, code, _ = _activated(portal_app)
    old_key, new_key = instance.key, SigningKey.generate()
    nonce = new_nonce()
    sealed = seal_key_change(
        KeyChange(instance.instance_id, new_key.verifying_key().thumbprint()),
        old_key,
        app_clock(portal_app),
        nonce,
    )
    request = dataclasses.replace(
        dataclasses.replace(instance, key=new_key).activation_request(code), key_change=sealed
    )
    token, _ = seal_request(request, new_key, app_clock(portal_app), nonce=nonce)
    assert instance.post_token("/api/v1/activations", token, nonce)[0] == 200
    status, answer = instance.post_token("/api/v1/activations", token, nonce)
    assert status == 409 and answer.code == "replayed_request"


def test_the_same_instance_with_the_same_key_activates_again(portal_app: Flask) -> None:
    instance, code, _ = _activated(portal_app)
    status, answer = instance.activate(code)
    assert status == 200 and isinstance(answer, ActivationAnswer)
    assert instance.sync()[0] == 200


def test_an_impostor_cannot_move_an_instance_to_another_subscription(portal_app: Flask) -> None:
    instance, _, client = _activated(portal_app)
    other = make_subscription(portal_app, 1)
    other_code = activation_code(portal_app, client, other)
    before = _snapshot(portal_app)
    status, answer, nonce = _post_activation(
        portal_app, instance, other_code, SigningKey.generate(), None
    )
    assert status == 409 and answer.code == "activation_code_in_use"
    _refused_keeping_only_its_nonce(portal_app, before, nonce)
    # With a key change signed by the registered key, the instance moves and rotates at once.
    new_key = SigningKey.generate()
    status, _, _ = _post_activation(portal_app, instance, other_code, new_key, instance.key)
    assert status == 200
    with portal_app.app_context():
        (activation,) = db.session.query(Activation).all()
        assert activation.subscription.name == other and activation.key_id == new_key.kid


def test_every_refused_activation_and_sync_keeps_only_its_nonce(portal_app: Flask) -> None:
    instance, code, _ = _activated(portal_app)
    stranger = FakeInstance(portal_app)
    second = FakeInstance(portal_app, instance_id="instance-2")
    refusals: list[tuple[str, Any, SigningKey, str]] = [
        (
            "/api/v1/activations",
            stranger.activation_request("A" * 24),
            stranger.key,
            "invalid_activation_code",
        ),
        (
            "/api/v1/activations",
            second.activation_request(code),
            second.key,
            "activation_code_in_use",
        ),
        (
            "/api/v1/seat_links",
            dataclasses.replace(instance.sync_request(), instance_id="x"),
            instance.key,
            "unknown_instance",
        ),
    ]
    for path, message, key, code_expected in refusals:
        before = _snapshot(portal_app)
        token, nonce = seal_request(message, key, app_clock(portal_app))
        status, answer = instance.post_token(path, token, nonce)
        assert isinstance(answer, ErrorAnswer) and answer.code == code_expected, answer
        _refused_keeping_only_its_nonce(
            portal_app, before, nonce, counted_guess=code_expected == "invalid_activation_code"
        )

    # An expired subscription refuses the sync without storing its usage.
    app_clock(portal_app).set(dt.datetime(2027, 3, 1, tzinfo=dt.UTC))
    before = _snapshot(portal_app)
    token, nonce = seal_request(instance.sync_request(), instance.key, app_clock(portal_app))
    status, answer = instance.post_token("/api/v1/seat_links", token, nonce)
    assert status == 403 and answer.code == "subscription_expired"
    _refused_keeping_only_its_nonce(portal_app, before, nonce)
    assert UsageReport.__tablename__ in before


def test_the_instance_client_rotates_its_key_with_the_old_key_signing(portal_app: Flask) -> None:
    from instance.portal_client import PortalClient, PortalError
    from portal.keys import published_keys
    from webcore.transport import in_process_session

    instance, code, _ = _activated(portal_app)
    with portal_app.app_context():
        keys = published_keys(portal_app)
    new_key = SigningKey.generate()
    client = PortalClient(
        in_process_session(portal_app, "http://portal.test"),
        "http://portal.test",
        keys,
        app_clock(portal_app),
        new_key,
    )
    request = dataclasses.replace(instance, key=new_key).activation_request(code)
    with pytest.raises(PortalError) as refused:
        client.activate(request)
    assert refused.value.code == "activation_code_in_use"

    assert client.activate(request, previous_key=instance.key).license_token
    instance.key = new_key
    assert instance.sync()[0] == 200
