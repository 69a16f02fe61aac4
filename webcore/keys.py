"""Key files: generated on first start, readable only by their owner, never logged."""

from __future__ import annotations

import functools
import json
import logging
import os
import secrets
import stat
from pathlib import Path
from typing import Any

from protocol.signing import KeySet, SigningKey, VerifyingKey
from webcore.private_files import make_private_folder

log = logging.getLogger(__name__)


def write_private_file(path: Path, data: bytes) -> None:
    """Create ``path`` with mode 0600 (fails if it exists: a key is never silently replaced)."""
    make_private_folder(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def load_or_create_signing_key(path: Path) -> SigningKey:
    """The signing key stored at ``path``, generated there on first use.

    Several workers may start together: each writes its candidate to a private temporary file and
    links it into place, which succeeds for exactly one; the others load the winner's key, which
    is complete by then (a link never shows a half-written file).
    """
    if not path.exists():
        key = SigningKey.generate()
        candidate = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        write_private_file(candidate, key.to_pem())
        try:
            os.link(candidate, path)
        except FileExistsError:
            pass  # another worker won; load its key below
        else:
            log.info("generated a new signing key %s at %s", key.kid, path)
            return key
        finally:
            candidate.unlink()
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        log.warning("key file %s is readable by others (mode %o); restricting to 0600", path, mode)
        path.chmod(0o600)
    return SigningKey.from_pem(path.read_bytes())


def app_signing_key(app: Any, *, setting: str, file_name: str, extension: str) -> SigningKey:
    """The app's own key: from the file ``app.config[setting]`` names, else ``keys/FILE_NAME``
    in the instance path; generated on first use and cached on the app."""
    key = app.extensions.get(extension)
    if key is None:
        configured = app.config.get(setting)
        path = Path(configured) if configured else Path(app.instance_path) / "keys" / file_name
        key = load_or_create_signing_key(path)
        app.extensions[extension] = key
    return key  # type: ignore[no-any-return]


# Read at every sync (the instance's pinned portal keys): the same text makes the same frozen key
# set, so it is read once per text (a key file is still read each time: a new key is seen).
@functools.lru_cache(maxsize=16)
def load_key_set(text: str) -> KeySet:
    """A pinned key set from JWKS JSON text or one or more concatenated PEM public keys."""
    stripped = text.strip()
    if stripped.startswith("{"):
        return KeySet.from_jwks(json.loads(stripped))
    blocks = [block for block in stripped.split("-----END PUBLIC KEY-----") if block.strip()]
    keys = tuple(
        VerifyingKey.from_pem((block.strip() + "\n-----END PUBLIC KEY-----\n").encode())
        for block in blocks
    )
    return KeySet(keys)


def load_pinned_keys(value: str) -> KeySet:
    """``value`` is a path to a key file, or the key text itself."""
    if value.strip().startswith(("{", "-----BEGIN")):
        return load_key_set(value)
    return load_key_set(Path(value).read_text())


def write_public_keys(path: Path, keys: KeySet) -> None:
    make_private_folder(path.parent)
    path.write_text(json.dumps(keys.to_jwks(), indent=2, sort_keys=True) + "\n")
