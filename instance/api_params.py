"""The REST API's parameters, read as GitLab's Grape declares and coerces them.

A value of the wrong type is ``400 {"error": "<name> is invalid"}``; a value outside a declared
list is ``400 {"error": "<name> does not have a valid value"}``; a required one left out is
``400 {"error": "<name> is missing"}``. An empty value counts as not given. A parameter an
endpoint does not declare is ignored, as Grape's ``declared_params`` drops it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from typing import Any

from flask import request

from instance.api import TRUE_VALUES, ApiError
from webcore.params import INT64_MIN, InvalidNumber, parse_int

# Grape's Boolean (dry-types' Params::Bool) reads these as false, and TRUE_VALUES as true.
FALSE_VALUES = {"0", "false", "f", "off", "no", "n"}


def _given(values: Mapping[str, Any], name: str) -> Any:
    raw = values.get(name)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    return raw


def invalid(name: str) -> ApiError:
    return ApiError(400, f"{name} is invalid", key="error")


def bool_param(values: Mapping[str, Any], name: str) -> bool | None:
    """``type: Boolean``."""
    raw = _given(values, name)
    if raw is None:
        return None
    text = str(raw).strip().lower()
    if text in TRUE_VALUES:
        return True
    if text in FALSE_VALUES:
        return False
    raise invalid(name)


def int_param(values: Mapping[str, Any], name: str, *, required: bool = False) -> int | None:
    """``type: Integer`` (``requires`` when ``required``)."""
    raw = _given(values, name)
    if raw is None:
        if required:
            raise ApiError(400, f"{name} is missing", key="error")
        return None
    try:
        return parse_int(raw, minimum=INT64_MIN)
    except InvalidNumber:
        raise invalid(name) from None


def int_list_param(name: str) -> list[int]:
    """``type: Array[Integer]`` from the query string: repeated, ``name[]`` or comma-separated."""
    raw = request.args.getlist(name) + request.args.getlist(f"{name}[]")
    parts = [part for item in raw for part in item.split(",") if part.strip()]
    try:
        return [parse_int(part, minimum=INT64_MIN) for part in parts]
    except InvalidNumber:
        raise invalid(name) from None


def choice_param(
    values: Mapping[str, Any], name: str, choices: Collection[str], default: str
) -> str:
    """``type: String, values: [...]`` with a default."""
    value = _given(values, name)
    if value is None:
        return default
    if value not in choices:
        raise ApiError(400, f"{name} does not have a valid value", key="error")
    return str(value)


def time_param(values: Mapping[str, Any], name: str) -> dt.datetime | None:
    """``type: DateTime``: an ISO 8601 date, or date and time (UTC unless it says otherwise)."""
    raw = _given(values, name)
    if raw is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(str(raw).strip())
        # An offset at either end of the calendar moves it past year 1 or 9999: OverflowError.
        return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)
    except (ValueError, OverflowError):
        raise invalid(name) from None


def date_param(values: Mapping[str, Any], name: str) -> dt.date | None:
    """``type: Date``: a date, or the date of a date and time."""
    raw = _given(values, name)
    if raw is None:
        return None
    text = str(raw).strip()
    try:
        return dt.date.fromisoformat(text[:10]) if len(text) >= 10 else dt.date.fromisoformat(text)
    except ValueError:
        raise invalid(name) from None
