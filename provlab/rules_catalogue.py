"""The rule catalogue: every rule of RULES.md by its stable ID (R1..R36).

Summaries are the first sentence of each rule; RULES.md and the seed documents hold the full text.
Rules marked ``later`` are out of scope for now (GitLab.com), so ``provlab rules --check`` without
IDs does not require them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    id: str
    area: str
    summary: str
    sources: tuple[str, ...]
    later: bool = False


CATALOGUE: tuple[Rule, ...] = (
    Rule(
        "R1",
        "Products and purchases",
        "Add-ons are bought as extra seats on an existing subscription",
        ("000", "001"),
    ),
    Rule(
        "R2",
        "Products and purchases",
        "Seats of an add-on can be assigned to billable users only (see R30)",
        ("000",),
    ),
    Rule(
        "R3",
        "Products and purchases",
        "GitLab Duo Pro can be bought self-serve in the portal (subscription card → *Buy GitLab Duo Pro* → number of seats → purchase summary → payment method → *Purchase seats*) or through sales",
        ("000",),
    ),
    Rule(
        "R4",
        "Products and purchases",
        "Add-ons are sold on Premium and Ultimate subscriptions only, never on Free",
        ("000", "001"),
    ),
    Rule(
        "R5",
        "Products and purchases",
        "*Add seats*: more seats can be bought for an add-on the subscription already has",
        ("000",),
    ),
    Rule(
        "R6",
        "Products and purchases",
        "Add-on types: user-based (GitLab Duo Pro, GitLab Duo Enterprise, Enterprise Agile Planning) and consumption-based (compute minutes, storage)",
        ("002",),
    ),
    Rule(
        "R7",
        "Products and purchases",
        "Each purchase and each trial activation sends a confirmation mail to the subscription contact",
        ("002",),
    ),
    Rule(
        "R8",
        "Licenses and activation",
        "A subscription's card in the portal can generate a cloud activation code",
        ("003",),
    ),
    Rule(
        "R9",
        "Licenses and activation",
        "Legacy (license-file) licenses exist alongside cloud licensing",
        ("003",),
    ),
    Rule(
        "R10",
        "Licenses and activation",
        "GitLab Duo works only on a cloud-licensed instance",
        ("003",),
    ),
    Rule(
        "R11",
        "Licenses and activation",
        "A customer on a self-managed Ultimate (plan) trial cannot trial Duo at the same time: the plan trial must end first",
        ("003",),
    ),
    Rule(
        "R12",
        "Licenses and activation",
        "Community-program customers are not eligible for a Duo trial",
        ("003",),
    ),
    Rule(
        "R13",
        "Sync",
        "A cloud-licensed instance syncs its subscription data with the portal once a day",
        ("003", "000"),
    ),
    Rule(
        "R14",
        "Sync",
        "An administrator can sync at once: Admin → Subscription → *Subscription details* shows *Last sync*, and the synchronize button next to it runs a sync now",
        ("000", "001"),
    ),
    Rule(
        "R15",
        "Sync",
        "The *GitLab Duo* admin menu appears only once the instance knows of a Duo purchase or trial; if it is missing after a purchase, the admin synchronizes",
        ("000", "001"),
    ),
    Rule(
        "R16",
        "Sync",
        "The instance must be able to reach the portal (outbound connection, honouring HTTP proxy settings from the environment)",
        ("000", "001"),
    ),
    Rule(
        "R17",
        "Instance versions",
        "Self-managed: GitLab Duo Pro needs GitLab 16.8 or later; GitLab Duo Enterprise needs 17.3 or later; a Duo Pro trial needs 16.8 or later",
        ("000", "001"),
    ),
    Rule(
        "R18",
        "Instance versions",
        "Below 17.2 Duo works in a degraded experience: allowed, with a warning",
        ("000",),
    ),
    Rule(
        "R19",
        "Trials",
        "Self-managed Duo Pro trial prerequisites: an active, paid Premium or Ultimate subscription (not Free, not a trial); GitLab 16.8+; an instance able to sync",
        ("000",),
    ),
    Rule(
        "R20",
        "Trials",
        "The trial request is a web form taking the subscription name (shown as a badge on the subscription's page in the portal) and an email, which must match the subscription contact's email",
        ("000",),
    ),
    Rule(
        "R21",
        "Trials",
        "The form does not create the trial directly: requests are processed later by sales through the marketing system (a lead-processing step) *(choice: processing delay configurable)*",
        ("003",),
    ),
    Rule(
        "R22",
        "Trials",
        "If the requester is in an embargoed country, the form still submits and shows success, but the trial is never created and the customer is told nothing: a silent failure",
        ("003",),
    ),
    Rule(
        "R23",
        "Trials",
        'The support tool cannot extend a Duo trial ("does not support extending Duo trials")',
        ("003",),
    ),
    Rule(
        "R24",
        "Trials",
        "After a trial has synced, the administrator assigns seats to users",
        ("000",),
    ),
    Rule(
        "R25",
        "Trials",
        "GitLab.com: an owner of a top-level group with an active paid subscription or an Ultimate trial can start a Duo Pro trial from *Settings → Billing*; the trial applies at once to that group",
        ("000",),
        later=True,
    ),
    Rule(
        "R26",
        "Seat assignment",
        "Admin → GitLab Duo lists users with a toggle each to assign or remove a seat; no more seats than purchased can be assigned",
        ("000", "001"),
    ),
    Rule(
        "R27",
        "Seat assignment",
        "Bulk assignment and removal: select several users (or all) in the UI; a command-line task taking a file of usernames (the Rake task of the documents); and an API mutation (the documents name the GraphQL mutation `userAddOnAssignmentCreate`)",
        ("000", "001"),
    ),
    Rule(
        "R28",
        "Seat assignment",
        "Overage removal: when an add-on's purchased quantity drops below its assigned seats (e.g",
        ("000",),
    ),
    Rule(
        "R29",
        "Seat assignment",
        "Once or twice a day a job removes the seats of users who have become blocked, banned or deactivated; the seat becomes free for someone else",
        ("000",),
    ),
    Rule(
        "R30",
        "Billing",
        "Active (billable) users of a self-managed instance: every user not blocked or deactivated, including users who never signed in, users with no group or project access, and service bots; excluding GitLab's own bots (support bot, alert bot, ...) and, on Ultimate, users whose highest role is Guest",
        ("004",),
    ),
    Rule(
        "R31",
        "Billing",
        "GitLab.com: the billable users of a paid namespace are the members of the group, its subgroups and projects, with the same exclusions",
        ("004",),
        later=True,
    ),
    Rule(
        "R32",
        "Billing",
        "Seat usage reaches the portal through the instance's daily sync (Seat Link) or, without it, through sales check-ins",
        ("004",),
    ),
    Rule(
        "R33",
        "Billing",
        "Seat utilization of a period is the maximum number of active users at any one time in that period, measured on its last day",
        ("004",),
    ),
    Rule(
        "R34",
        "Billing",
        "Quarterly seat review (subscriptions started or renewed on or after 2020-06-15 that share usage data): at the end of quarters 1–3, users above the licensed count are charged at list price, prorated to the end of the term; nothing is charged for the quarter in which they were added, and an overage in quarter 4 is never charged",
        ("004",),
    ),
    Rule(
        "R35",
        "Billing",
        "Annual seat review (subscriptions before 2020-06-15, or not sharing quarterly data): at renewal, users above the licensed count over the whole term are charged at full list price for the prior term, invoiced with the renewal",
        ("004",),
    ),
    Rule(
        "R36",
        "Billing",
        "At renewal a subscription auto-renews at its current active user count, unless the customer cancelled at least 30 days before the renewal date",
        ("004",),
    ),
)

BY_ID = {rule.id: rule for rule in CATALOGUE}
