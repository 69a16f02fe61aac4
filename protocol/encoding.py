# Bytes on the wire.
#
# Rules this module enforces:
# - One document has one encoding: keys sorted, no whitespace, UTF-8, no NaN/Infinity, string
#   keys only. Signatures cover bytes, so two spellings of one document would be two documents.
# - base64url is unpadded and strict: only the URL-safe alphabet, and only the canonical
#   spelling (unused trailing bits zero). A lenient decoder lets one token be written several
#   ways, which defeats byte-for-byte comparison and hides tampering.
# - Received JSON is parsed strictly too: UTF-8 only, no duplicate keys (which value would win
#   differs between parsers), no NaN/Infinity, nested at most MAX_DEPTH levels (the parser and
#   everything that walks a document recurse: a peer must not be able to exhaust the stack).
from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

__all__ = ["b64url_decode", "b64url_encode", "canonical_json", "parse_json"]

_B64URL = re.compile(r"[A-Za-z0-9_-]*")
MAX_DEPTH = 32  # nesting levels; a protocol document has fewer than 8


def _check_keys(obj: object) -> None:
    # json.dumps would turn {1: "a"} into {"1": "a"}, so {1: "a", "1": "b"} would yield a
    # document with a duplicate key; refuse non-string keys instead.
    if isinstance(obj, dict):
        for key, value in obj.items():
            if not isinstance(key, str):
                raise TypeError(f"canonical JSON keys must be strings, got {type(key).__name__}")
            _check_keys(value)
    elif isinstance(obj, list | tuple):
        for item in obj:
            _check_keys(item)


def canonical_json(obj: object) -> bytes:
    """Encode `obj` as canonical JSON bytes (sorted keys, compact, UTF-8, no NaN)."""
    _check_keys(obj)
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def b64url_encode(data: bytes) -> str:
    """Unpadded base64url (RFC 7515 section 2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(s: str) -> bytes:
    """Strictly decode unpadded base64url; any other spelling raises ValueError."""
    if not isinstance(s, str) or not _B64URL.fullmatch(s) or len(s) % 4 == 1:
        raise ValueError("not unpadded base64url")
    try:
        data = base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
    except binascii.Error as exc:
        raise ValueError("not unpadded base64url") from exc
    if b64url_encode(data) != s:
        raise ValueError("not canonical base64url (non-zero trailing bits)")
    return data


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # Every object of every received message comes through here: built at C speed, and
    # searched key by key only when a key was lost (a duplicate).
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise ValueError(f"duplicate key {key[:40]!r}")
            seen.add(key)
    return result


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_json(data: bytes) -> Any:
    """Parse received JSON strictly; any problem with the bytes raises ValueError."""
    if not isinstance(data, bytes):
        raise TypeError("expected bytes")
    try:
        value = json.loads(
            data.decode("utf-8"),
            object_pairs_hook=_reject_duplicates,
            parse_constant=_reject_constant,
        )
    except RecursionError as exc:
        # Deeply nested input is hostile, not a crash of ours.
        raise ValueError("JSON nested too deeply") from exc
    if _deeper_than(value, MAX_DEPTH):
        # Parsed, but _check_keys and canonical_json would recurse over it again.
        raise ValueError("JSON nested too deeply")
    return value


def _deeper_than(value: Any, limit: int) -> bool:
    # Only containers are pushed (a message's many scalars cost a type check each, no more).
    stack = [(value, 1)] if isinstance(value, dict | list) else []
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item
        if children and depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False
