"""Key changes: only the key registered for an instance hands it over to another key."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from protocol import (
    ActivationRequest,
    KeyChange,
    MemoryNonceStore,
    ProtocolError,
    new_nonce,
    open_key_change,
    open_self_signed_request,
    parse_message,
    seal_key_change,
    seal_request,
)
from protocol.errors import InvalidSignature, NonceMismatch, RemoteProtocolError, StaleMessage
from tests.protocol.factories import INSTANCE_KEY, OTHER_KEY, START, clock, make_activation_request

NEW_KEY = OTHER_KEY  # the instance's new key; INSTANCE_KEY is the registered one
INSTANCE_ID = make_activation_request().instance_id


def _rotation(signed_by=INSTANCE_KEY, at=START, **change: str):  # type: ignore[no-untyped-def]
    """An activation request by NEW_KEY carrying a key change; returns (request, opened)."""
    nonce = new_nonce()
    proof = KeyChange(
        change.get("instance_id", INSTANCE_ID),
        change.get("new_key_id", NEW_KEY.verifying_key().thumbprint()),
    )
    sealed = seal_key_change(proof, signed_by, clock(at), change.get("nonce", nonce))
    request = make_activation_request(
        instance_public_key=NEW_KEY.verifying_key().to_jwk(), key_change=sealed
    )
    token, _ = seal_request(request, NEW_KEY, clock(), nonce=nonce)
    opened, _ = open_self_signed_request(token, clock(), MemoryNonceStore())
    return parse_message(opened, ActivationRequest), opened


def test_a_key_change_signed_by_the_registered_key_opens() -> None:
    request, opened = _rotation()
    change = open_key_change(request, opened, INSTANCE_KEY.verifying_key(), clock())
    assert change == KeyChange(INSTANCE_ID, NEW_KEY.verifying_key().thumbprint())


@pytest.mark.parametrize(
    ("rotation", "error"),
    [
        ({"signed_by": NEW_KEY}, InvalidSignature),
        ({"instance_id": "instance-2"}, RemoteProtocolError),
        ({"new_key_id": "another-key"}, RemoteProtocolError),
        ({"nonce": "an-earlier-request-nonce"}, NonceMismatch),
        ({"at": START - timedelta(minutes=6)}, StaleMessage),
    ],
)
def test_a_key_change_for_anything_else_is_refused(
    rotation: dict[str, object], error: type[ProtocolError]
) -> None:
    request, opened = _rotation(**rotation)
    with pytest.raises(error):
        open_key_change(request, opened, INSTANCE_KEY.verifying_key(), clock())


def test_an_activation_without_a_key_change_proves_nothing() -> None:
    request, opened = _rotation()
    request = dataclasses.replace(request, key_change=None)
    with pytest.raises(InvalidSignature):
        open_key_change(request, opened, INSTANCE_KEY.verifying_key(), clock())


def test_the_key_change_field_is_optional_on_the_wire() -> None:
    plain = make_activation_request()
    assert "key_change" not in plain.to_dict()
    assert ActivationRequest.from_dict(plain.to_dict()) == plain
    request, _ = _rotation()
    assert ActivationRequest.from_dict(request.to_dict()) == request
    with pytest.raises(RemoteProtocolError, match="key_change"):
        ActivationRequest.from_dict({**plain.to_dict(), "key_change": "not a token"})
