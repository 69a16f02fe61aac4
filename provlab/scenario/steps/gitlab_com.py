"""What people do on GitLab.com and for it: group owners make groups and members and assign
GitLab Duo seats (over GraphQL, as their own token allows); the customer links a subscription to
a top-level group in the portal, which provisions it there at once (R31, R2, R26, R27)."""

from __future__ import annotations

from typing import Any

from instance.gitlab_com.groups import add_member as add_membership
from instance.gitlab_com.groups import remove_member as remove_membership
from instance.gitlab_com.groups import role_level
from instance.gitlab_com.provisioning import group_duo_purchase
from instance.tokens import create_token
from portal.gitlab_com.namespaces import change_linked_namespace, link_namespace
from provlab.scenario.drivers import csrf_token, flash_messages
from provlab.scenario.steps.admin import ask_code_suggestion
from provlab.scenario.steps.agile_planning import purchase_of
from provlab.scenario.steps.refusals import refusal_expected
from provlab.scenario.users import usernames
from provlab.scenario.vocabulary import StepContext, action

BULK_CREATE = """mutation($purchase: GitlabSubscriptionsAddOnPurchaseID!, $users: [UserID!]!) {
  userAddOnAssignmentBulkCreate(input: {addOnPurchaseId: $purchase, userIds: $users}) {
    errors } }"""
BULK_REMOVE = """mutation($purchase: GitlabSubscriptionsAddOnPurchaseID!, $users: [UserID!]!) {
  userAddOnAssignmentBulkRemove(input: {addOnPurchaseId: $purchase, userIds: $users}) {
    errors } }"""


@action("create_group", "- create_group: {path: acme/platform, projects: [api], owner: olga}")
def create_group(context: StepContext, args: Any) -> None:
    """Someone creates a GitLab.com group (a subgroup when the path has a slash); the owner is
    made a member with the Owner role."""
    fields = context.mapping(args, {"path"}, {"projects", "owner"})
    gitlab_com = context.gitlab_com
    _ = context.world.gitlab_com  # the third party joins the scenario here
    with gitlab_com.transaction():
        group = gitlab_com.create_group(fields["path"], list(fields.get("projects") or []))
        if "owner" in fields:
            owner = gitlab_com.user(fields["owner"])
            add_membership(group, owner, role_level("owner"), gitlab_com.now())
    context.world.timeline.add(context.world.now(), "gitlab_com", "group", f"{fields['path']}")


@action(
    "add_member",
    "- add_member: {to: acme/platform/api, user: bob, role: developer, bot: support_bot}",
)
def add_member(context: StepContext, args: Any) -> None:
    """A group owner adds a user to a group or project with a role (the user signs up first;
    ``bot`` makes one of GitLab's bots, ``state: blocked`` a blocked user)."""
    fields = context.mapping(args, {"to", "user", "role"}, {"bot", "state"})
    gitlab_com = context.gitlab_com
    extra: dict[str, Any] = {}
    if "bot" in fields:
        extra["bot_type"] = str(fields["bot"])
    if "state" in fields:
        extra["state"] = str(fields["state"])
    with gitlab_com.transaction():
        source = gitlab_com.group_or_project(fields["to"])
        user = gitlab_com.user(fields["user"], **extra)
        add_membership(source, user, role_level(str(fields["role"])), gitlab_com.now())


@action("remove_member", "- remove_member: {from: acme, user: bob}")
def remove_member(context: StepContext, args: Any) -> None:
    """A group owner removes a member from a group or project."""
    fields = context.mapping(args, {"from", "user"})
    gitlab_com = context.gitlab_com
    with gitlab_com.transaction():
        if not remove_membership(
            gitlab_com.group_or_project(fields["from"]), gitlab_com.known_user(fields["user"])
        ):
            context.fail(f"{fields['user']} is not a member of {fields['from']}")


@action("link_group", "- link_group: {subscription: A-S00000001, group: acme}")
def link_group(context: StepContext, args: Any) -> None:
    """The customer links a subscription to a GitLab.com top-level group in the portal; the
    portal pushes it there at once (a job due now)."""
    fields = context.mapping(args, {"subscription", "group"}, {"expect_refusal"})
    _ = context.world.gitlab_com
    with context.gitlab_com.reading():
        group = context.gitlab_com.group(fields["group"])
        group_id, path = group.id, group.full_path
    portal = context.portal
    with refusal_expected(context, fields.get("expect_refusal"), "link"):
        with portal.transaction():
            subscription = portal.subscription(fields["subscription"])
            link_namespace(subscription, group_id, path, portal.now())
    context.world.travel_to(context.world.now())  # the push is due at once


@action(
    "change_linked_group",
    "- change_linked_group: {group: acme, to: beta, expect_refusal: already has a subscription}",
)
def change_linked_group(context: StepContext, args: Any) -> None:
    """The customer's *Change linked namespace*: the subscription linked to ``group`` moves to
    the top-level group ``to``; both groups are pushed at once (the one it leaves goes back to
    Free, keeping its Ultimate trial if the subscription had replaced one)."""
    fields = context.mapping(args, {"group", "to"}, {"expect_refusal"})
    with context.gitlab_com.reading():
        left_id = context.gitlab_com.group(fields["group"]).id
        target = context.gitlab_com.group(fields["to"])
        target_id, target_path = target.id, target.full_path
    portal = context.portal
    with refusal_expected(context, fields.get("expect_refusal"), "change linked namespace"):
        with portal.transaction():
            subscription = portal.linked_to(left_id)
            if subscription is None:
                context.fail(f"no subscription is linked to {fields['group']}")
            change_linked_namespace(subscription, target_id, target_path, portal.now())
    context.world.travel_to(context.world.now())  # both pushes are due at once


def _seats(context: StepContext, args: Any, mutation: str) -> None:
    fields = context.mapping(args, {"group", "users", "by"}, {"expect_error", "add_on"})
    gitlab_com = context.gitlab_com
    with gitlab_com.transaction():
        group = gitlab_com.group(fields["group"])
        # ``add_on: enterprise_agile_planning``: that add-on's seats, same mutations (R6).
        purchase = purchase_of(
            context, fields.get("add_on"), group_duo_purchase(group.id), group.id
        )
        if purchase is None:
            context.fail(f"{fields['group']} has no {fields.get('add_on', 'GitLab Duo')} purchase")
        purchase_gid = f"gid://gitlab/GitlabSubscriptions::AddOnPurchase/{purchase.id}"
        ids = [
            f"gid://gitlab/User/{gitlab_com.known_user(name).id}"
            for name in usernames(fields["users"])
        ]
        token = create_token(
            gitlab_com.known_user(fields["by"]), "scenario", ["api"], gitlab_com.now()
        )
    response = gitlab_com.browser().post(
        f"{gitlab_com.url}/api/graphql",
        headers={"Authorization": f"Bearer {token}"},
        json={"query": mutation, "variables": {"purchase": purchase_gid, "users": ids}},
    )
    body = response.json()
    payload = next(iter((body.get("data") or {}).values()), None)
    errors = (payload or {}).get("errors") or [e["message"] for e in body.get("errors", [])]
    expected = fields.get("expect_error")
    if expected is None and errors:
        context.fail(f"the seat change was refused: {errors}")
    if expected is not None and expected not in errors:
        context.fail(f"expected the error {expected}, got {errors or 'success'}")


@action(
    "assign_group_seats",
    "- assign_group_seats: {group: acme, users: [bob], by: olga, expect_error: NOT_ENOUGH_SEATS}",
)
def assign_group_seats(context: StepContext, args: Any) -> None:
    """A group owner assigns GitLab Duo seats of the group (GraphQL, all or nothing; R2, R27)."""
    _seats(context, args, BULK_CREATE)


@action("remove_group_seats", "- remove_group_seats: {group: acme, users: [bob], by: olga}")
def remove_group_seats(context: StepContext, args: Any) -> None:
    """A group owner removes GitLab Duo seats of the group (GraphQL, R27)."""
    _seats(context, args, BULK_REMOVE)


@action(
    "use_code_suggestions_on_gitlab_com",
    "- use_code_suggestions_on_gitlab_com: {user: bob, expect_status: 200}",
)
def use_code_suggestions_on_gitlab_com(context: StepContext, args: Any) -> None:
    """A GitLab.com user asks for a code suggestion; 200 with a seat in any top-level group."""
    fields = context.mapping(args, {"user", "expect_status"})
    gitlab_com = context.gitlab_com
    ask_code_suggestion(
        context, gitlab_com, gitlab_com.known_user, fields["user"], fields["expect_status"]
    )


# The trial's form, where it posts, and what GitLab.com says once it started.
TRIALS = {
    "duo_pro": (
        "/-/trials/duo_pro/new",
        "/-/trials/duo_pro",
        "successfully started a Duo Pro trial",
    ),
    "ultimate": ("/-/trials/new", "/-/trials", "your free trial is activated"),
}
# How the owner completes GitLab's lead fields (instance.gitlab_com.trial_form).
LEAD = {
    "first_name": "Olga",
    "last_name": "Owner",
    "company_name": "Customer Inc.",
    "company_size": "100-499",
    "country": "DE",
    "phone_number": "+49 30 1234567",
}


def _trial(context: StepContext, args: Any, kind: str) -> None:
    """A group owner on Settings → Billing selects the trial's button, completes the fields and
    activates it; GitLab.com applies it at once. ``kind``: ``duo_pro`` or ``ultimate``."""
    fields = context.mapping(args, {"group", "by"}, {"expect_refusal"})
    gitlab_com = context.gitlab_com
    with gitlab_com.reading():
        group = gitlab_com.group(fields["group"])
        group_id, full_path = group.id, group.full_path
    new, post, started = TRIALS[kind]
    browser = gitlab_com.browser_of(str(fields["by"]))
    billing = browser.get(f"{gitlab_com.url}/groups/{full_path}/-/billings")
    form = browser.get(f"{gitlab_com.url}{new}?namespace_id={group_id}")
    response = browser.post(
        f"{gitlab_com.url}{post}",
        data={**LEAD, "namespace_id": group_id, "csrf_token": csrf_token(form.text)},
    )
    shown = flash_messages(response.text)
    done = started in shown
    context.world.timeline.add(context.world.now(), "gitlab_com", "trial", shown[:160])
    expected = fields.get("expect_refusal")
    if expected is None and not done:
        context.fail(f"the trial did not start: {shown} (billing page {billing.status_code})")
    if expected is not None and (done or str(expected).lower() not in shown.lower()):
        context.fail(f"expected a refusal containing {expected!r}, the page said: {shown}")
    if done:
        context.world.travel_to(context.world.now())  # the link's push, due at once


@action(
    "start_ultimate_trial",
    "- start_ultimate_trial: {group: acme, by: olga, expect_refusal: already had a trial}",
)
def start_ultimate_trial(context: StepContext, args: Any) -> None:
    """The owner of a Free group: Settings → Billing → *Start a free Ultimate trial*, completes
    the fields, *Continue*; the 30-day Ultimate trial applies at once (the portal links a plan
    trial to the group and pushes it)."""
    _trial(context, args, "ultimate")


@action(
    "start_duo_trial",
    "- start_duo_trial: {group: acme, by: olga, expect_refusal: already has a GitLab Duo}",
)
def start_duo_trial(context: StepContext, args: Any) -> None:
    """A group owner: Settings → Billing → *Start a free GitLab Duo Pro trial*, completes the
    fields, *Activate my trial*; it applies at once (R25)."""
    _trial(context, args, "duo_pro")
