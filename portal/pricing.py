"""The price list (per seat per year, integer cents) and prorated charges.

Prices come from the ``PRICE_LIST`` setting, so sales can change them without a release. A charge
for part of a term is prorated by days and rounded half up to the cent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from flask import current_app


class PriceListError(ValueError):
    pass


def parse_price_list(text: str) -> dict[str, int]:
    """``"premium=34800,duo_pro=22800"`` → ``{"premium": 34800, "duo_pro": 22800}``."""
    prices: dict[str, int] = {}
    for item in text.split(","):
        if not item.strip():
            continue
        name, sep, cents = item.partition("=")
        if not sep or not cents.strip().isdigit():
            raise PriceListError(f"expected name=cents pairs, got {item.strip()!r}")
        prices[name.strip()] = int(cents)
    return prices


def price_list(config: Mapping[str, Any] | None = None) -> dict[str, int]:
    value = (config or current_app.config)["PRICE_LIST"]
    return dict(value) if isinstance(value, Mapping) else parse_price_list(str(value))


def yearly_price(product: str) -> int:
    prices = price_list()
    if product not in prices:
        raise PriceListError(f"PRICE_LIST has no price for {product!r}")
    return prices[product]


def prorated(cents_per_seat_year: int, seats: int, starts_on: dt.date, ends_on: dt.date) -> int:
    """The price of ``seats`` from ``starts_on`` to ``ends_on`` (exclusive), by days of a year."""
    days = max((ends_on - starts_on).days, 0)
    numerator = cents_per_seat_year * seats * days
    return (2 * numerator + 365) // (2 * 365)


def format_money(cents: int) -> str:
    return f"${cents // 100:,}.{cents % 100:02d}"
