"""An in-memory portal and instance driving activation and sync through the envelopes, with
the protocol alone (no Flask, no database), the two clocks skewed inside and beyond the window."""

from __future__ import annotations

from datetime import date, timedelta

from protocol import (
    ActivationAnswer,
    ActivationRequest,
    ErrorAnswer,
    KeySet,
    License,
    MemoryNonceStore,
    RemoteProtocolError,
    SimulatedClock,
    SyncAnswer,
    SyncRequest,
    open_request,
    open_response,
    open_self_signed_request,
    parse_message,
    peek_nonce,
    seal_request,
    seal_response,
    sign_license,
    verify_license,
)
from tests.protocol.factories import (
    INSTANCE_KEY,
    PORTAL_KEY,
    PORTAL_KEYS,
    START,
    clock,
    make_activation_request,
    make_license,
    make_sync_request,
)


class Portal:
    """Just enough of a portal to answer activation and sync with the protocol alone."""

    def __init__(self, clock: SimulatedClock) -> None:
        self.clock = clock
        self.nonces = MemoryNonceStore(clock)
        self.instance_keys: dict[str, KeySet] = {}
        self.license = make_license(instance_id=None)

    def activate(self, token: str) -> str:
        try:
            opened, key = open_self_signed_request(token, self.clock, self.nonces)
        except RemoteProtocolError as error:
            nonce = peek_nonce(token)
            assert nonce is not None
            return seal_response(ErrorAnswer.from_error(error), PORTAL_KEY, self.clock, nonce)
        request = parse_message(opened, ActivationRequest)
        self.instance_keys[request.instance_id] = KeySet((key,))
        self.license = make_license(instance_id=request.instance_id)
        answer = ActivationAnswer(sign_license(self.license, PORTAL_KEY), "A-S00012345")
        return seal_response(answer, PORTAL_KEY, self.clock, opened.nonce)

    def sync(self, token: str, instance_id: str) -> str:
        opened = open_request(token, self.instance_keys[instance_id], self.clock, self.nonces)
        request = parse_message(opened, SyncRequest)
        assert request.instance_id == instance_id
        answer = SyncAnswer(sign_license(self.license, PORTAL_KEY))
        return seal_response(answer, PORTAL_KEY, self.clock, opened.nonce)


def _instance_flow(portal: Portal, instance_clock: SimulatedClock) -> License:
    activation = make_activation_request()
    token, nonce = seal_request(activation, INSTANCE_KEY, instance_clock)
    opened = open_response(portal.activate(token), PORTAL_KEYS, instance_clock, nonce)
    license = verify_license(parse_message(opened, ActivationAnswer).license_token, PORTAL_KEYS)
    assert license.instance_id == activation.instance_id
    token, nonce = seal_request(make_sync_request(), INSTANCE_KEY, instance_clock)
    answer = open_response(
        portal.sync(token, activation.instance_id), PORTAL_KEYS, instance_clock, nonce
    )
    return verify_license(parse_message(answer, SyncAnswer).license_token, PORTAL_KEYS)


def test_in_memory_pair_activates_and_syncs_with_clocks_skewed_inside_the_window() -> None:
    portal_clock = clock()
    instance_clock = clock(START + timedelta(minutes=2))
    license = _instance_flow(Portal(portal_clock), instance_clock)
    license.check_term(date(2026, 3, 2))
    assert license.instance_id == make_sync_request().instance_id


def test_in_memory_pair_refuses_activation_when_clocks_are_skewed_beyond_the_window() -> None:
    portal = Portal(clock())
    token, nonce = seal_request(
        make_activation_request(), INSTANCE_KEY, clock(START + timedelta(minutes=6))
    )
    answer = open_response(portal.activate(token), PORTAL_KEYS, clock(), nonce)
    assert parse_message(answer, ErrorAnswer).code == "stale_request"
