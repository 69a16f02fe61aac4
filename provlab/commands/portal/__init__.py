"""``provlab portal …``: the portal's operations from the command line, for scripts and scenarios.

Each command opens the portal's database (the one ``provlab up`` uses: ``--var``/portal, or the
``PORTAL_*`` environment), runs one operation in one transaction and prints the result (``--json``
for machines). When a ``provlab up --simulated-time`` pair is running, the command reads the
portal's simulated time from it, so what it records happens at the pair's "now".
"""

from provlab.commands.portal import jobs, leads, orders, subscriptions  # noqa: F401 - register commands
from provlab.commands.portal.base import portal_group

__all__ = ["portal_group"]
