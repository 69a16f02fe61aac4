"""What the instance's administrator does (activation, license, sync, seats, users, upgrades) and
what its users do with GitLab Duo. Admin buttons go over HTTP as the admin's browser; the rest
calls the instance's operations, as the admin pages and the Rake-like task do."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from instance.add_ons import AssignmentError, bulk_assign, bulk_remove, duo_purchase
from instance.bulk_assignment import BulkAssignmentError, assign_usernames, read_usernames
from instance.models import User
from instance.tokens import create_token
from instance.users import change_state, create_user
from provlab.scenario.drivers.party import PartyDriver
from provlab.scenario.steps.agile_planning import purchase_of
from provlab.scenario.users import ROLES, expand_users, user_fields, usernames
from provlab.scenario.vocabulary import StepContext, action


@action("activate", "- activate: A-S00000001")
def activate(context: StepContext, args: Any) -> None:
    """The admin activates the instance with the subscription's cloud activation code (R8)."""
    response = context.instance.activate(context.portal.activation_code(str(args)))
    context.world.timeline.add(
        context.world.now(), "instance", "admin", f"activate → {response.status_code}"
    )


@action("upload_license", "- upload_license: A-S00000002")
def upload_license(context: StepContext, args: Any) -> None:
    """The admin uploads the subscription's offline or legacy license file."""
    response = context.instance.upload_license(context.portal.license_file(str(args)))
    context.world.timeline.add(
        context.world.now(), "instance", "admin", f"upload license → {response.status_code}"
    )


@action("sync_now", "- sync_now: {expect_success: false}")
def sync_now(context: StepContext, args: Any) -> None:
    """The admin selects *Synchronize subscription* (R14)."""
    fields = context.mapping(args or {}, set(), {"expect_success"})
    world = context.world
    answer = context.instance.admin_post("/admin/license/sync_seat_link").json()
    world.last_sync_answer = answer
    world.timeline.add(world.now(), "instance", "admin", f"synchronize subscription → {answer}")
    if "expect_success" in fields and bool(answer.get("success")) != bool(fields["expect_success"]):
        context.fail(f"Synchronize subscription answered {answer}")


@action(
    "assign_seats",
    "- assign_seats: {users: [alice, bob], expect_error: NOT_ENOUGH_SEATS, "
    "add_on: enterprise_agile_planning}",
)
def assign_seats(context: StepContext, args: Any) -> None:
    """The admin assigns GitLab Duo seats to users (bulk, all or nothing: R26, R27)."""
    _seat_change(context, args, assign=True)


@action("remove_seats", "- remove_seats: {users: [alice]}")
def remove_seats(context: StepContext, args: Any) -> None:
    """The admin removes users' GitLab Duo seats."""
    _seat_change(context, args, assign=False)


def _seat_change(context: StepContext, args: Any, *, assign: bool) -> None:
    fields = context.mapping(args, {"users"}, {"expect_error", "add_on"})
    instance = context.instance
    error = None
    try:
        with instance.transaction():
            # ``add_on: enterprise_agile_planning`` changes that add-on's seats, same rules (R6).
            purchase = purchase_of(context, fields.get("add_on"), duo_purchase())
            if purchase is None:
                context.fail(f"the instance knows no {fields.get('add_on', 'GitLab Duo')} purchase")
            ids = [instance.user(name).id for name in usernames(fields["users"])]
            if assign:
                bulk_assign(purchase.id, ids, instance.now())
            else:
                bulk_remove(purchase.id, ids)
    except AssignmentError as exc:
        error = exc.code
    expected = fields.get("expect_error")
    if error != expected:
        context.fail(f"seat change gave {error or 'success'}, expected {expected or 'success'}")


@action(
    "bulk_assign_file",
    "- bulk_assign_file: {users: [alice, ghost], expect_output: [User assigned: alice]}",
)
def bulk_assign_file(context: StepContext, args: Any) -> None:
    """The admin runs the bulk assignment task with a CSV of usernames (`provlab instance
    duo-bulk-assign`, GitLab's Rake task, R27); each expected line must be in its output."""
    fields = context.mapping(args, {"users"}, {"expect_output"})
    world = context.world
    instance = context.instance
    csv_file = world.folder / f"bulk-{context.step.index}.csv"
    csv_file.write_text("username\n" + "".join(f"{name}\n" for name in usernames(fields["users"])))
    # What the command does and prints (``provlab instance duo-bulk-assign``): its report, or
    # the reason it could not start and exit status 1.
    try:
        with instance.transaction():
            output, exit_code = (
                assign_usernames(read_usernames(csv_file), instance.now()).report(),
                0,
            )
    except BulkAssignmentError as exc:
        output, exit_code = f"Error: {exc.message}", 1
    world.timeline.add(world.now(), "instance", "admin", f"bulk assignment task → exit {exit_code}")
    for line in fields.get("expect_output") or []:
        if str(line) not in output:
            context.fail(f"the task's output lacks {line!r}:\n{output}")


@action("change_user", "- change_user: {user: alice, state: blocked}")
def change_user(context: StepContext, args: Any) -> None:
    """An admin blocks, bans, deactivates or reactivates a user, or changes their role."""
    fields = context.mapping(args, {"user"}, {"state", "role"})
    with context.instance.transaction():
        user = context.instance.user(fields["user"])
        if "state" in fields:
            change_state(user, str(fields["state"]))
        if "role" in fields:
            user.highest_access_level = ROLES[str(fields["role"])]


@action("change_users", "- change_users: {users: [dev01..dev04], state: blocked}")
def change_users(context: StepContext, args: Any) -> None:
    """An admin blocks, bans, deactivates or reactivates several users at once."""
    fields = context.mapping(args, {"users", "state"})
    names = usernames(fields["users"])
    with context.instance.transaction():
        for name in names:
            change_state(context.instance.user(name), str(fields["state"]))
    context.world.timeline.add(
        context.world.now(), "instance", "admin", f"{len(names)} users {fields['state']}"
    )


@action("add_users", "- add_users: {prefix: dev, count: 12}     # or a list, as in setup")
def add_users(context: StepContext, args: Any) -> None:
    """Create users on the instance (billable unless blocked, a GitLab bot, or an Ultimate Guest)."""
    entries = expand_users(args if isinstance(args, list) else [args])
    instance = context.instance
    with instance.transaction():
        now = instance.now()
        for entry in entries:
            try:
                fields = user_fields(entry)
            except ValueError as exc:
                context.malformed(str(exc))
            create_user(now=now, **fields)
    context.world.timeline.add(
        context.world.now(), "instance", "admin", f"{len(entries)} users added"
    )


@action("set_version", "- set_version: 17.5.0")
def set_version(context: StepContext, args: Any) -> None:
    """The instance is upgraded (or configured) to another GitLab version."""
    context.instance.app.config["GITLAB_VERSION"] = str(args)


@action("use_code_suggestions", "- use_code_suggestions: {user: alice, expect_status: 200}")
def use_code_suggestions(context: StepContext, args: Any) -> None:
    """A user asks for a code suggestion through the API; 200 with a seat, 401 without."""
    fields = context.mapping(args, {"user"}, {"expect_status"})
    instance = context.instance
    ask_code_suggestion(
        context, instance, instance.user, fields["user"], fields.get("expect_status")
    )


def ask_code_suggestion(
    context: StepContext,
    party: PartyDriver,
    find_user: Callable[[str], User],
    username: str,
    expected: Any,
) -> None:
    """The user asks `party` (the instance, GitLab.com) for a code suggestion with a new token;
    the answer must be `expected` (an HTTP status), if given."""
    with party.transaction():
        token = create_token(find_user(username), "scenario", ["api"], party.now())
    response = party.browser().post(
        f"{party.url}/api/v4/code_suggestions/completions",
        headers={"PRIVATE-TOKEN": token},
        json={"current_file": {"file_name": "main.py", "content_above_cursor": "def add(a, b):"}},
    )
    context.world.timeline.add(
        context.world.now(),
        party.party,
        "user",
        f"{username} code suggestion → {response.status_code}",
    )
    if expected is not None and response.status_code != int(expected):
        context.fail(f"Code Suggestions answered {response.status_code}, expected {expected}")
