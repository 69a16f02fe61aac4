"""Nothing random is ever accepted: random bytes, random text, JWS-shaped text, armored
random text and well-formed tokens with random signatures all fail as InvalidSignature."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol import (
    LICENSE_TYP,
    REQUEST_TYP,
    InvalidSignature,
    MemoryNonceStore,
    b64url_encode,
    canonical_json,
    dearmor,
    open_request,
    open_response,
    open_self_signed_request,
    read_license_file,
    verify,
    verify_license,
)
from tests.protocol.factories import (
    INSTANCE_KEYS,
    PORTAL_KEY,
    PORTAL_KEYS,
    PROPERTY,
    clock,
    jws_shaped,
)

random_text = st.text() | st.binary().map(lambda raw: raw.decode("latin-1")) | jws_shaped


@st.composite
def forged_tokens(draw: st.DrawFn) -> str:
    """Well-formed tokens with a plausible header and a random 64-byte signature."""
    header = {
        "alg": draw(st.sampled_from(["EdDSA", "none", "HS256"])),
        "kid": draw(st.sampled_from([PORTAL_KEY.kid, "other"])),
        "typ": draw(st.sampled_from([LICENSE_TYP, REQUEST_TYP, "JWT"])),
    }
    payload = draw(st.binary(max_size=200))
    signature = draw(st.binary(min_size=64, max_size=64))
    return ".".join(b64url_encode(part) for part in (canonical_json(header), payload, signature))


def _armored(body: str) -> str:
    return f"-----BEGIN PROVLAB LICENSE-----\n{body}\n-----END PROVLAB LICENSE-----\n"


@pytest.mark.parametrize(
    ("inputs", "typ"),
    [
        pytest.param(random_text, LICENSE_TYP, id="text"),
        pytest.param(st.binary(), LICENSE_TYP, id="bytes"),
        pytest.param(jws_shaped, "provlab-test+jws", id="jws-shaped"),
    ],
)
@PROPERTY
@given(data=st.data())
def test_random_input_never_verifies(
    inputs: st.SearchStrategy[Any], typ: str, data: st.DataObject
) -> None:
    with pytest.raises(InvalidSignature):
        verify(data.draw(inputs), PORTAL_KEYS, typ)


@PROPERTY
@given(forged_tokens())
def test_well_formed_token_with_random_signature_never_verifies(token: str) -> None:
    with pytest.raises(InvalidSignature):
        verify_license(token, PORTAL_KEYS)


@PROPERTY
@given(random_text)
def test_random_input_never_dearmors_to_a_license(text: str) -> None:
    with pytest.raises(InvalidSignature):
        read_license_file(text, PORTAL_KEYS)


@PROPERTY
@given(random_text | forged_tokens())
def test_armored_random_body_is_never_a_license(body: str) -> None:
    with pytest.raises(InvalidSignature):
        read_license_file(_armored(body), PORTAL_KEYS)


@PROPERTY
@given(st.text())
def test_random_text_never_dearmors(text: str) -> None:
    with pytest.raises(InvalidSignature):
        dearmor(text)


@PROPERTY
@given(random_text | forged_tokens())
def test_random_input_never_opens_as_a_request(token: str) -> None:
    with pytest.raises(InvalidSignature):
        open_request(token, INSTANCE_KEYS, clock(), MemoryNonceStore())


@PROPERTY
@given(random_text | forged_tokens())
def test_random_input_never_opens_as_a_self_signed_request(token: str) -> None:
    with pytest.raises(InvalidSignature):
        open_self_signed_request(token, clock(), MemoryNonceStore())


@PROPERTY
@given(random_text | forged_tokens())
def test_random_input_never_opens_as_a_response(token: str) -> None:
    with pytest.raises(InvalidSignature):
        open_response(token, PORTAL_KEYS, clock(), "expected-nonce-0001")


@pytest.mark.parametrize("value", [None, 0, [], {}, b"", 1.5])
def test_non_text_input_is_an_invalid_signature_everywhere(value: Any) -> None:
    for attempt in (
        lambda: verify(value, PORTAL_KEYS, LICENSE_TYP),
        lambda: dearmor(value),
        lambda: read_license_file(value, PORTAL_KEYS),
        lambda: open_request(value, INSTANCE_KEYS, clock(), MemoryNonceStore()),
        lambda: open_self_signed_request(value, clock(), MemoryNonceStore()),
    ):
        with pytest.raises(InvalidSignature):
            attempt()
