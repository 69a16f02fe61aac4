"""Signing and verification: EdDSA compact JWS, key sets, rotation, armored files."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol import (
    LICENSE_TYP,
    REQUEST_TYP,
    InvalidSignature,
    KeySet,
    LocalProtocolError,
    RemoteProtocolError,
    SigningKey,
    VerifyingKey,
    armor,
    b64url_decode,
    b64url_encode,
    canonical_json,
    dearmor,
    peek_kid,
    sign,
    verify,
)
from tests.protocol.factories import (
    OTHER_KEY,
    PORTAL_KEY,
    PORTAL_KEYS,
    PROPERTY,
    jws_shaped,
)

PAYLOAD = b'{"hello":"instance"}'
TYP = "provlab-test+jws"


def _token(payload: bytes = PAYLOAD, key: SigningKey = PORTAL_KEY, typ: str = TYP) -> str:
    return sign(payload, key, typ)


def _with_header(token: str, header: dict[str, Any]) -> str:
    _, payload, signature = token.split(".")
    return f"{b64url_encode(json.dumps(header).encode())}.{payload}.{signature}"


# --- signing --------------------------------------------------------------------------


def test_signing_is_deterministic() -> None:
    assert _token() == _token()


def test_header_is_exactly_alg_kid_typ_in_canonical_json() -> None:
    header = b64url_decode(_token().split(".")[0])
    assert header == canonical_json({"alg": "EdDSA", "kid": PORTAL_KEY.kid, "typ": TYP})


def test_verify_returns_the_signed_payload() -> None:
    assert verify(_token(), PORTAL_KEYS, TYP) == PAYLOAD


def test_sign_refuses_text_payload_and_bad_typ() -> None:
    with pytest.raises(LocalProtocolError, match="sign.payload"):
        sign("text", PORTAL_KEY, TYP)  # type: ignore[arg-type]
    with pytest.raises(LocalProtocolError, match="sign.typ"):
        sign(PAYLOAD, PORTAL_KEY, "has space")


# --- every failure is the same InvalidSignature ------------------------------------------


def test_wrong_key_under_the_same_kid_is_rejected() -> None:
    impostor = SigningKey(PORTAL_KEY.kid, OTHER_KEY.private_key)
    with pytest.raises(InvalidSignature):
        verify(_token(key=impostor), PORTAL_KEYS, TYP)


def test_unknown_kid_is_rejected() -> None:
    with pytest.raises(InvalidSignature):
        verify(_token(key=OTHER_KEY), PORTAL_KEYS, TYP)


def test_other_typ_is_rejected() -> None:
    with pytest.raises(InvalidSignature):
        verify(_token(typ=LICENSE_TYP), PORTAL_KEYS, REQUEST_TYP)


@pytest.mark.parametrize("cut", [1, 10, 40, -60, -2, -1])
def test_truncated_token_is_rejected(cut: int) -> None:
    token = _token()
    with pytest.raises(InvalidSignature):
        verify(token[:cut], PORTAL_KEYS, TYP)


@pytest.mark.parametrize(
    "garbage",
    ["", ".", "..", "a.b.c", "not a token", "ey.ey.ey", "\x00", "é.é.é", "a.b.c.d", " " * 10],
)
def test_garbage_is_rejected(garbage: str) -> None:
    with pytest.raises(InvalidSignature):
        verify(garbage, PORTAL_KEYS, TYP)


def test_non_string_token_is_rejected() -> None:
    with pytest.raises(InvalidSignature):
        verify(_token().encode(), PORTAL_KEYS, TYP)  # type: ignore[arg-type]
    with pytest.raises(InvalidSignature):
        verify(None, PORTAL_KEYS, TYP)  # type: ignore[arg-type]


def test_alg_none_without_signature_is_rejected() -> None:
    header = {"alg": "none", "kid": PORTAL_KEY.kid, "typ": TYP}
    token = f"{b64url_encode(canonical_json(header))}.{b64url_encode(PAYLOAD)}."
    with pytest.raises(InvalidSignature):
        verify(token, PORTAL_KEYS, TYP)


@pytest.mark.parametrize(
    "header",
    [
        {"alg": "none", "kid": PORTAL_KEY.kid, "typ": TYP},
        {"alg": "HS256", "kid": PORTAL_KEY.kid, "typ": TYP},
        {"alg": "Ed25519", "kid": PORTAL_KEY.kid, "typ": TYP},
        {"alg": "EdDSA", "kid": OTHER_KEY.kid, "typ": TYP},
        {"alg": "EdDSA", "kid": PORTAL_KEY.kid, "typ": "JWT"},
        {"alg": "EdDSA", "kid": PORTAL_KEY.kid},
        {"alg": "EdDSA", "typ": TYP},
        {"alg": "EdDSA", "kid": PORTAL_KEY.kid, "typ": TYP, "crit": ["exp"]},
        {"alg": "EdDSA", "kid": PORTAL_KEY.kid, "typ": TYP, "jwk": {}},
        {"alg": "EdDSA", "kid": 7, "typ": TYP},
    ],
    ids=lambda header: json.dumps(header)[:60],
)
def test_header_other_than_eddsa_kid_typ_is_rejected(header: dict[str, Any]) -> None:
    with pytest.raises(InvalidSignature):
        verify(_with_header(_token(), header), PORTAL_KEYS, TYP)


def test_header_with_a_duplicated_member_is_rejected() -> None:
    _, payload, signature = _token().split(".")
    raw = f'{{"alg":"EdDSA","kid":"{PORTAL_KEY.kid}","typ":"{TYP}","typ":"{TYP}"}}'
    with pytest.raises(InvalidSignature):
        verify(f"{b64url_encode(raw.encode())}.{payload}.{signature}", PORTAL_KEYS, TYP)


def test_signature_spelt_non_canonically_is_rejected() -> None:
    header, payload, signature = _token().split(".")
    # 64 bytes leave 4 unused bits in the last character: flip one, bytes stay the same.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    sloppy = signature[:-1] + alphabet[alphabet.index(signature[-1]) ^ 1]
    # A lenient decoder reads both spellings as the same signature, which would verify.
    assert base64.urlsafe_b64decode(sloppy + "==") == base64.urlsafe_b64decode(signature + "==")
    for spelling in (sloppy, signature + "=", signature + "==", signature + " "):
        with pytest.raises(InvalidSignature):
            verify(f"{header}.{payload}.{spelling}", PORTAL_KEYS, TYP)


def test_flipping_any_bit_of_the_signature_is_rejected() -> None:
    header, payload, signature = _token().split(".")
    raw = b64url_decode(signature)
    for index in range(len(raw)):
        flipped = raw[:index] + bytes([raw[index] ^ 0x01]) + raw[index + 1 :]
        with pytest.raises(InvalidSignature):
            verify(f"{header}.{payload}.{b64url_encode(flipped)}", PORTAL_KEYS, TYP)


def test_every_failure_has_the_same_opaque_message() -> None:
    token = _token()
    failures = [
        "garbage",
        token[:-3],
        _token(key=OTHER_KEY),
        _with_header(token, {"alg": "none", "kid": PORTAL_KEY.kid, "typ": TYP}),
        _token(typ="provlab-other+jws"),
    ]
    messages = set()
    for failure in failures:
        with pytest.raises(InvalidSignature) as caught:
            verify(failure, PORTAL_KEYS, TYP)
        messages.add(str(caught.value))
    assert messages == {"signature verification failed"}


@PROPERTY
@given(st.data())
def test_any_single_character_change_to_a_token_is_rejected(data: st.DataObject) -> None:
    token = _token()
    index = data.draw(st.integers(0, len(token) - 1))
    replacement = data.draw(st.characters(codec="ascii").filter(lambda c: c != token[index]))
    with pytest.raises(InvalidSignature):
        verify(token[:index] + replacement + token[index + 1 :], PORTAL_KEYS, TYP)


# --- keys and key sets ---------------------------------------------------------------


def test_generated_key_kid_defaults_to_its_rfc7638_thumbprint() -> None:
    key = SigningKey.generate()
    assert key.kid == key.verifying_key().thumbprint()
    assert SigningKey.generate("portal-2026").kid == "portal-2026"


def test_private_key_pem_round_trips_and_keeps_the_kid_choice() -> None:
    pem = PORTAL_KEY.to_pem()
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    assert SigningKey.from_pem(pem) == PORTAL_KEY
    assert SigningKey.from_pem(pem, kid="named").kid == "named"


def test_public_key_pem_round_trips() -> None:
    verifying_key = PORTAL_KEY.verifying_key()
    assert VerifyingKey.from_pem(verifying_key.to_pem()) == verifying_key


@pytest.mark.parametrize("data", [b"", b"not pem", OTHER_KEY.verifying_key().to_pem()])
def test_signing_key_from_bad_pem_is_a_local_error(data: bytes) -> None:
    with pytest.raises(LocalProtocolError, match="signing_key.pem"):
        SigningKey.from_pem(data)


def test_verifying_key_from_private_pem_is_a_local_error() -> None:
    with pytest.raises(LocalProtocolError, match="verifying_key.pem"):
        VerifyingKey.from_pem(PORTAL_KEY.to_pem())


def test_key_repr_never_shows_key_material() -> None:
    assert "private_key" not in repr(PORTAL_KEY)
    assert PORTAL_KEY.kid in repr(PORTAL_KEY)


def test_jwk_round_trips() -> None:
    verifying_key = PORTAL_KEY.verifying_key()
    assert VerifyingKey.from_jwk(verifying_key.to_jwk()) == verifying_key


def test_jwk_without_kid_takes_its_thumbprint() -> None:
    jwk = PORTAL_KEY.verifying_key().to_jwk()
    del jwk["kid"]
    assert VerifyingKey.from_jwk(jwk).kid == PORTAL_KEY.verifying_key().thumbprint()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"kty": "EC"}, "jwk.kty"),
        ({"crv": "X25519"}, "jwk.crv"),
        ({"x": "AAAA"}, "jwk.x"),
        ({"x": 5}, "jwk.x"),
        ({"x": None}, "jwk.x"),
        ({"d": "secret"}, "jwk.d"),
        ({"alg": "RS256"}, "jwk.alg"),
        ({"use": "enc"}, "jwk.use"),
        ({"kid": ""}, "jwk.kid"),
        ({"kid": 5}, "jwk.kid"),
    ],
)
def test_malformed_jwk_is_a_remote_error_naming_the_member(
    change: dict[str, Any], field: str
) -> None:
    jwk = {**PORTAL_KEY.verifying_key().to_jwk(), **change}
    with pytest.raises(RemoteProtocolError) as caught:
        VerifyingKey.from_jwk(jwk)
    assert caught.value.field == field


def test_jwk_that_is_not_an_object_is_a_remote_error() -> None:
    with pytest.raises(RemoteProtocolError, match="^jwk: "):
        VerifyingKey.from_jwk(["OKP"])


def test_jwks_round_trips() -> None:
    keys = KeySet((PORTAL_KEY.verifying_key(), OTHER_KEY.verifying_key()))
    assert KeySet.from_jwks(keys.to_jwks()) == keys


@pytest.mark.parametrize(
    ("jwks", "field"),
    [
        ([], "jwks"),
        ({}, "jwks.keys"),
        ({"keys": {}}, "jwks.keys"),
        ({"keys": [], "extra": 1}, "jwks.extra"),
        ({"keys": [{"kty": "RSA"}]}, "jwks.keys[0].kty"),
    ],
)
def test_malformed_jwks_is_a_remote_error_naming_the_field(jwks: object, field: str) -> None:
    with pytest.raises(RemoteProtocolError) as caught:
        KeySet.from_jwks(jwks)
    assert caught.value.field == field


def test_jwks_with_one_kid_for_two_keys_is_refused() -> None:
    clash = {**OTHER_KEY.verifying_key().to_jwk(), "kid": PORTAL_KEY.kid}
    with pytest.raises(RemoteProtocolError, match=r"jwks\.keys\[1\]\.kid"):
        KeySet.from_jwks({"keys": [PORTAL_KEY.verifying_key().to_jwk(), clash]})


def test_key_set_refuses_one_kid_for_two_keys() -> None:
    clash = VerifyingKey(PORTAL_KEY.kid, OTHER_KEY.private_key.public_key())
    with pytest.raises(LocalProtocolError, match="duplicate kid"):
        KeySet((PORTAL_KEY.verifying_key(), clash))


def test_key_set_merges_the_same_key_listed_twice() -> None:
    keys = KeySet((PORTAL_KEY.verifying_key(), PORTAL_KEY.verifying_key()))
    assert len(keys) == 1


def test_key_rotation_accepts_old_and_new_then_drops_the_old() -> None:
    old, new = PORTAL_KEY, OTHER_KEY
    old_token, new_token = _token(key=old), _token(key=new)
    both = KeySet((old.verifying_key(), new.verifying_key()))
    assert verify(old_token, both, TYP) == verify(new_token, both, TYP) == PAYLOAD
    after = both.without(old.kid)
    assert verify(new_token, after, TYP) == PAYLOAD
    with pytest.raises(InvalidSignature):
        verify(old_token, after, TYP)


def test_key_set_with_key_adds_a_key() -> None:
    keys = PORTAL_KEYS.with_key(OTHER_KEY.verifying_key())
    assert OTHER_KEY.kid in keys and PORTAL_KEY.kid in keys
    assert keys.get("missing") is None


def test_peek_kid_reads_the_claimed_kid_without_verifying() -> None:
    assert peek_kid(_token(key=OTHER_KEY)) == OTHER_KEY.kid
    with pytest.raises(InvalidSignature):
        peek_kid("garbage")


# --- armor ---------------------------------------------------------------------------


def test_armor_wraps_the_token_at_64_columns_between_begin_and_end() -> None:
    token = _token(b"x" * 300)
    text = armor(token)
    lines = text.split("\n")
    assert lines[0] == "-----BEGIN PROVLAB LICENSE-----"
    assert lines[-2:] == ["-----END PROVLAB LICENSE-----", ""]
    assert all(len(line) == 64 for line in lines[1:-3])
    assert 0 < len(lines[-3]) <= 64
    assert "".join(lines[1:-2]) == token


def test_dearmor_forgives_crlf_indentation_and_surrounding_blank_lines() -> None:
    token = _token(b"x" * 300)
    messy = "\r\n\r\n  " + armor(token).replace("\n", "  \r\n    ") + "\n\n"
    assert dearmor(messy) == token


@pytest.mark.parametrize(
    "mangle",
    [
        lambda text: text.replace("-----END PROVLAB LICENSE-----", ""),
        lambda text: text.replace("BEGIN PROVLAB LICENSE", "BEGIN PROVLAB KEY"),
        lambda text: "Here is your license:\n" + text,
        lambda text: text.replace("\n", "\n!", 2),
        lambda text: text[:40] + " " + text[40:],
        lambda text: "-----BEGIN PROVLAB LICENSE-----\n-----END PROVLAB LICENSE-----\n",
        lambda text: "",
    ],
)
def test_dearmor_rejects_malformed_files_as_invalid_signature(mangle: Any) -> None:
    with pytest.raises(InvalidSignature):
        dearmor(mangle(armor(_token())))


def test_dearmor_rejects_a_file_with_another_label() -> None:
    with pytest.raises(InvalidSignature):
        dearmor(armor(_token(), label="RECEIPT"))
    assert dearmor(armor(_token(), label="RECEIPT"), label="RECEIPT") == _token()


def test_armor_refuses_what_is_not_a_token_or_a_bad_label() -> None:
    with pytest.raises(LocalProtocolError, match="armor.token"):
        armor("not a token")
    with pytest.raises(LocalProtocolError, match="armor.label"):
        armor(_token(), label="lower")


@PROPERTY
@given(jws_shaped, st.sampled_from(["LICENSE", "OFFLINE LICENSE", "USAGE REPORT"]))
def test_armor_then_dearmor_gives_back_the_token(token: str, label: str) -> None:
    assert dearmor(armor(token, label), label) == token


@PROPERTY
@given(st.text())
def test_random_text_never_dearmors(text: str) -> None:
    with pytest.raises(InvalidSignature):
        dearmor(text)
