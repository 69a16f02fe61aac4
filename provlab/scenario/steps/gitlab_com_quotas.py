"""Consumables on GitLab.com (R6): the customer buys compute minutes or storage for the group in
the portal (pushed to GitLab.com at once), the group's pipelines use compute minutes, pushes
fill its projects' storage; and what the group's *Usage Quotas* then shows."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from instance.gitlab_com.quotas import (
    QuotaExceeded,
    compute_quota,
    push_to_repository,
    storage_quota,
    use_compute_minutes,
)
from instance.namespace_models import Project
from portal.gitlab_com.consumables import buy_consumable
from portal.models import OrderKind
from provlab.scenario.drivers import GitLabComDriver
from provlab.scenario.steps.customer import place_order
from provlab.scenario.vocabulary import StepContext, action, expectation

MIB_PER_GIB = 1024


def _buy(context: StepContext, args: Any, kind: str) -> None:
    place_order(
        context, args, "packs", lambda terms, packs, card: buy_consumable(terms, kind, packs, card)
    )
    context.world.travel_to(context.world.now())  # the push is due at once


@action("buy_compute_minutes", "- buy_compute_minutes: {subscription: A-S00000001, packs: 2}")
def buy_compute_minutes(context: StepContext, args: Any) -> None:
    """The customer buys packs of 1,000 compute minutes ($10 each) for the subscription's group."""
    _buy(context, args, OrderKind.COMPUTE_MINUTES)


@action("buy_storage", "- buy_storage: {subscription: A-S00000001, packs: 1}")
def buy_storage(context: StepContext, args: Any) -> None:
    """The customer buys packs of 10 GiB of storage ($60 a year each) for the subscription's
    group."""
    _buy(context, args, OrderKind.STORAGE)


def _within_quota(
    context: StepContext,
    fields: dict[str, Any],
    what: str,
    act: Callable[[GitLabComDriver], None],
    done: str | None = None,
) -> None:
    """Run ``act`` in one GitLab.com transaction: refused for a quota, it must be as the step's
    ``expect_refusal`` says, and go through when that says nothing (``done``: the timeline's
    word for it then)."""
    gitlab_com, timeline = context.gitlab_com, context.world.timeline
    outcome = None
    try:
        with gitlab_com.transaction():
            act(gitlab_com)
    except QuotaExceeded as refused:
        outcome = str(refused.message)
        timeline.add(context.world.now(), "gitlab_com", "refused", outcome[:160])
    else:
        if done is not None:
            timeline.add(context.world.now(), "gitlab_com", what, done)
    expected = fields.get("expect_refusal")
    if expected is None and outcome is not None:
        context.fail(f"the {what} was refused: {outcome}")
    if expected is not None and (outcome is None or str(expected) not in outcome):
        context.fail(f"expected the {what} refused with {expected!r}, got {outcome or 'success'}")


@action(
    "use_compute_minutes",
    "- use_compute_minutes: {group: acme, minutes: 450, "
    "expect_refusal: No more compute minutes available}",
)
def use_compute_minutes_step(context: StepContext, args: Any) -> None:
    """The group's pipelines use N compute minutes on instance runners: the month's quota first,
    then additional packs; refused once both are used up."""
    fields = context.mapping(args, {"group", "minutes"}, {"expect_refusal"})

    def use(gitlab_com: GitLabComDriver) -> None:
        group = gitlab_com.group(fields["group"])
        use_compute_minutes(group, int(fields["minutes"]), gitlab_com.now())

    _within_quota(context, fields, "pipeline", use, done=f"{fields['minutes']} compute minutes")


@action(
    "push_to_repository",
    "- push_to_repository: {project: acme/api, gib: 11, expect_refusal: free storage limit}",
)
def push_to_repository_step(context: StepContext, args: Any) -> None:
    """Someone pushes N GiB to a project's repository; refused while the project is locked."""
    fields = context.mapping(args, {"project", "gib"}, {"expect_refusal"})

    def push(gitlab_com: GitLabComDriver) -> None:
        project = gitlab_com.group_or_project(fields["project"])
        if not isinstance(project, Project):
            context.fail(f"{fields['project']} is a group, not a project")
        mib = round(float(fields["gib"]) * MIB_PER_GIB)
        push_to_repository(project, mib, gitlab_com.now())

    _within_quota(context, fields, "push", push)


QUOTA_KEYS = {
    "monthly_quota",
    "monthly_used",
    "additional_limit",
    "additional_used",
    "exhausted",
    "storage_gib",
    "excess_gib",
    "purchased_gib",
    "locked",
}


@expectation(
    "group_quotas",
    "group_quotas: {group: acme, monthly_quota: 10000, monthly_used: 10000, "
    "additional_limit: 2000, additional_used: 500, purchased_gib: 10, locked: [acme/api]}",
)
def expect_group_quotas(context: StepContext, args: Any) -> None:
    """What the group's *Usage Quotas* shows: compute minutes this month (*Pipelines*) and
    storage (*Storage*), sizes in GiB (R6)."""
    fields = context.mapping(args, {"group"}, QUOTA_KEYS)
    gitlab_com = context.gitlab_com
    with gitlab_com.reading():
        group = gitlab_com.group(fields["group"])
        today = gitlab_com.now().date()
        compute = compute_quota(group.id, today)
        storage = storage_quota(group.id, today)
        shown: dict[str, Any] = {
            "monthly_quota": compute.monthly_quota,
            "monthly_used": compute.monthly_used,
            "additional_limit": compute.additional_limit,
            "additional_used": compute.additional_used,
            "exhausted": compute.exhausted,
            "storage_gib": storage.used / MIB_PER_GIB,
            "excess_gib": storage.excess / MIB_PER_GIB,
            "purchased_gib": storage.purchased / MIB_PER_GIB,
            "locked": sorted(storage.locked),
        }
    wanted = {key: sorted(value) if key == "locked" else value for key, value in fields.items()}
    del wanted["group"]  # which group it is, not what it shows
    context.compare_shown(shown, wanted)
