# Signatures: JWS compact serialization with EdDSA over Ed25519 (RFC 7515, RFC 8037).
#
# Rules this module enforces:
# - The only algorithm is EdDSA. The header is exactly {"alg", "kid", "typ"}; "alg": "none",
#   any other alg, a missing or extra header field, or an unexpected "typ" is a failed
#   signature. typ separates licenses, requests and responses, so one can never be passed
#   off as another.
# - The key is chosen by kid from a KeySet the verifier pins (several keys, for rotation);
#   a token never brings its own key here (see envelope.open_self_signed_request).
# - Every failure, whatever its cause, raises the same InvalidSignature.
# - Signing is deterministic (Ed25519 is, and the header is canonical JSON), so the same
#   document and key give the same token, byte for byte.
# - License files are armored text: BEGIN/END lines around the token wrapped at 64 columns;
#   a file that cannot be read is, to the admin, the same as a tampered one.
#
# Why cryptography directly rather than PyJWT's PyJWS (PyJWT is not a dependency): PyJWT
# decodes base64url leniently (jwt.utils.base64url_decode pads its input and calls
# base64.urlsafe_b64decode, which skips non-alphabet characters, accepts '=' padding and ignores
# non-zero trailing bits; still so in PyJWT 2.15.1), so a token would have several spellings
# that all verify. PyJWS also brings header features (b64/crit, a default typ of "JWT") we
# would have to switch off one by one. Compact EdDSA JWS is forty lines on top of cryptography,
# with exactly the strictness above (protocol.encoding.b64url_decode accepts one spelling only).
from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature as _CryptoInvalidSignature
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from protocol._fields import SHORT_TEXT, ErrorClass, check_text, fail, remote, shown
from protocol.encoding import b64url_decode, b64url_encode, canonical_json, parse_json
from protocol.errors import InvalidSignature, LocalProtocolError, RemoteProtocolError

__all__ = [
    "ALG",
    "KeySet",
    "SigningKey",
    "VerifyingKey",
    "armor",
    "dearmor",
    "peek_kid",
    "sign",
    "verify",
]

ALG = "EdDSA"
ARMOR_WIDTH = 64
# Far above any real license or sync (a year of daily usage is ~20 kB); refusing bigger
# input up front keeps a hostile peer from making us decode megabytes before failing.
MAX_TOKEN_LENGTH = 1_000_000
_HEADER_FIELDS = frozenset({"alg", "kid", "typ"})
_TYP = re.compile(r"[A-Za-z0-9][A-Za-z0-9.+_-]{0,63}")
_TOKEN = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
_LABEL = re.compile(r"[A-Z0-9]+(?: [A-Z0-9]+)*")


def _check_kid(kid: object, error: ErrorClass, where: str) -> str:
    return check_text(f"{where}.kid", kid, error=error, max_length=SHORT_TEXT)


def _thumbprint(public_key: Ed25519PublicKey) -> str:
    # RFC 7638: SHA-256 over the required members in lexicographic order, no whitespace,
    # which is exactly what canonical_json produces.
    members = {"crv": "Ed25519", "kty": "OKP", "x": b64url_encode(_raw(public_key))}
    return b64url_encode(hashlib.sha256(canonical_json(members)).digest())


def _raw(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


@dataclass(frozen=True)
class VerifyingKey:
    """A public key and the kid tokens name it by."""

    kid: str
    public_key: Ed25519PublicKey = field(repr=False)

    def __post_init__(self) -> None:
        _check_kid(self.kid, LocalProtocolError, "verifying_key")
        if not isinstance(self.public_key, Ed25519PublicKey):
            fail(LocalProtocolError, "verifying_key.public_key", "expected an Ed25519 public key")

    def __hash__(self) -> int:
        return hash((self.kid, _raw(self.public_key)))

    def raw(self) -> bytes:
        return _raw(self.public_key)

    def thumbprint(self) -> str:
        """RFC 7638 JWK thumbprint (SHA-256, base64url)."""
        return _thumbprint(self.public_key)

    def to_jwk(self) -> dict[str, str]:
        return {"kty": "OKP", "crv": "Ed25519", "x": b64url_encode(self.raw()), "kid": self.kid}

    @classmethod
    def from_jwk(cls, jwk: object, *, where: str = "jwk") -> VerifyingKey:
        """Read a public JWK; a malformed one raises RemoteProtocolError naming the member.

        Members we do not use are ignored, as RFC 7517 asks, except "d": a private key sent
        over the wire is a leak, and accepting it quietly would hide that.
        """
        if not isinstance(jwk, dict):
            fail(RemoteProtocolError, where, "expected a JWK object")
        if jwk.get("kty") != "OKP":
            fail(RemoteProtocolError, f"{where}.kty", "expected 'OKP'")
        if jwk.get("crv") != "Ed25519":
            fail(RemoteProtocolError, f"{where}.crv", "expected 'Ed25519'")
        if "d" in jwk:
            fail(RemoteProtocolError, f"{where}.d", "a public JWK must not carry a private key")
        if "alg" in jwk and jwk["alg"] != ALG:
            fail(RemoteProtocolError, f"{where}.alg", f"expected {ALG!r}")
        if "use" in jwk and jwk["use"] != "sig":
            fail(RemoteProtocolError, f"{where}.use", "expected 'sig'")
        if "x" not in jwk:
            fail(RemoteProtocolError, f"{where}.x", "missing field")
        try:
            raw = b64url_decode(jwk["x"])
            public_key = Ed25519PublicKey.from_public_bytes(raw)
        except ValueError:
            fail(RemoteProtocolError, f"{where}.x", "expected a base64url Ed25519 public key")
        kid = jwk.get("kid")
        if kid is None:
            kid = _thumbprint(public_key)
        return cls(_check_kid(kid, RemoteProtocolError, where), public_key)

    def to_pem(self) -> bytes:
        return self.public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    @classmethod
    def from_pem(cls, data: bytes, kid: str | None = None) -> VerifyingKey:
        """Load a pinned key (configuration, so a bad one is our own LocalProtocolError)."""
        try:
            public_key = serialization.load_pem_public_key(data)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            public_key = None
        if not isinstance(public_key, Ed25519PublicKey):
            fail(LocalProtocolError, "verifying_key.pem", "expected an Ed25519 public key in PEM")
        return cls(kid if kid is not None else _thumbprint(public_key), public_key)


@dataclass(frozen=True)
class SigningKey:
    """A private key and its kid; `kid` defaults to the RFC 7638 thumbprint."""

    kid: str
    private_key: Ed25519PrivateKey = field(repr=False, compare=False)

    def __post_init__(self) -> None:
        _check_kid(self.kid, LocalProtocolError, "signing_key")
        if not isinstance(self.private_key, Ed25519PrivateKey):
            fail(LocalProtocolError, "signing_key.private_key", "expected an Ed25519 private key")

    def __eq__(self, other: object) -> bool:
        # Private keys have no equality of their own; two loads of one key are one key.
        if not isinstance(other, SigningKey):
            return NotImplemented
        return self.verifying_key() == other.verifying_key()

    def __hash__(self) -> int:
        return hash(self.verifying_key())

    @classmethod
    def _with_default_kid(cls, private_key: Ed25519PrivateKey, kid: str | None) -> SigningKey:
        return cls(kid if kid is not None else _thumbprint(private_key.public_key()), private_key)

    @classmethod
    def generate(cls, kid: str | None = None) -> SigningKey:
        return cls._with_default_kid(Ed25519PrivateKey.generate(), kid)

    @classmethod
    def from_seed(cls, seed: bytes, kid: str | None = None) -> SigningKey:
        """A key from its 32-byte seed; for test vectors and fixtures."""
        if not isinstance(seed, bytes) or len(seed) != 32:
            fail(LocalProtocolError, "signing_key.seed", "expected 32 bytes")
        return cls._with_default_kid(Ed25519PrivateKey.from_private_bytes(seed), kid)

    @classmethod
    def from_pem(cls, data: bytes, kid: str | None = None) -> SigningKey:
        try:
            private_key = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            private_key = None
        if not isinstance(private_key, Ed25519PrivateKey):
            fail(
                LocalProtocolError,
                "signing_key.pem",
                "expected an unencrypted Ed25519 private key in PEM",
            )
        return cls._with_default_kid(private_key, kid)

    def to_pem(self) -> bytes:
        return self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def verifying_key(self) -> VerifyingKey:
        return VerifyingKey(self.kid, self.private_key.public_key())


@dataclass(frozen=True)
class KeySet:
    """The keys a verifier trusts, by kid. Rotation: add the new key, later drop the old."""

    keys: tuple[VerifyingKey, ...]
    _by_kid: dict[str, VerifyingKey] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.keys, tuple | list):
            fail(LocalProtocolError, "key_set.keys", "expected a tuple of VerifyingKey")
        by_kid: dict[str, VerifyingKey] = {}
        for index, key in enumerate(self.keys):
            if not isinstance(key, VerifyingKey):
                fail(LocalProtocolError, f"key_set.keys[{index}]", "expected a VerifyingKey")
            # Two keys under one kid would make the choice of key depend on list order.
            if key.kid in by_kid and by_kid[key.kid] != key:
                fail(LocalProtocolError, f"key_set.keys[{index}].kid", "duplicate kid")
            by_kid[key.kid] = key
        object.__setattr__(self, "keys", tuple(by_kid.values()))
        object.__setattr__(self, "_by_kid", by_kid)

    def __hash__(self) -> int:
        return hash(self.keys)

    def __len__(self) -> int:
        return len(self.keys)

    def __contains__(self, kid: object) -> bool:
        return kid in self._by_kid

    def get(self, kid: str) -> VerifyingKey | None:
        return self._by_kid.get(kid)

    def with_key(self, key: VerifyingKey) -> KeySet:
        return KeySet((*self.keys, key))

    def without(self, kid: str) -> KeySet:
        return KeySet(tuple(key for key in self.keys if key.kid != kid))

    def to_jwks(self) -> dict[str, list[dict[str, str]]]:
        return {"keys": [key.to_jwk() for key in self.keys]}

    @classmethod
    def from_jwks(cls, jwks: object) -> KeySet:
        if not isinstance(jwks, dict):
            fail(RemoteProtocolError, "jwks", "expected an object")
        for name in jwks:
            if name != "keys":
                fail(RemoteProtocolError, f"jwks.{shown(name)}", "unknown field")
        keys = jwks.get("keys")
        if not isinstance(keys, list):
            fail(RemoteProtocolError, "jwks.keys", "expected an array")
        parsed = tuple(
            VerifyingKey.from_jwk(jwk, where=f"jwks.keys[{index}]")
            for index, jwk in enumerate(keys)
        )
        with remote("jwks"):
            return cls(parsed)


def sign(payload: bytes, key: SigningKey, typ: str) -> str:
    """Sign `payload` into a compact JWS with header {"alg": "EdDSA", "kid", "typ"}."""
    if not isinstance(payload, bytes):
        fail(LocalProtocolError, "sign.payload", "expected bytes")
    if not isinstance(key, SigningKey):
        fail(LocalProtocolError, "sign.key", "expected a SigningKey")
    if not isinstance(typ, str) or not _TYP.fullmatch(typ):
        fail(LocalProtocolError, "sign.typ", "expected a media type such as 'provlab-x+jws'")
    header = canonical_json({"alg": ALG, "kid": key.kid, "typ": typ})
    signing_input = f"{b64url_encode(header)}.{b64url_encode(payload)}"
    signature = key.private_key.sign(signing_input.encode("ascii"))
    return f"{signing_input}.{b64url_encode(signature)}"


def _split(token: object) -> tuple[str, str, str]:
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
        raise InvalidSignature()
    if not _TOKEN.fullmatch(token):
        raise InvalidSignature()
    header, payload, signature = token.split(".")
    return header, payload, signature


# A party signs every token with the same few headers (alg, typ, kid): a sync's is read twice
# (``peek_kid``, then verification), every sync of an instance has the same. Read once; the dict
# is never changed by its readers. Failures are not cached (they raise).
@functools.lru_cache(maxsize=256)
def _header(encoded: str) -> dict[str, Any]:
    try:
        header = parse_json(b64url_decode(encoded))
    except ValueError:
        raise InvalidSignature() from None
    if not isinstance(header, dict) or header.keys() != _HEADER_FIELDS:
        raise InvalidSignature()
    if not all(isinstance(value, str) for value in header.values()):
        raise InvalidSignature()
    return header


def _verify_token(token: str, keys: KeySet, typ: str) -> tuple[str, bytes]:
    """Verify and return (kid, payload). For this package; others call verify()."""
    if not isinstance(keys, KeySet):
        fail(LocalProtocolError, "verify.keys", "expected a KeySet")
    encoded_header, encoded_payload, encoded_signature = _split(token)
    header = _header(encoded_header)
    if header["alg"] != ALG or header["typ"] != typ:
        raise InvalidSignature()
    key = keys.get(header["kid"])
    if key is None:
        raise InvalidSignature()
    try:
        signature = b64url_decode(encoded_signature)
        key.public_key.verify(signature, f"{encoded_header}.{encoded_payload}".encode("ascii"))
        payload = b64url_decode(encoded_payload)
    except (ValueError, _CryptoInvalidSignature):
        raise InvalidSignature() from None
    return key.kid, payload


def verify(token: str, keys: KeySet, typ: str) -> bytes:
    """Return the payload of `token` if a key of `keys` signed it with this typ."""
    return _verify_token(token, keys, typ)[1]


def peek_kid(token: str) -> str:
    """The kid a token *claims*, unverified: for finding which KeySet to verify it with."""
    return str(_header(_split(token)[0])["kid"])


def _check_label(label: object) -> str:
    if not isinstance(label, str) or not _LABEL.fullmatch(label):
        fail(LocalProtocolError, "armor.label", "expected upper-case words such as 'LICENSE'")
    return label


def armor(token: str, label: str = "LICENSE") -> str:
    """Wrap a token as a text file an admin can mail, paste and upload."""
    label = _check_label(label)
    if not isinstance(token, str) or not _TOKEN.fullmatch(token):
        fail(LocalProtocolError, "armor.token", "expected a compact JWS")
    body = "\n".join(token[i : i + ARMOR_WIDTH] for i in range(0, len(token), ARMOR_WIDTH))
    return f"-----BEGIN PROVLAB {label}-----\n{body}\n-----END PROVLAB {label}-----\n"


def dearmor(text: str, label: str = "LICENSE") -> str:
    """The token inside armored text; unreadable text raises InvalidSignature."""
    label = _check_label(label)
    if not isinstance(text, str):
        raise InvalidSignature()
    # Files travel through mail clients and Windows editors: forgive CRLF, indentation and
    # blank lines, but nothing that changes the token's own characters.
    lines = [line.strip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    lines = [line for line in lines if line]
    if (
        len(lines) < 3
        or lines[0] != f"-----BEGIN PROVLAB {label}-----"
        or lines[-1] != f"-----END PROVLAB {label}-----"
    ):
        raise InvalidSignature()
    token = "".join(lines[1:-1])
    if len(token) > MAX_TOKEN_LENGTH or not _TOKEN.fullmatch(token):
        raise InvalidSignature()
    return token
