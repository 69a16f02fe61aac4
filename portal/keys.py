"""The portal's signing keys: the active one signs; retired ones are still published."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, current_app

from protocol.signing import KeySet, SigningKey
from webcore.config import parse_list
from webcore.keys import load_or_create_signing_key


def signing_key_path(app: Flask) -> Path:
    configured = app.config.get("SIGNING_KEY_FILE")
    return Path(configured) if configured else Path(app.instance_path) / "keys" / "signing.pem"


def load_signing_key(app: Flask) -> SigningKey:
    """Load (or, on first start, generate) the active key and cache it on the app."""
    key = load_or_create_signing_key(signing_key_path(app))
    app.extensions["portal.signing_key"] = key
    return key


def signing_key() -> SigningKey:
    app = current_app
    key = app.extensions.get("portal.signing_key")
    return key if key is not None else load_signing_key(app)  # type: ignore[no-any-return]


def published_keys(app: Flask) -> KeySet:
    """Every key an instance should pin: the active one first, then retired ones."""
    active = app.extensions.get("portal.signing_key") or load_signing_key(app)
    retired_files = parse_list(app.config.get("RETIRED_SIGNING_KEY_FILES") or "")
    retired = [SigningKey.from_pem(Path(p).read_bytes()).verifying_key() for p in retired_files]
    return KeySet((active.verifying_key(), *retired))
