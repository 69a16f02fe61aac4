"""Countries the trial form offers: the list both apps' trial forms share (``webcore``)."""

from __future__ import annotations

from webcore.countries import COUNTRIES

__all__ = ["COUNTRIES"]
