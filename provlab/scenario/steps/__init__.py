"""The scenario vocabulary's actions, one module per actor; importing this package registers them
and the expectations (``provlab.scenario.expectations``) with ``provlab.scenario.vocabulary``."""

from __future__ import annotations

from provlab.scenario import expectations as _expectations  # noqa: F401 - registers them
from provlab.scenario.steps import (  # noqa: F401 - each module registers its steps
    admin,
    agile_planning,
    billing,
    clock,
    customer,
    faults,
    gitlab_com,
    gitlab_com_purchases,
    gitlab_com_quotas,
    sales,
    support,
    support_cases,
    support_namespace,
)
from provlab.scenario.steps.setup import apply_setup

__all__ = ["apply_setup"]
