"""The billing policy (seeds/004) as pure functions: seat reviews, renewals, invoices and the usage
chart (R33-R36).

Nothing here touches the database, Flask or the clock: callers pass dates, counts and prices in
plain frozen dataclasses and get plain frozen dataclasses (and SVG text) back.

- ``calendar``: a term's periods, quarters and review years;
- ``utilization``: daily readings and seat utilization (R33), the term under review;
- ``reviews``: which review applies, the quarterly (R34) and annual (R35) seat reviews;
- ``renewals``: renewal or cancellation (R36) and the renewal invoice;
- ``invoices``: invoices and line items, money in integer cents;
- ``usage_chart``: the usage chart of a term, as SVG.

docs/billing.md explains the formulas with worked examples.
"""
