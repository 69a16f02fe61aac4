"""Drivers: how a scenario reaches each party.

A driver owns its party's transaction (``transaction()`` commits what a step did, or rolls it back
when the step raises; ``reading()`` looks without writing), its clock, and the lookups steps share.
The instance's driver also owns the administrator's signed-in browser session; both read pages
with the one CSRF helper in ``pages``. A step calls the parties' operations through them, never
their command line.
"""

from __future__ import annotations

from provlab.scenario.drivers.gitlab_com import GitLabComDriver
from provlab.scenario.drivers.instance import ADMIN_PASSWORD, ADMIN_USERNAME, InstanceDriver
from provlab.scenario.drivers.pages import csrf_token, flash_messages
from provlab.scenario.drivers.portal import CUSTOMER_EMAIL, SALES_EMAIL, PortalDriver

__all__ = [
    "ADMIN_PASSWORD",
    "ADMIN_USERNAME",
    "CUSTOMER_EMAIL",
    "GitLabComDriver",
    "SALES_EMAIL",
    "InstanceDriver",
    "PortalDriver",
    "csrf_token",
    "flash_messages",
]
