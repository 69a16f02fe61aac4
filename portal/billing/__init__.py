"""Billing (R32-R36): seat usage, seat reviews, invoices and renewals.

``portal.billing.policy`` is the billing policy as pure functions over dates, counts and prices
(no database, Flask or clock). The modules here wire it to the portal's tables:

- ``usage``: the daily counts the instance reports and the sales check-ins (R32);
- ``reviews``: which review applies, check-ins entered, the quarterly and annual reviews (R34, R35);
- ``invoicing``: invoices stored and mailed, order amendments accepted, new licenses sent;
- ``renewals``: the one renewal operation, the automatic renewal, cancellation notice (R36);
- ``jobs``: the daily seat review and renewal jobs' bodies;
- ``chart``: the usage chart of a subscription's current term.

docs/billing.md explains the formulas with worked examples.
"""
