"""The scenario vocabulary's expectations (keys of an ``expect`` step), one module per party;
importing this package registers them with ``provlab.scenario.vocabulary``."""

from __future__ import annotations

from provlab.scenario.expectations import (  # noqa: F401 - each module registers its own
    agile_planning,
    clock,
    gitlab_com,
    instance,
    portal,
    support,
)
