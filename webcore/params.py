"""Reading what a request says, strictly: numbers, ids in URLs, JSON bodies, body size.

Rules this module enforces:
- A number is written with ASCII digits only (an optional leading minus where negatives are
  allowed). ``str.isdigit()`` is true for "²" and "①", which crash ``int()``, and ``int()``
  itself reads Arabic-Indic or full-width digits as 0-9: neither is what a form or URL meant.
- A number fits the database's signed 64-bit integer, and whatever bounds the field has; a
  larger one would crash the query (SQLite: "Python int too large to convert to SQLite INTEGER").
- A JSON body is nested at most ``MAX_JSON_DEPTH`` levels: Python's parser recurses, and a body
  of a thousand ``[`` raised RecursionError (a 500) on every JSON endpoint.
- A request body is at most MAX_CONTENT_LENGTH bytes (a setting, 1 MiB by default), a form field
  at most 128 KiB and a form at most 1000 parts; Werkzeug answers anything larger with 413.
Each problem is a ``ValueError`` (``InvalidNumber``) or a 4xx: callers turn it into their own
refusal (a flash, ``{"error": ...}``, a GraphQL error), never a 500.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any, overload

from flask import Flask
from flask.json.provider import DefaultJSONProvider
from werkzeug.routing import BaseConverter, ValidationError

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)
MAX_JSON_DEPTH = 32  # nesting levels; the deepest document either app reads has fewer than 8
DEFAULT_MAX_CONTENT_LENGTH = 1024 * 1024  # bytes; the largest legitimate body is a 64 KiB license
MAX_FORM_PARTS = 1000  # fields and files of one form; the bulk seat change sends at most ~100
MAX_FORM_FIELD_BYTES = 128 * 1024  # one form field; a pasted license is at most 64 KiB

_ASCII_INTEGER = re.compile(r"-?[0-9]{1,40}")


class InvalidNumber(ValueError):
    """A value that is not a whole number within the field's bounds."""


def parse_int(value: object, *, minimum: int = 0, maximum: int = INT64_MAX) -> int:
    """``value`` (a str, or an int from JSON) as an int within [minimum, maximum].

    Surrounding ASCII spaces are ignored (a pasted " 5"); anything else not written with
    0-9 raises InvalidNumber, as does a bool (JSON ``true`` is not 1 seat).
    """
    if isinstance(value, bool):
        raise InvalidNumber("expected a whole number, got true/false")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and _ASCII_INTEGER.fullmatch(value.strip(" \t")):
        number = int(value.strip(" \t"))
    else:
        raise InvalidNumber("expected a whole number written with the digits 0-9")
    if number < max(minimum, INT64_MIN) or number > min(maximum, INT64_MAX):
        raise InvalidNumber(f"expected a whole number from {minimum} to {maximum}")
    return number


@overload
def int_arg(
    values: Mapping[str, Any], name: str, default: int, *, minimum: int = ..., maximum: int = ...
) -> int: ...


@overload
def int_arg(
    values: Mapping[str, Any],
    name: str,
    default: None = None,
    *,
    minimum: int = ...,
    maximum: int = ...,
) -> int | None: ...


def int_arg(
    values: Mapping[str, Any],
    name: str,
    default: int | None = None,
    *,
    minimum: int = 0,
    maximum: int = INT64_MAX,
) -> int | None:
    """``values[name]`` (request.args or request.form) parsed strictly; ``default`` when absent
    or empty. Raises InvalidNumber naming the field."""
    raw = values.get(name)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return default
    try:
        return parse_int(raw, minimum=minimum, maximum=maximum)
    except InvalidNumber as exc:
        raise InvalidNumber(f"{name} is invalid") from exc


class IdConverter(BaseConverter):
    """``<id:name>``: a database id in a URL, ASCII digits and at most a signed 64-bit integer.

    Anything else does not match the route, so it is a 404 like an id that does not exist.
    (Werkzeug's ``<int:>`` matches any Unicode decimal digit and has no upper bound.)
    """

    regex = r"[0-9]{1,19}"
    part_isolating = True

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > INT64_MAX:
            raise ValidationError()
        return number

    def to_url(self, value: Any) -> str:
        return str(int(value))


# -- JSON bodies ------------------------------------------------------------------------------------


def json_depth_exceeds(data: Any, limit: int) -> bool:
    """Whether parsed JSON nests deeper than ``limit`` (iterative: it must not recurse either)."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        children: Iterable[Any]
        if isinstance(value, dict):
            children = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def loads_bounded(data: str | bytes, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """``json.loads`` refusing, with ValueError, documents nested deeper than ``max_depth``."""
    try:
        value = json.loads(data)
    except RecursionError:
        raise ValueError(f"JSON nested deeper than {max_depth} levels") from None
    if json_depth_exceeds(value, max_depth):
        raise ValueError(f"JSON nested deeper than {max_depth} levels")
    return value


class BoundedJSONProvider(DefaultJSONProvider):
    """The app's JSON: what ``request.get_json()`` reads is depth-checked. A too-deep body is a
    ValueError like malformed JSON, so ``get_json(silent=True)`` gives None and the route refuses
    it with its own 400; without ``silent`` Flask answers 400."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        if kwargs:
            return super().loads(s, **kwargs)
        return loads_bounded(s)


def init_request_limits(app: Flask) -> None:
    """Strict ids in URLs, bounded JSON and bounded bodies for ``app``."""
    app.url_map.converters["id"] = IdConverter
    app.json = BoundedJSONProvider(app)
    # Flask's defaults already hold these keys (setdefault would be a no-op): set them.
    limit = app.config.get("MAX_CONTENT_LENGTH") or DEFAULT_MAX_CONTENT_LENGTH
    app.config["MAX_CONTENT_LENGTH"] = limit
    app.config["MAX_FORM_MEMORY_SIZE"] = min(limit, MAX_FORM_FIELD_BYTES)
    app.config["MAX_FORM_PARTS"] = MAX_FORM_PARTS


def too_large_message(app: Flask) -> str:
    limit = app.config.get("MAX_CONTENT_LENGTH") or DEFAULT_MAX_CONTENT_LENGTH
    return f"The request is too large: at most {limit} bytes are accepted."
