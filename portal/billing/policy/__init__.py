"""Billing: seat reviews, renewals, invoices and the usage chart, as pure functions (R33-R36).

Nothing here touches the database, Flask or the clock: callers pass dates, counts and prices in
plain frozen dataclasses and get plain frozen dataclasses (and SVG text) back. docs/billing.md
explains the formulas with worked examples.
"""
