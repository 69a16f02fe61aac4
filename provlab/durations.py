"""Durations as people type them: ``2d``, ``48h``, ``1d12h``, ``90m``, ``1w``, ``30s``."""

from __future__ import annotations

import datetime as dt
import re

_PART = re.compile(r"(\d+)\s*([wdhms])")
_UNITS = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes", "s": "seconds"}


def parse_duration(text: str) -> dt.timedelta:
    compact = text.strip().lower().replace(" ", "")
    if not compact or _PART.sub("", compact):
        raise ValueError(
            f"{text!r} is not a duration: use a number and a unit (w, d, h, m, s), e.g. 2d or 1d12h"
        )
    total = dt.timedelta()
    for amount, unit in _PART.findall(compact):
        total += dt.timedelta(**{_UNITS[unit]: int(amount)})
    return total
