# Messages of the sync protocol: what goes inside a sealed envelope (see envelope.py).
#
#   instance                                   portal
#   ActivationRequest (self-signed)     ->     ActivationAnswer | ErrorAnswer
#     [+ KeyChange, signed by the key registered for the instance, when the key changes]
#   SyncRequest (instance key)          ->     SyncAnswer | ErrorAnswer
#
# Rules this module enforces:
# - Every message validates on construction (LocalProtocolError) and on receipt
#   (RemoteProtocolError), field by field, with the same checks; from_dict accepts exactly the
#   documented fields.
# - An activation request carries a well-formed activation code, a parseable GitLab version
#   and a usable Ed25519 public JWK: the portal registers that key, so a bad one must be
#   refused before it is stored.
# - The key registered for an instance is the only one that can hand the instance over to
#   another key: an activation request for an instance already bound with another key carries
#   a KeyChange signed by the registered key (see envelope.seal_key_change); without one the
#   portal refuses it, since the code and the instance id alone are no secret (both travel in
#   requests, the id is in the diagnostics bundle).
# - A sync request reports each add-on at most once and each day at most once; two figures
#   for one thing would leave the portal to guess which is true (R32, R33).
# - Error codes come from one fixed list, shared by both parties.
from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, ClassVar, Protocol, Self

from protocol._fields import (
    _DATE,
    LONG_TEXT,
    MAX_INT,
    Choice,
    Document,
    IsoDate,
    NonNegativeInt,
    Reader,
    ShortText,
    Text,
    check_enum,
    check_items,
    check_text,
    fail,
    remote,
)
from protocol.activation_code import validate_activation_code
from protocol.errors import LocalProtocolError, RemoteProtocolError
from protocol.license import AddOnTier
from protocol.signing import MAX_TOKEN_LENGTH, VerifyingKey
from protocol.versions import GitLabVersion

__all__ = [
    "ActivationAnswer",
    "ActivationRequest",
    "AddOnUsage",
    "DailyUsage",
    "ErrorAnswer",
    "ErrorCode",
    "KeyChange",
    "Message",
    "SyncAnswer",
    "SyncRequest",
]

_COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


class Message(Protocol):
    """What envelope.seal_* and parse_message need of a message class."""

    TYPE: ClassVar[str]

    def to_dict(self) -> dict[str, Any]: ...

    @classmethod
    def from_dict(cls, data: object) -> Self: ...


@dataclass(frozen=True)
class _Token(Text):
    """A signed token (a license, a key change), as a compact JWS."""

    max_length: int = MAX_TOKEN_LENGTH

    def check(self, field: str, value: object) -> object:
        # Only the shape: the receiver verifies the signature itself, against its pinned keys.
        if (
            not isinstance(value, str)
            or len(value) > MAX_TOKEN_LENGTH
            or not _COMPACT_JWS.fullmatch(value)
        ):
            fail(LocalProtocolError, field, "expected a compact JWS")
        return value


class _Version(Text):
    """A GitLab version, kept as the instance spelled it."""

    def check(self, field: str, value: object) -> object:
        try:
            GitLabVersion.parse(check_text(field, value))
        except ValueError:
            fail(LocalProtocolError, field, "expected a GitLab version such as '16.8.0-ee'")
        return value


@dataclass(frozen=True)
class ActivationRequest:
    """Instance -> portal: bind this activation code to me (cloudActivationActivate, R8)."""

    TYPE: ClassVar[str] = "activation_request"

    activation_code: str
    instance_id: str
    gitlab_version: str
    hostname: str
    instance_public_key: dict[str, Any]
    # A sealed KeyChange (envelope.seal_key_change) when the instance moves to a new key.
    key_change: str | None = None

    def __post_init__(self) -> None:
        try:
            code = validate_activation_code(self.activation_code)
        except LocalProtocolError as exc:
            raise LocalProtocolError(
                exc.problem, field="activation_request.activation_code"
            ) from None
        object.__setattr__(self, "activation_code", code)
        check_text("activation_request.instance_id", self.instance_id)
        _Version().check("activation_request.gitlab_version", self.gitlab_version)
        check_text("activation_request.hostname", self.hostname)
        try:
            VerifyingKey.from_jwk(
                self.instance_public_key, where="activation_request.instance_public_key"
            )
        except RemoteProtocolError as exc:
            raise LocalProtocolError(exc.problem, field=exc.field) from None
        # Copied so that a caller mutating its dict cannot change a validated message.
        object.__setattr__(self, "instance_public_key", dict(self.instance_public_key))
        if self.key_change is not None:
            _Token().check("activation_request.key_change", self.key_change)

    @property
    def gitlab_version_info(self) -> GitLabVersion:
        return GitLabVersion.parse(self.gitlab_version)

    def verifying_key(self) -> VerifyingKey:
        return VerifyingKey.from_jwk(self.instance_public_key)

    def to_dict(self) -> dict[str, Any]:
        data = {
            "activation_code": self.activation_code,
            "instance_id": self.instance_id,
            "gitlab_version": self.gitlab_version,
            "hostname": self.hostname,
            "instance_public_key": dict(self.instance_public_key),
        }
        # Absent rather than null when there is none, so a first activation reads the same to
        # a portal of an earlier version.
        if self.key_change is not None:
            data["key_change"] = self.key_change
        return data

    @classmethod
    def from_dict(cls, data: object) -> Self:
        where = "activation_request"
        read = Reader(
            where,
            data,
            ("activation_code", "instance_id", "gitlab_version", "hostname", "instance_public_key"),
            optional=("key_change",),
        )
        with remote(where):
            return cls(
                activation_code=read.text("activation_code"),
                instance_id=read.text("instance_id"),
                gitlab_version=read.text("gitlab_version"),
                hostname=read.text("hostname"),
                instance_public_key=read.mapping("instance_public_key"),
                key_change=None
                if read.data["key_change"] is None
                else read.text("key_change", max_length=MAX_TOKEN_LENGTH),
            )


@dataclass(frozen=True)
class KeyChange(Document, where="key_change"):
    """Registered instance key -> portal, inside an ActivationRequest: hand this instance over
    to the key with id `new_key_id` (the new key's RFC 7638 thumbprint).

    Sealed with envelope.seal_key_change, whose nonce is that of the activation request that
    carries it, so it proves this one request and cannot be replayed in another.
    """

    TYPE: ClassVar[str] = "key_change"

    instance_id: ShortText
    new_key_id: ShortText


@dataclass(frozen=True)
class ActivationAnswer(Document, where="activation_answer"):
    """Portal -> instance: activated; here is the cloud license."""

    TYPE: ClassVar[str] = "activation_answer"

    license_token: Annotated[str, _Token()]
    subscription_name: ShortText


@dataclass(frozen=True)
class AddOnUsage(Document, where="add_on_usage"):
    """Seats of one add-on on the instance. Assigned may exceed purchased until overage
    removal runs (R28), so that is reported, not refused."""

    tier: Annotated[AddOnTier, Choice(AddOnTier)]
    purchased_seats: NonNegativeInt
    assigned_seats: NonNegativeInt


@dataclass(frozen=True)
class DailyUsage(Document, where="daily_usage"):
    """The billable user count the instance recorded on one day (R33)."""

    day: IsoDate
    billable_users: NonNegativeInt

    @classmethod
    def from_dict(cls, data: object, *, where: str | None = None) -> Self:
        # Every sync carries a month of these: one that is exactly what the reader accepts (both
        # fields, a YYYY-MM-DD day, an integer in range) is read without its bookkeeping (issue
        # 15); anything else goes through the reader, which names what is wrong.
        if type(data) is dict and len(data) == 2:
            day, users = data.get("day"), data.get("billable_users")
            if (
                type(day) is str
                and type(users) is int
                and 0 <= users <= MAX_INT
                and _DATE.fullmatch(day)
            ):
                try:
                    return cls(day=date.fromisoformat(day), billable_users=users)
                except ValueError:
                    pass  # not a calendar day: the reader says so
        return cls.FIELDS.load(cls, data, where)


@dataclass(frozen=True)
class SyncRequest(Document, where="sync_request"):
    """Instance -> portal, daily and on demand: my usage; send my current license
    (POST /api/v1/seat_links, R13, R14, R32)."""

    TYPE: ClassVar[str] = "seat_link_request"

    instance_id: ShortText
    license_id: ShortText
    gitlab_version: Annotated[str, _Version()]
    hostname: ShortText
    billable_users: NonNegativeInt
    max_historical_users: NonNegativeInt
    add_on_usage: tuple[AddOnUsage, ...]
    daily_usage: tuple[DailyUsage, ...] = ()

    def check_rules(self) -> None:
        where = "sync_request"
        usage = check_items(f"{where}.add_on_usage", self.add_on_usage, AddOnUsage)
        tiers = [item.tier for item in usage]
        for index, tier in enumerate(tiers):
            if tier in tiers[:index]:
                fail(
                    LocalProtocolError,
                    f"{where}.add_on_usage[{index}].tier",
                    "reported more than once",
                )
        daily = check_items(f"{where}.daily_usage", self.daily_usage, DailyUsage)
        seen_days: set[date] = set()
        for index, item in enumerate(daily):
            if item.day in seen_days:
                fail(
                    LocalProtocolError,
                    f"{where}.daily_usage[{index}].day",
                    "reported more than once",
                )
            seen_days.add(item.day)
        object.__setattr__(self, "add_on_usage", usage)
        object.__setattr__(self, "daily_usage", daily)

    @property
    def gitlab_version_info(self) -> GitLabVersion:
        return GitLabVersion.parse(self.gitlab_version)

    def to_dict(self) -> dict[str, Any]:
        return super().to_dict() | {
            "add_on_usage": [item.to_dict() for item in self.add_on_usage],
            "daily_usage": [item.to_dict() for item in self.daily_usage],
        }

    @classmethod
    def from_dict(cls, data: object, *, where: str | None = None) -> Self:
        read = cls.FIELDS.reader(data, where, others=("add_on_usage", "daily_usage"))
        usage = read.objects("add_on_usage", AddOnUsage.from_dict)
        daily = read.objects("daily_usage", DailyUsage.from_dict)
        values = cls.FIELDS.values(read)
        with remote(read.where):
            return cls(**values, add_on_usage=usage, daily_usage=daily)


@dataclass(frozen=True)
class SyncAnswer(Document, where="sync_answer"):
    """Portal -> instance: your current license, add-on products included."""

    TYPE: ClassVar[str] = "seat_link_answer"

    license_token: Annotated[str, _Token()]


class ErrorCode(enum.StrEnum):
    INVALID_ACTIVATION_CODE = "invalid_activation_code"
    ACTIVATION_CODE_IN_USE = "activation_code_in_use"
    SUBSCRIPTION_EXPIRED = "subscription_expired"
    SUBSCRIPTION_NOT_CLOUD_COMPATIBLE = "subscription_not_cloud_compatible"
    SEAT_MISMATCH = "seat_mismatch"
    UNKNOWN_INSTANCE = "unknown_instance"
    BAD_REQUEST = "bad_request"
    INVALID_SIGNATURE = "invalid_signature"
    STALE_REQUEST = "stale_request"
    REPLAYED_REQUEST = "replayed_request"
    # GitLab.com provisioning (protocol.provisioning): GitLab's "Namespace Not Found" and
    # "Must be root namespace!".
    NAMESPACE_NOT_FOUND = "namespace_not_found"
    NOT_ROOT_NAMESPACE = "not_root_namespace"
    NOT_ELIGIBLE_FOR_TRIAL = "not_eligible_for_trial"


@dataclass(frozen=True)
class ErrorAnswer:
    """Portal -> instance: refused, with a code the instance maps to an admin message."""

    TYPE: ClassVar[str] = "error"

    code: str
    message: str

    def __post_init__(self) -> None:
        # Stored as the plain string so that equality and to_dict do not depend on whether
        # the caller passed ErrorCode.X or "x".
        code = check_enum("error_answer.code", self.code, ErrorCode)
        object.__setattr__(self, "code", code.value)
        check_text("error_answer.message", self.message, max_length=LONG_TEXT, multiline=True)

    @classmethod
    def from_error(cls, error: RemoteProtocolError) -> ErrorAnswer:
        """The answer to a request that failed a protocol check."""
        return cls(code=error.error_code, message=str(error)[:LONG_TEXT])

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message}

    @classmethod
    def from_dict(cls, data: object) -> Self:
        read = Reader("error_answer", data, ("code", "message"))
        with remote("error_answer"):
            return cls(
                code=read.text("code"),
                message=read.text("message", max_length=LONG_TEXT, multiline=True),
            )
