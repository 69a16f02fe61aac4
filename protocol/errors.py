# Protocol errors.
#
# Rules this module enforces:
# - Who is at fault decides the class: LocalProtocolError means *we* tried to build or send
#   something illegal (a bug or bad input on this side); RemoteProtocolError means the *peer*
#   sent something illegal. Callers answer the first with a 500-style failure and the second
#   with an ErrorAnswer, so the two must never be confused.
# - Every message names the offending field ("sync_request.billable_users: ...") so that an
#   admin or a support engineer can act on it without reading code.
# - A failed signature has exactly one message, whatever failed: telling a forger *which*
#   check stopped them (unknown kid, wrong alg, bad bytes) only helps the forger.
from __future__ import annotations

from typing import ClassVar

__all__ = [
    "InvalidSignature",
    "LicenseExpired",
    "LicenseNotYetValid",
    "LocalProtocolError",
    "NonceMismatch",
    "ProtocolError",
    "RemoteProtocolError",
    "ReplayedMessage",
    "StaleMessage",
]


class ProtocolError(Exception):
    """Base of every error raised by the protocol package.

    `field` is the dotted path of the offending field (or None when no single field is to
    blame) and `problem` the message without that path, for UIs that show the field apart.
    """

    field: str | None
    problem: str

    def __init__(self, problem: str, *, field: str | None = None) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"{field}: {problem}" if field else problem)


class LocalProtocolError(ProtocolError):
    """You tried to build or send something illegal (raised by constructors)."""


class RemoteProtocolError(ProtocolError):
    """The peer sent something illegal (raised while parsing what it sent)."""

    # The ErrorAnswer code the portal sends back for this failure.
    error_code: ClassVar[str] = "bad_request"


class InvalidSignature(RemoteProtocolError):
    """A token, license file or key failed verification; deliberately says nothing more."""

    error_code: ClassVar[str] = "invalid_signature"
    MESSAGE: ClassVar[str] = "signature verification failed"

    def __init__(self) -> None:
        super().__init__(self.MESSAGE)


class StaleMessage(RemoteProtocolError):
    """The message's timestamp lies outside the freshness window of the receiver's clock."""

    error_code: ClassVar[str] = "stale_request"


class ReplayedMessage(RemoteProtocolError):
    """The message's nonce was seen before."""

    error_code: ClassVar[str] = "replayed_request"


class NonceMismatch(RemoteProtocolError):
    """A response does not echo the nonce of the request it claims to answer."""


class LicenseExpired(RemoteProtocolError):
    """The license's term has ended."""

    error_code: ClassVar[str] = "subscription_expired"


class LicenseNotYetValid(RemoteProtocolError):
    """The license's term has not started yet."""
