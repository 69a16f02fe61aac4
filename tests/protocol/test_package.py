"""The package as others use it: its public names, and that it stays sans-IO."""

from __future__ import annotations

import ast
from pathlib import Path

import protocol

PACKAGE = Path(protocol.__file__).parent

# What the other engineers code against; removing or renaming one breaks them.
PROMISED = {
    "ProtocolError",
    "LocalProtocolError",
    "RemoteProtocolError",
    "InvalidSignature",
    "StaleMessage",
    "ReplayedMessage",
    "NonceMismatch",
    "LicenseExpired",
    "LicenseNotYetValid",
    "Clock",
    "RealClock",
    "SimulatedClock",
    "format_utc",
    "parse_utc",
    "canonical_json",
    "b64url_encode",
    "b64url_decode",
    "GitLabVersion",
    "ACTIVATION_CODE_LENGTH",
    "ACTIVATION_CODE_FORMAT_ERROR",
    "generate_activation_code",
    "validate_activation_code",
    "SigningKey",
    "VerifyingKey",
    "KeySet",
    "sign",
    "verify",
    "armor",
    "dearmor",
    "Plan",
    "LicenseType",
    "AddOnTier",
    "Licensee",
    "AddOnProduct",
    "License",
    "LICENSE_TYP",
    "sign_license",
    "verify_license",
    "license_file",
    "read_license_file",
    "ActivationRequest",
    "ActivationAnswer",
    "AddOnUsage",
    "DailyUsage",
    "SyncRequest",
    "SyncAnswer",
    "ErrorAnswer",
    "NonceStore",
    "MemoryNonceStore",
    "DEFAULT_FRESHNESS_WINDOW",
    "new_nonce",
    "Opened",
    "seal_request",
    "open_request",
    "open_self_signed_request",
    "seal_response",
    "open_response",
    "parse_message",
}

# Sans-IO: no web framework, HTTP client, database, socket, process or file system.
FORBIDDEN_MODULES = {
    "flask",
    "requests",
    "sqlalchemy",
    "flask_sqlalchemy",
    "socket",
    "http",
    "urllib",
    "os",
    "pathlib",
    "io",
    "subprocess",
    "shutil",
    "tempfile",
}


def test_every_promised_name_is_exported() -> None:
    assert PROMISED <= set(protocol.__all__)
    for name in protocol.__all__:
        assert hasattr(protocol, name), name


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def _calls_open(path: Path) -> bool:
    return any(
        isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "open"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
    )


def test_protocol_package_does_no_io() -> None:
    modules = sorted(PACKAGE.glob("*.py"))
    assert len(modules) >= 10
    for module in modules:
        assert not (_imports(module) & FORBIDDEN_MODULES), module.name
        assert not _calls_open(module), module.name


def test_every_module_opens_with_a_statement_of_its_rules() -> None:
    for module in sorted(PACKAGE.glob("*.py")):
        assert module.read_text(encoding="utf-8").startswith("# "), module.name
