# Field checks shared by every protocol document (internal).
#
# Rules this module enforces:
# - One check per kind of field, used both by constructors (raising LocalProtocolError) and by
#   from_dict (raising RemoteProtocolError), so a value is judged the same way on both sides
#   and every message names the field with its full path.
# - from_dict accepts exactly the documented fields: a missing one, an unknown one or one of
#   the wrong JSON type is refused. Silently ignoring an unknown field would let a peer believe
#   it said something we never heard.
# - Integers are bounded to what a database column holds, booleans are never integers, dates
#   are never datetimes, and short texts carry no control characters (they end up in logs and
#   admin pages).
# - A document declares each plain field once, its kind beside its type
#   (``seats: Annotated[int, Integer(minimum=1)]``), and gets its constructor's check, to_dict
#   and from_dict from those declarations (Document).
from __future__ import annotations

import enum
import inspect
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, ClassVar, NoReturn, Self, TypeAlias, TypeVar

from protocol.clock import parse_utc
from protocol.errors import LocalProtocolError, ProtocolError, RemoteProtocolError

ErrorClass = type[ProtocolError]
E = TypeVar("E", bound=enum.Enum)
T = TypeVar("T")

MAX_INT = 2**31 - 1  # a PostgreSQL integer column
SHORT_TEXT = 255
LONG_TEXT = 4000

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_EXCEPT_NEWLINE = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_]{1,64}")


def fail(error: ErrorClass, field: str, problem: str) -> NoReturn:
    raise error(problem, field=field)


def shown(name: object) -> str:
    """A peer-chosen key, safe to put in an error message."""
    if isinstance(name, str) and _PLAIN_NAME.fullmatch(name):
        return name
    return repr(name)[:64]


def check_text(
    field: str,
    value: object,
    *,
    error: ErrorClass = LocalProtocolError,
    max_length: int = SHORT_TEXT,
    allow_empty: bool = False,
    multiline: bool = False,
) -> str:
    if not isinstance(value, str):
        fail(error, field, "expected a string")
    if not allow_empty and not value.strip():
        fail(error, field, "must not be empty")
    if len(value) > max_length:
        fail(error, field, f"must be at most {max_length} characters")
    if (_CONTROL_EXCEPT_NEWLINE if multiline else _CONTROL).search(value):
        fail(error, field, "must not contain control characters")
    return value


def check_int(
    field: str, value: object, *, minimum: int = 0, error: ErrorClass = LocalProtocolError
) -> int:
    # bool is a subclass of int; True seats is a bug, not one seat.
    if isinstance(value, int) and not isinstance(value, bool):
        if minimum <= value <= MAX_INT:
            return value
        if value > MAX_INT:
            fail(error, field, f"must be at most {MAX_INT}")
    wanted = {0: "a non-negative integer", 1: "a positive integer"}.get(
        minimum, f"an integer >= {minimum}"
    )
    fail(error, field, f"expected {wanted}")


def check_bool(field: str, value: object, *, error: ErrorClass = LocalProtocolError) -> bool:
    if not isinstance(value, bool):
        fail(error, field, "expected true or false")
    return value


def check_date(field: str, value: object, *, error: ErrorClass = LocalProtocolError) -> date:
    # datetime is a subclass of date; a datetime here would carry a time zone question the
    # document does not answer.
    if not isinstance(value, date) or isinstance(value, datetime):
        fail(error, field, "expected a date")
    return value


def check_datetime(
    field: str, value: object, *, error: ErrorClass = LocalProtocolError
) -> datetime:
    if not isinstance(value, datetime) or value.utcoffset() is None:
        fail(error, field, "expected a timezone-aware datetime")
    return value


def check_enum(
    field: str, value: object, enum_class: type[E], *, error: ErrorClass = LocalProtocolError
) -> E:
    if isinstance(value, enum_class):
        return value
    for member in enum_class:
        if isinstance(value, str) and member.value == value:
            return member
    choices = ", ".join(repr(member.value) for member in enum_class)
    fail(error, field, f"expected one of {choices}")


def check_items(
    field: str,
    value: object,
    item_class: type[T],
    *,
    error: ErrorClass = LocalProtocolError,
) -> tuple[T, ...]:
    """A tuple of `item_class` (a list is accepted and frozen into a tuple)."""
    if not isinstance(value, tuple | list):
        fail(error, field, "expected a tuple")
    for index, item in enumerate(value):
        if not isinstance(item, item_class):
            fail(error, f"{field}[{index}]", f"expected {item_class.__name__}")
    return tuple(value)


def rebase(exc: ProtocolError, prefix: str) -> str:
    """The field of `exc` re-rooted at `prefix` ('add_on_product.quantity' -> prefix.quantity)."""
    if exc.field is None:
        return prefix
    _, dot, rest = exc.field.partition(".")
    return f"{prefix}.{rest}" if dot else prefix


class remote:  # noqa: N801 (used as a function: ``with remote(where):``)
    """Inside from_dict: a constructor's complaint is the peer's fault, not ours.

    A class, not ``@contextmanager``: it wraps every received item (a sync's 31 daily counts),
    and a generator-based context manager cost as much as reading the item."""

    __slots__ = ("prefix",)

    def __init__(self, prefix: str | None = None) -> None:
        self.prefix = prefix

    def __enter__(self) -> None:
        return None

    def __exit__(self, _type: object, exc: BaseException | None, _tb: object) -> None:
        if isinstance(exc, LocalProtocolError):
            field = rebase(exc, self.prefix) if self.prefix else exc.field
            raise RemoteProtocolError(exc.problem, field=field) from None


class Reader:
    """Reads one received JSON object whose exact set of fields is known."""

    def __init__(
        self,
        where: str,
        data: object,
        fields: Collection[str],
        optional: Collection[str] = (),
    ) -> None:
        # `optional` fields may be absent (read as None): a field added to a message later,
        # which a peer of an earlier version does not send.
        self.where = where
        if not isinstance(data, dict):
            fail(RemoteProtocolError, where, "expected an object")
        for key in data:
            if key not in fields and key not in optional:
                fail(RemoteProtocolError, f"{where}.{shown(key)}", "unknown field")
        for name in fields:
            if name not in data:
                fail(RemoteProtocolError, f"{where}.{name}", "missing field")
        # Read only, never changed: the received object itself when nothing may be absent.
        self.data: dict[str, Any] = {name: None for name in optional} | data if optional else data

    def path(self, name: str) -> str:
        return f"{self.where}.{name}"

    def text(self, name: str, **options: Any) -> str:
        return check_text(self.path(name), self.data[name], error=RemoteProtocolError, **options)

    def optional_text(self, name: str) -> str | None:
        value = self.data[name]
        return None if value is None else self.text(name)

    def integer(self, name: str, *, minimum: int = 0) -> int:
        return check_int(
            self.path(name), self.data[name], minimum=minimum, error=RemoteProtocolError
        )

    def boolean(self, name: str) -> bool:
        return check_bool(self.path(name), self.data[name], error=RemoteProtocolError)

    def day(self, name: str) -> date:
        value = self.data[name]
        # date.fromisoformat alone would also take "20260102"; one spelling only.
        if isinstance(value, str) and _DATE.fullmatch(value):
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
        fail(RemoteProtocolError, self.path(name), "expected a date as YYYY-MM-DD")

    def instant(self, name: str) -> datetime:
        value = self.data[name]
        try:
            if isinstance(value, str):
                return parse_utc(value)
        except ValueError:
            pass
        fail(
            RemoteProtocolError, self.path(name), "expected a UTC timestamp as YYYY-MM-DDTHH:MM:SSZ"
        )

    def choice(self, name: str, enum_class: type[E]) -> E:
        value = self.data[name]
        if not isinstance(value, str):
            fail(RemoteProtocolError, self.path(name), "expected a string")
        return check_enum(self.path(name), value, enum_class, error=RemoteProtocolError)

    def array(self, name: str) -> list[Any]:
        value = self.data[name]
        if not isinstance(value, list):
            fail(RemoteProtocolError, self.path(name), "expected an array")
        return value

    def objects(self, name: str, parse: Callable[..., T]) -> tuple[T, ...]:
        """Each item of the array `name`, read by `parse(item, where=...)`, its index in the path."""
        return tuple(
            parse(item, where=f"{self.path(name)}[{index}]")
            for index, item in enumerate(self.array(name))
        )

    def mapping(self, name: str) -> dict[str, Any]:
        value = self.data[name]
        if not isinstance(value, dict):
            fail(RemoteProtocolError, self.path(name), "expected an object")
        return value


# A document's plain fields, declared once. Most documents are a handful of texts, integers,
# flags, dates and enum members: each field's kind, written beside its type, gives the
# constructor's check, to_dict and from_dict, so the three can never disagree on a field's name
# or bounds.
class Kind:
    """How one plain field is checked on construction, written, and read on receipt."""

    def check(self, field: str, value: object) -> object:
        """The value to keep (an enum member for its string), or LocalProtocolError."""
        raise NotImplementedError

    def dump(self, value: Any) -> object:
        return value

    def read(self, read: Reader, name: str) -> object:
        raise NotImplementedError


@dataclass(frozen=True)
class Text(Kind):
    max_length: int = SHORT_TEXT
    allow_empty: bool = False
    multiline: bool = False

    def check(self, field: str, value: object) -> object:
        return check_text(
            field,
            value,
            max_length=self.max_length,
            allow_empty=self.allow_empty,
            multiline=self.multiline,
        )

    def read(self, read: Reader, name: str) -> object:
        return read.text(
            name, max_length=self.max_length, allow_empty=self.allow_empty, multiline=self.multiline
        )


@dataclass(frozen=True)
class Integer(Kind):
    minimum: int = 0

    def check(self, field: str, value: object) -> object:
        return check_int(field, value, minimum=self.minimum)

    def read(self, read: Reader, name: str) -> object:
        return read.integer(name, minimum=self.minimum)


class Boolean(Kind):
    def check(self, field: str, value: object) -> object:
        return check_bool(field, value)

    def read(self, read: Reader, name: str) -> object:
        return read.boolean(name)


class Day(Kind):
    def check(self, field: str, value: object) -> object:
        return check_date(field, value)

    def dump(self, value: Any) -> object:
        return value.isoformat()

    def read(self, read: Reader, name: str) -> object:
        return read.day(name)


@dataclass(frozen=True)
class Choice(Kind):
    enum_class: type[enum.Enum]

    def check(self, field: str, value: object) -> object:
        return check_enum(field, value, self.enum_class)

    def dump(self, value: Any) -> object:
        return value.value

    def read(self, read: Reader, name: str) -> object:
        return read.choice(name, self.enum_class)


@dataclass(frozen=True)
class Nullable(Kind):
    """A field that is always sent, null when there is nothing to say."""

    kind: Kind

    def check(self, field: str, value: object) -> object:
        return None if value is None else self.kind.check(field, value)

    def dump(self, value: Any) -> object:
        return None if value is None else self.kind.dump(value)

    def read(self, read: Reader, name: str) -> object:
        return None if read.data[name] is None else self.kind.read(read, name)


@dataclass(frozen=True)
class Omissible(Nullable):
    """A field added to a message later: absent when None (``Fields.dump``), so the message reads
    as before to a peer of the earlier version, and read as None when such a peer leaves it out."""


# The kinds most fields have, named once, so that a field reads as its type
# (``seats: PositiveInt``); any other kind is written out in full
# (``company: Annotated[str, Text(allow_empty=True)]``).
ShortText: TypeAlias = Annotated[str, Text()]
NonNegativeInt: TypeAlias = Annotated[int, Integer()]
PositiveInt: TypeAlias = Annotated[int, Integer(minimum=1)]
Flag: TypeAlias = Annotated[bool, Boolean()]
IsoDate: TypeAlias = Annotated[date, Day()]


class Fields:
    """The plain fields of one document, in order, named on errors as `where`.field."""

    def __init__(self, where: str, **kinds: Kind) -> None:
        self.where = where
        self.kinds = kinds
        self.omissible = tuple(name for name, kind in kinds.items() if isinstance(kind, Omissible))
        self._required = tuple(name for name in kinds if name not in self.omissible)
        # Each field's name in errors, spelled once (every document built checks every field).
        self._checks = tuple((name, f"{where}.{name}", kind) for name, kind in kinds.items())

    @classmethod
    def declared(cls, where: str, document: type) -> Fields:
        """The fields `document` annotates with their kind (``Annotated[str, Text()]``), in the
        order it declares them; a field without one is the document's to check and send.

        Run as the class is created: its annotations may name only what its module has
        defined above it (they are evaluated now, so a wrong kind fails at import)."""
        kinds = {
            name: kind
            for name, hint in inspect.get_annotations(document, eval_str=True).items()
            for kind in getattr(hint, "__metadata__", ())
            if isinstance(kind, Kind)
        }
        return cls(where, **kinds)

    def check(self, document: object) -> None:
        """For __post_init__ of a frozen dataclass: each field checked, enums made members."""
        for name, path, kind in self._checks:
            object.__setattr__(document, name, kind.check(path, getattr(document, name)))

    def dump(self, document: object) -> dict[str, Any]:
        if not self.omissible:
            return {name: kind.dump(getattr(document, name)) for name, kind in self.kinds.items()}
        values = ((name, kind, getattr(document, name)) for name, kind in self.kinds.items())
        return {
            name: kind.dump(value)
            for name, kind, value in values
            if value is not None or name not in self.omissible
        }

    def reader(
        self,
        data: object,
        where: str | None = None,
        *,
        others: Collection[str] = (),
        optional: Collection[str] = (),
    ) -> Reader:
        """A Reader of these fields and the document's `others` (read by hand)."""
        return Reader(
            where or self.where, data, (*self._required, *others), (*self.omissible, *optional)
        )

    def values(self, read: Reader) -> dict[str, Any]:
        return {name: kind.read(read, name) for name, kind in self.kinds.items()}

    def load(
        self, build: Callable[..., T], data: object, where: str | None = None, **others: Any
    ) -> T:
        """from_dict of a document of plain fields only (`others` given by the caller, not
        sent): a constructor's complaint is the peer's."""
        read = self.reader(data, where)
        values = self.values(read)
        with remote(read.where):
            return build(**values, **others)


class Document:
    """Base of a frozen dataclass sent on the wire, named `where` in errors
    (``class Licensee(Document, where="licensee")``): its plain fields, those annotated with
    their kind, are checked on construction, written and read (FIELDS). A rule across fields
    goes in check_rules; a field without a kind, in check_rules, to_dict and from_dict."""

    FIELDS: ClassVar[Fields]

    def __init_subclass__(cls, *, where: str, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.FIELDS = Fields.declared(where, cls)

    def __post_init__(self) -> None:
        self.FIELDS.check(self)
        self.check_rules()

    def check_rules(self) -> None:
        """Rules across fields, run once each field has passed its own check."""

    def to_dict(self) -> dict[str, Any]:
        return self.FIELDS.dump(self)

    @classmethod
    def from_dict(cls, data: object, *, where: str | None = None) -> Self:
        return cls.FIELDS.load(cls, data, where)
