"""Hand-made doctor evidence for the engine tests: a paid online cloud subscription, activated
on instance-1, that the portal and the instance both describe as synced at 03:41 on ``now``'s
day (the instance's next sync a day later). Each test module states only what its doctor's
story needs on top, as ``changes``."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from provlab.doctor_model import InstanceEvidence, PortalEvidence

SUBSCRIPTION = "A-S00012345"
VERSION = "17.5.0"


def _synced_at(now: dt.datetime) -> dt.datetime:
    return now.replace(hour=3, minute=41, second=0, microsecond=0)


def portal_evidence(now: dt.datetime, **changes: object) -> PortalEvidence:
    base = PortalEvidence(
        now=now,
        subscription_name=SUBSCRIPTION,
        found=True,
        kind="paid",
        license_type="online_cloud",
        contact_email="owner@example.com",
        activated_instance="instance-1",
        last_sync_at=_synced_at(now),
        reported_version=VERSION,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def instance_evidence(now: dt.datetime, **changes: object) -> InstanceEvidence:
    base = InstanceEvidence(
        now=now,
        license_type="online_cloud",
        subscription_name=SUBSCRIPTION,
        gitlab_version=VERSION,
        last_sync_at=_synced_at(now),
        last_sync_error=None,
        next_sync_at=_synced_at(now) + dt.timedelta(days=1),
        duo_tier="duo_pro",
    )
    return replace(base, **changes)  # type: ignore[arg-type]
