"""Key files: created once with mode 0600 and reused; pinned portal keys from a file or text."""

from __future__ import annotations

import json
import logging
import stat
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from protocol.signing import KeySet, SigningKey, sign, verify
from webcore.keys import (
    load_key_set,
    load_or_create_signing_key,
    load_pinned_keys,
    write_private_file,
    write_public_keys,
)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


APPS = {
    "portal": ("portal.signing_key", "keys/signing.pem"),
    "instance": ("instance.key", "keys/instance.pem"),
}


def _reprepare(app: Flask) -> Flask:
    """A second start of the same app: same folder, same database."""
    module = __import__(app.name, fromlist=["create_app"])
    setup = __import__(f"{app.name}.setup", fromlist=["prepare"])
    again = module.create_app(
        {
            "INSTANCE_PATH": app.config["INSTANCE_PATH"],
            "DATABASE_URL": app.config["DATABASE_URL"],
            "CLOCK": "simulated",
            "SIMULATED_START": "2026-03-02T00:00:00Z",
        },
        environ={},
    )
    setup.prepare(again)
    return again


@pytest.mark.parametrize("app_name", ["portal", "instance"])
def test_signing_key_is_created_on_first_prepare_with_mode_0600_and_reused_after(
    app_name: str, make_portal: Any, make_instance: Any
) -> None:
    app = (make_portal if app_name == "portal" else make_instance)()
    extension, relative = APPS[app_name]
    key_file = Path(app.instance_path) / relative
    assert key_file.exists()
    assert mode(key_file) == 0o600
    first_kid = app.extensions[extension].kid
    first_pem = key_file.read_bytes()
    secret_file = Path(app.instance_path) / "secret_key"
    assert mode(secret_file) == 0o600
    assert app.config["SECRET_KEY"] == secret_file.read_text().strip()

    again = _reprepare(app)
    try:
        assert again.extensions[extension].kid == first_kid
        assert key_file.read_bytes() == first_pem
        assert again.config["SECRET_KEY"] == app.config["SECRET_KEY"]
    finally:
        with again.app_context():
            again.extensions["sqlalchemy"].engine.dispose()


def test_a_group_readable_key_file_is_restricted_to_its_owner(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "keys" / "signing.pem"
    original = load_or_create_signing_key(path)
    path.chmod(0o640)

    with caplog.at_level(logging.WARNING, logger="webcore.keys"):
        loaded = load_or_create_signing_key(path)

    assert loaded.kid == original.kid
    assert mode(path) == 0o600
    assert any("readable by others" in r.getMessage() for r in caplog.records)
    assert "PRIVATE KEY" not in caplog.text


def test_creating_a_key_logs_its_kid_never_its_material(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="webcore.keys"):
        key = load_or_create_signing_key(tmp_path / "k.pem")
    assert key.kid in caplog.text
    assert "PRIVATE" not in caplog.text and key.to_pem().decode().splitlines()[1] not in caplog.text


def test_a_private_file_is_never_silently_replaced(tmp_path: Path) -> None:
    path = tmp_path / "secret"
    write_private_file(path, b"first")
    with pytest.raises(FileExistsError):
        write_private_file(path, b"second")
    assert path.read_bytes() == b"first"
    assert mode(path) == 0o600


@pytest.fixture
def portal_keys() -> tuple[SigningKey, SigningKey]:
    return SigningKey.generate(), SigningKey.generate()


def _proves_pinning(keys: KeySet, signer: SigningKey) -> None:
    token = sign(b'{"hello": "instance"}', signer, "test+jws")
    assert verify(token, keys, "test+jws") == b'{"hello": "instance"}'


def test_instance_pins_portal_keys_from_a_jwks_file_path(
    tmp_path: Path, portal_keys: tuple[SigningKey, SigningKey]
) -> None:
    active, retired = portal_keys
    path = tmp_path / "portal" / "public_keys.json"
    write_public_keys(path, KeySet((active.verifying_key(), retired.verifying_key())))

    keys = load_pinned_keys(str(path))

    assert [key.kid for key in keys.keys] == [active.kid, retired.kid]
    _proves_pinning(keys, active)
    _proves_pinning(keys, retired)


def test_instance_pins_portal_keys_from_jwks_text(
    portal_keys: tuple[SigningKey, SigningKey],
) -> None:
    active, _ = portal_keys
    text = "\n  " + json.dumps(KeySet((active.verifying_key(),)).to_jwks())
    keys = load_pinned_keys(text)
    assert active.kid in keys and len(keys) == 1
    _proves_pinning(keys, active)


def test_instance_pins_portal_keys_from_pem_text_one_or_several(
    tmp_path: Path, portal_keys: tuple[SigningKey, SigningKey]
) -> None:
    active, retired = portal_keys
    one = active.verifying_key().to_pem().decode()
    both = one + retired.verifying_key().to_pem().decode()

    single = load_pinned_keys(one)
    assert len(single) == 1
    _proves_pinning(single, active)

    pair = load_pinned_keys(both)
    assert len(pair) == 2
    _proves_pinning(pair, active)
    _proves_pinning(pair, retired)

    pem_file = tmp_path / "portal.pem"
    pem_file.write_text(both)
    assert len(load_pinned_keys(str(pem_file))) == 2


def test_a_key_not_pinned_is_refused(portal_keys: tuple[SigningKey, SigningKey]) -> None:
    from protocol.errors import ProtocolError

    active, stranger = portal_keys
    keys = load_key_set(active.verifying_key().to_pem().decode())
    token = sign(b"{}", stranger, "test+jws")
    with pytest.raises(ProtocolError):
        verify(token, keys, "test+jws")


def test_pinning_a_private_key_or_garbage_fails_loudly(
    tmp_path: Path, portal_keys: tuple[SigningKey, SigningKey]
) -> None:
    from protocol.errors import ProtocolError

    with pytest.raises(ProtocolError):
        load_pinned_keys(portal_keys[0].to_pem().decode())
    with pytest.raises(ProtocolError):
        load_pinned_keys("-----BEGIN PUBLIC KEY-----\nnot base64\n-----END PUBLIC KEY-----\n")
    with pytest.raises((ProtocolError, ValueError)):
        load_pinned_keys('{"keys": [{"kty": "RSA"}]}')
    with pytest.raises(OSError):
        load_pinned_keys(str(tmp_path / "missing.json"))


def test_workers_starting_together_all_end_up_with_the_same_key(tmp_path: Path) -> None:
    import threading

    path = tmp_path / "keys" / "signing.pem"
    barrier = threading.Barrier(8)
    kids: list[str] = []
    errors: list[BaseException] = []

    def start() -> None:
        try:
            barrier.wait(10)
            kids.append(load_or_create_signing_key(path).kid)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert len(set(kids)) == 1 and len(kids) == 8
    assert SigningKey.from_pem(path.read_bytes()).kid == kids[0]
    assert mode(path) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["signing.pem"]  # no temporary files left
