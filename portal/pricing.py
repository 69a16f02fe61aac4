"""The price list (per seat per year, integer cents).

Prices come from the ``PRICE_LIST`` setting, so sales can change them without a release. A charge
for part of a term is an invoice line prorated by days and rounded half up to the cent
(``portal.orders.seats_line``, ``portal.billing.policy.invoices.LineItem``).
"""

from __future__ import annotations

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


def format_money(cents: int) -> str:
    return f"${cents // 100:,}.{cents % 100:02d}"
