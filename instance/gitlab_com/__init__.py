"""GitLab.com: the instance app run as one multi-tenant GitLab (setting ``GITLAB_COM``).

The real product is one codebase for both offerings, and so is this: with ``GITLAB_COM`` on,
the app also serves top-level groups with their subgroups, projects and members, takes its
subscriptions from the Customers Portal's pushes (``provision_api``), counts billable members
per group (R31) and assigns GitLab Duo seats per group, with the self-managed seat rules and
errors (``instance.add_ons``) scoped to the group's add-on purchase.
"""

from __future__ import annotations

from flask import Flask, current_app


def is_gitlab_com(app: Flask | None = None) -> bool:
    return bool((app or current_app).config.get("GITLAB_COM"))
