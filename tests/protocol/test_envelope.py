"""Envelopes: signed, fresh and replay-proof requests and responses (the in-memory pair that
drives activation and sync through them is in test_in_memory_pair.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from protocol import (
    DEFAULT_FRESHNESS_WINDOW,
    REQUEST_TYP,
    ActivationRequest,
    AddOnTier,
    AddOnUsage,
    InvalidSignature,
    KeySet,
    LocalProtocolError,
    MemoryNonceStore,
    NonceMismatch,
    RemoteProtocolError,
    ReplayedMessage,
    SigningKey,
    SimulatedClock,
    StaleMessage,
    SyncAnswer,
    SyncRequest,
    VerifyingKey,
    b64url_decode,
    b64url_encode,
    canonical_json,
    new_nonce,
    open_request,
    open_response,
    open_self_signed_request,
    parse_message,
    peek_nonce,
    seal_request,
    seal_response,
    sign,
    sign_license,
)
from tests.protocol.factories import (
    INSTANCE_KEY,
    INSTANCE_KEYS,
    OTHER_KEY,
    PORTAL_KEY,
    PORTAL_KEYS,
    START,
    clock,
    make_activation_request,
    make_license,
    make_sync_request,
)

WINDOW = DEFAULT_FRESHNESS_WINDOW


def _sealed(**changes: Any) -> tuple[str, str]:
    return seal_request(make_sync_request(**changes), INSTANCE_KEY, clock())


def _resign(token: str, key: Any, change: Any) -> str:
    """A validly signed request whose envelope was edited by `change` (the signer's bug)."""
    envelope = json.loads(b64url_decode(token.split(".")[1]))
    change(envelope)
    return sign(canonical_json(envelope), key, REQUEST_TYP)


# --- requests --------------------------------------------------------------------------


def test_opened_request_carries_type_body_nonce_timestamp_and_kid() -> None:
    token, nonce = _sealed()
    opened = open_request(token, INSTANCE_KEYS, clock(), MemoryNonceStore())
    assert (opened.type, opened.nonce, opened.timestamp, opened.kid) == (
        "seat_link_request",
        nonce,
        START,
        INSTANCE_KEY.kid,
    )
    assert parse_message(opened, SyncRequest) == make_sync_request()


def test_new_nonces_are_128_bit_base64url_and_unique() -> None:
    nonces = {new_nonce() for _ in range(1000)}
    assert len(nonces) == 1000
    assert all(len(b64url_decode(nonce)) == 16 for nonce in nonces)


def test_seal_request_refuses_a_weak_or_malformed_nonce() -> None:
    for nonce in ("short", "has spaces in it!!", "x" * 129):
        with pytest.raises(LocalProtocolError, match="nonce"):
            seal_request(make_sync_request(), INSTANCE_KEY, clock(), nonce=nonce)


def test_request_from_an_unpinned_key_is_an_invalid_signature() -> None:
    token, _ = seal_request(make_sync_request(), OTHER_KEY, clock())
    with pytest.raises(InvalidSignature):
        open_request(token, INSTANCE_KEYS, clock(), MemoryNonceStore())


def test_request_exactly_at_the_window_edges_is_fresh() -> None:
    for offset in (WINDOW, -WINDOW):
        token, _ = seal_request(make_sync_request(), INSTANCE_KEY, clock(START + offset))
        open_request(token, INSTANCE_KEYS, clock(), MemoryNonceStore())


def test_request_older_than_the_window_is_stale() -> None:
    token, _ = _sealed()
    receiver = clock(START + WINDOW + timedelta(seconds=1))
    with pytest.raises(StaleMessage) as caught:
        open_request(token, INSTANCE_KEYS, receiver, MemoryNonceStore())
    assert caught.value.field == "request.timestamp"


def test_request_too_far_in_the_future_is_stale() -> None:
    token, _ = seal_request(
        make_sync_request(), INSTANCE_KEY, clock(START + WINDOW + timedelta(seconds=1))
    )
    with pytest.raises(StaleMessage):
        open_request(token, INSTANCE_KEYS, clock(), MemoryNonceStore())


def test_custom_window_is_honoured_and_must_be_positive() -> None:
    token, _ = _sealed()
    late = clock(START + timedelta(minutes=20))
    open_request(token, INSTANCE_KEYS, late, MemoryNonceStore(), window=timedelta(minutes=30))
    with pytest.raises(LocalProtocolError, match="window"):
        open_request(token, INSTANCE_KEYS, late, MemoryNonceStore(), window=timedelta(0))


def test_replayed_request_is_refused() -> None:
    token, _ = _sealed()
    store = MemoryNonceStore()
    open_request(token, INSTANCE_KEYS, clock(), store)
    with pytest.raises(ReplayedMessage) as caught:
        open_request(token, INSTANCE_KEYS, clock(), store)
    assert caught.value.field == "request.nonce"


def test_same_nonce_in_a_new_request_is_refused() -> None:
    store = MemoryNonceStore()
    nonce = new_nonce()
    first, _ = seal_request(make_sync_request(), INSTANCE_KEY, clock(), nonce=nonce)
    second, _ = seal_request(make_sync_request(billable_users=1), INSTANCE_KEY, clock(), nonce)
    open_request(first, INSTANCE_KEYS, clock(), store)
    with pytest.raises(ReplayedMessage):
        open_request(second, INSTANCE_KEYS, clock(), store)


def test_replay_after_the_window_is_stale_and_the_nonce_was_forgotten() -> None:
    token, nonce = _sealed()
    receiver = clock()
    store = MemoryNonceStore(receiver)
    open_request(token, INSTANCE_KEYS, receiver, store)
    receiver.advance(WINDOW + timedelta(seconds=1))
    with pytest.raises(StaleMessage):
        open_request(token, INSTANCE_KEYS, receiver, store)
    store.claim(new_nonce(), receiver.now() + WINDOW)  # any claim prunes expired nonces
    assert len(store) == 1


@pytest.mark.parametrize(
    ("key", "sent_at", "refusal"),
    [(OTHER_KEY, START, InvalidSignature), (INSTANCE_KEY, START - WINDOW * 2, StaleMessage)],
    ids=["forged", "stale"],
)
def test_a_refused_request_does_not_burn_the_nonce(
    key: SigningKey, sent_at: datetime, refusal: type[Exception]
) -> None:
    """The signature and the time are checked before the nonce is claimed: the genuine, fresh
    request with the same nonce is then accepted."""
    nonce = new_nonce()
    refused, _ = seal_request(make_sync_request(), key, clock(sent_at), nonce=nonce)
    store = MemoryNonceStore()
    with pytest.raises(refusal):
        open_request(refused, INSTANCE_KEYS, clock(), store)
    genuine, _ = seal_request(make_sync_request(), INSTANCE_KEY, clock(), nonce=nonce)
    open_request(genuine, INSTANCE_KEYS, clock(), store)


def test_license_or_response_token_is_not_accepted_as_a_request() -> None:
    license_token = sign_license(make_license(), INSTANCE_KEY)
    response = seal_response(SyncAnswer(license_token), INSTANCE_KEY, clock(), new_nonce())
    for token in (license_token, response):
        with pytest.raises(InvalidSignature):
            open_request(token, INSTANCE_KEYS, clock(), MemoryNonceStore())


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda e: e.pop("nonce"), "request.nonce"),
        (lambda e: e.update(nonce="bad nonce"), "request.nonce"),
        (lambda e: e.update(timestamp="yesterday"), "request.timestamp"),
        (lambda e: e.update(body=[]), "request.body"),
        (lambda e: e.update(extra=1), "request.extra"),
        (lambda e: e.update(type=None), "request.type"),
    ],
)
def test_validly_signed_malformed_envelope_is_a_remote_error_naming_the_field(
    change: Any, field: str
) -> None:
    token = _resign(_sealed()[0], INSTANCE_KEY, change)
    with pytest.raises(RemoteProtocolError) as caught:
        open_request(token, INSTANCE_KEYS, clock(), MemoryNonceStore())
    assert not isinstance(caught.value, InvalidSignature)
    assert caught.value.field == field


def test_parse_message_refuses_another_message_type() -> None:
    opened = open_request(_sealed()[0], INSTANCE_KEYS, clock(), MemoryNonceStore())
    with pytest.raises(RemoteProtocolError) as caught:
        parse_message(opened, ActivationRequest)
    assert caught.value.field == "message.type"


def test_r32_sync_request_carries_seat_usage_through_the_envelope() -> None:
    """R32: seat usage reaches the portal through the instance's sync, figure for figure."""
    request = make_sync_request(
        billable_users=1000,
        max_historical_users=1200,
        add_on_usage=(AddOnUsage(AddOnTier.DUO_ENTERPRISE, 30, 50),),
    )
    token, _ = seal_request(request, INSTANCE_KEY, clock())
    opened = open_request(token, INSTANCE_KEYS, clock(), MemoryNonceStore())
    assert parse_message(opened, SyncRequest) == request


# --- self-signed activation requests ------------------------------------------------


def test_r8_self_signed_activation_yields_the_instance_key_to_register() -> None:
    """R8: activating binds the code to the instance, whose key the portal registers."""
    token, _ = seal_request(make_activation_request(), INSTANCE_KEY, clock())
    opened, key = open_self_signed_request(token, clock(), MemoryNonceStore())
    assert key == INSTANCE_KEY.verifying_key()
    assert parse_message(opened, ActivationRequest) == make_activation_request()
    # From now on the instance's sync requests verify against the registered key.
    sync, _ = seal_request(make_sync_request(), INSTANCE_KEY, clock())
    open_request(sync, KeySet((key,)), clock(), MemoryNonceStore())


def test_self_signed_request_signed_by_another_key_is_an_invalid_signature() -> None:
    token, _ = seal_request(make_activation_request(), OTHER_KEY, clock())
    with pytest.raises(InvalidSignature):
        open_self_signed_request(token, clock(), MemoryNonceStore())


def test_self_signed_request_naming_another_kid_is_an_invalid_signature() -> None:
    jwk = {**INSTANCE_KEY.verifying_key().to_jwk(), "kid": "someone-else"}
    token, _ = seal_request(make_activation_request(instance_public_key=jwk), INSTANCE_KEY, clock())
    with pytest.raises(InvalidSignature):
        open_self_signed_request(token, clock(), MemoryNonceStore())


def test_self_signed_key_vouches_only_for_activation_requests() -> None:
    jwk = INSTANCE_KEY.verifying_key().to_jwk()
    token = _resign(
        seal_request(make_sync_request(), INSTANCE_KEY, clock())[0],
        INSTANCE_KEY,
        lambda e: e["body"].update(instance_public_key=jwk),
    )
    with pytest.raises(InvalidSignature):
        open_self_signed_request(token, clock(), MemoryNonceStore())


@pytest.mark.parametrize(
    "change",
    [
        lambda e: e["body"].pop("instance_public_key"),
        lambda e: e["body"].update(instance_public_key="OKP"),
        lambda e: e["body"]["instance_public_key"].update(x="AAAA"),
        lambda e: e.update(body=None),
    ],
)
def test_self_signed_request_without_a_usable_key_is_an_invalid_signature(change: Any) -> None:
    token = _resign(
        seal_request(make_activation_request(), INSTANCE_KEY, clock())[0], INSTANCE_KEY, change
    )
    with pytest.raises(InvalidSignature):
        open_self_signed_request(token, clock(), MemoryNonceStore())


@pytest.mark.parametrize("garbage", ["", "a.b.c", "not a token", "eyJ9.eyJ9.eyJ9"])
def test_self_signed_garbage_is_an_invalid_signature(garbage: str) -> None:
    with pytest.raises(InvalidSignature):
        open_self_signed_request(garbage, clock(), MemoryNonceStore())


def test_self_signed_request_is_checked_for_freshness_and_replay() -> None:
    token, _ = seal_request(make_activation_request(), INSTANCE_KEY, clock())
    with pytest.raises(StaleMessage):
        open_self_signed_request(token, clock(START + WINDOW * 2), MemoryNonceStore())
    store = MemoryNonceStore()
    open_self_signed_request(token, clock(), store)
    with pytest.raises(ReplayedMessage):
        open_self_signed_request(token, clock(), store)


# --- responses -------------------------------------------------------------------------


def test_response_echoing_our_nonce_opens() -> None:
    _, nonce = _sealed()
    token = seal_response(SyncAnswer("a.b.c"), PORTAL_KEY, clock(), nonce)
    opened = open_response(token, PORTAL_KEYS, clock(), nonce)
    assert (opened.nonce, opened.kid) == (nonce, PORTAL_KEY.kid)
    assert parse_message(opened, SyncAnswer) == SyncAnswer("a.b.c")


def test_replayed_answer_to_an_earlier_request_is_a_nonce_mismatch() -> None:
    earlier = seal_response(SyncAnswer("a.b.c"), PORTAL_KEY, clock(), new_nonce())
    with pytest.raises(NonceMismatch) as caught:
        open_response(earlier, PORTAL_KEYS, clock(), new_nonce())
    assert caught.value.field == "response.nonce"


def test_stale_response_is_refused() -> None:
    nonce = new_nonce()
    token = seal_response(SyncAnswer("a.b.c"), PORTAL_KEY, clock(), nonce)
    with pytest.raises(StaleMessage) as caught:
        open_response(token, PORTAL_KEYS, clock(START + WINDOW * 2), nonce)
    assert caught.value.field == "response.timestamp"


def test_response_signed_by_an_unpinned_key_is_an_invalid_signature() -> None:
    nonce = new_nonce()
    token = seal_response(SyncAnswer("a.b.c"), INSTANCE_KEY, clock(), nonce)
    with pytest.raises(InvalidSignature):
        open_response(token, PORTAL_KEYS, clock(), nonce)


def test_request_token_is_not_accepted_as_a_response() -> None:
    token, nonce = seal_request(make_sync_request(), PORTAL_KEY, clock())
    with pytest.raises(InvalidSignature):
        open_response(token, PORTAL_KEYS, clock(), nonce)


def test_peek_nonce_reads_the_claimed_nonce_or_none() -> None:
    token, nonce = _sealed()
    assert peek_nonce(token) == nonce
    assert peek_nonce("garbage") is None
    assert peek_nonce(_resign(token, INSTANCE_KEY, lambda e: e.update(nonce=7))) is None


def test_simulated_clock_in_the_past_needs_no_wall_clock() -> None:
    past = SimulatedClock(datetime(2001, 1, 1, tzinfo=UTC))
    token, _ = seal_request(make_sync_request(), INSTANCE_KEY, past)
    store = MemoryNonceStore(past)
    open_request(token, INSTANCE_KEYS, past, store)
    with pytest.raises(ReplayedMessage):
        open_request(token, INSTANCE_KEYS, past, store)


def test_verifying_key_jwk_survives_the_envelope() -> None:
    token, _ = seal_request(make_activation_request(), INSTANCE_KEY, clock())
    opened, _ = open_self_signed_request(token, clock(), MemoryNonceStore())
    body_key = VerifyingKey.from_jwk(opened.body["instance_public_key"])
    assert b64url_encode(body_key.raw()) == INSTANCE_KEY.verifying_key().to_jwk()["x"]
