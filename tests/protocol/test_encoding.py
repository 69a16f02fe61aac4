"""Canonical JSON, strict base64url and strict JSON parsing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol import b64url_decode, b64url_encode, canonical_json, parse_json
from tests.protocol.factories import PROPERTY, json_values


def test_canonical_json_sorts_keys_without_whitespace_in_utf8() -> None:
    assert canonical_json({"b": 1, "a": [True, None], "é": "ü"}) == (
        '{"a":[true,null],"b":1,"é":"ü"}'.encode()
    )


def test_canonical_json_sorts_nested_keys() -> None:
    assert canonical_json({"z": {"b": 2, "a": 1}}) == b'{"z":{"a":1,"b":2}}'


@pytest.mark.parametrize("value", [float("nan"), float("inf"), {"x": float("-inf")}])
def test_canonical_json_refuses_nan_and_infinity(value: object) -> None:
    with pytest.raises(ValueError):
        canonical_json(value)


def test_canonical_json_refuses_non_string_keys() -> None:
    with pytest.raises(TypeError):
        canonical_json({1: "a", "1": "b"})
    with pytest.raises(TypeError):
        canonical_json([{"ok": {2: "nested"}}])


@PROPERTY
@given(json_values)
def test_canonical_json_round_trips_and_is_a_fixed_point(value: object) -> None:
    encoded = canonical_json(value)
    assert parse_json(encoded) == value
    assert canonical_json(parse_json(encoded)) == encoded


def test_b64url_is_unpadded_and_url_safe() -> None:
    assert b64url_encode(b"\xfb\xff") == "-_8"
    assert b64url_decode("-_8") == b"\xfb\xff"
    assert b64url_encode(b"") == "" and b64url_decode("") == b""


@pytest.mark.parametrize(
    "text",
    ["-_8=", "+/8", "QQ==", "Q", "QR", "Q Q", "QQ\n", "é", "QUJD!"],
)
def test_b64url_decode_refuses_every_other_spelling(text: str) -> None:
    with pytest.raises(ValueError):
        b64url_decode(text)


def test_b64url_decode_refuses_non_strings_with_value_error() -> None:
    with pytest.raises(ValueError):
        b64url_decode(b"QQ")  # type: ignore[arg-type]


@PROPERTY
@given(st.binary(max_size=200))
def test_b64url_round_trips(data: bytes) -> None:
    assert b64url_decode(b64url_encode(data)) == data


@PROPERTY
@given(
    st.text(
        alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", max_size=40
    )
)
def test_b64url_decode_accepts_only_canonical_spellings(text: str) -> None:
    try:
        data = b64url_decode(text)
    except ValueError:
        return
    assert b64url_encode(data) == text


@pytest.mark.parametrize(
    "raw",
    [
        b'{"a":1,"a":2}',
        b"NaN",
        b'{"a":Infinity}',
        b"\xff",
        '{"a":"é"}'.encode("utf-16"),
        b"[" * 100_000 + b"]" * 100_000,
        b"",
        b"{",
    ],
    ids=["duplicate", "nan", "infinity", "not-utf8", "utf16", "deep", "empty", "truncated"],
)
def test_parse_json_refuses_what_a_lenient_parser_would_guess_at(raw: bytes) -> None:
    with pytest.raises(ValueError):
        parse_json(raw)
