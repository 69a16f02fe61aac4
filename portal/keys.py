"""The portal's signing keys: the active one signs; retired ones are still published."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, current_app

from protocol.signing import KeySet, SigningKey
from webcore.config import parse_list
from webcore.keys import app_signing_key


def load_signing_key(app: Flask) -> SigningKey:
    """The active key (generated on first start), cached on the app."""
    return app_signing_key(
        app, setting="SIGNING_KEY_FILE", file_name="signing.pem", extension="portal.signing_key"
    )


def signing_key() -> SigningKey:
    return load_signing_key(current_app)


def published_keys(app: Flask) -> KeySet:
    """Every key an instance should pin: the active one first, then retired ones."""
    active = load_signing_key(app)
    retired_files = parse_list(app.config.get("RETIRED_SIGNING_KEY_FILES") or "")
    retired = [SigningKey.from_pem(Path(p).read_bytes()).verifying_key() for p in retired_files]
    return KeySet((active.verifying_key(), *retired))
