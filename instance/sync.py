"""The instance's side of the daily sync (Seat Link).

Without a cloud license there is nothing to sync: like the real product's worker, the scheduled
sync then does nothing and waits for the next slot.
"""

from __future__ import annotations

import logging

from webcore.jobs import JobContext

log = logging.getLogger(__name__)


def run_scheduled_sync(context: JobContext) -> None:
    log.info("daily sync at %s: no cloud license, nothing to sync", context.now.isoformat())
