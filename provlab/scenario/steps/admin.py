"""What the instance administrator and users do."""

from __future__ import annotations

from typing import Any

from provlab.scenario.steps.common import (
    ROLES,
    _csrf,
    _expand_users,
    _now,
    _user,
    usernames,
)
from provlab.scenario.steps.setup import USER_KEYS, activate_instance, upload_license_file
from provlab.scenario.vocabulary import StepContext, action
from webcore.transaction import unit_of_work

# -- actions: the instance's administrator and users ----------------------------------------------


@action("activate", "- activate: A-S00000001")
def activate(context: StepContext, args: Any) -> None:
    """The admin activates the instance with the subscription's cloud activation code (R8)."""
    response = activate_instance(context.world, str(args))
    context.world.timeline.add(
        context.world.now(), "instance", "admin", f"activate → {response.status_code}"
    )


@action("upload_license", "- upload_license: A-S00000002")
def upload_license(context: StepContext, args: Any) -> None:
    """The admin uploads the subscription's offline or legacy license file."""
    response = upload_license_file(context.world, str(args))
    context.world.timeline.add(
        context.world.now(), "instance", "admin", f"upload license → {response.status_code}"
    )


@action("sync_now", "- sync_now: {expect_success: false}")
def sync_now(context: StepContext, args: Any) -> None:
    """The admin selects *Synchronize subscription* (R14)."""
    fields = context.mapping(args or {}, set(), {"expect_success"})
    world = context.world
    client = world.admin_client()
    token = _csrf(client.get(f"{world.instance_url}/admin/subscription").text)
    response = client.post(
        f"{world.instance_url}/admin/license/sync_seat_link", headers={"X-CSRFToken": token}
    )
    answer = response.json()
    world.last_sync_answer = answer
    world.timeline.add(world.now(), "instance", "admin", f"synchronize subscription → {answer}")
    if "expect_success" in fields and bool(answer.get("success")) != bool(fields["expect_success"]):
        context.fail(f"Synchronize subscription answered {answer}")


@action("assign_seats", "- assign_seats: {users: [alice, bob], expect_error: NOT_ENOUGH_SEATS}")
def assign_seats(context: StepContext, args: Any) -> None:
    """The admin assigns GitLab Duo seats to users (bulk, all or nothing: R26, R27)."""
    _seat_change(context, args, assign=True)


@action("remove_seats", "- remove_seats: {users: [alice]}")
def remove_seats(context: StepContext, args: Any) -> None:
    """The admin removes users' GitLab Duo seats."""
    _seat_change(context, args, assign=False)


def _seat_change(context: StepContext, args: Any, *, assign: bool) -> None:
    from instance.add_ons import AssignmentError, bulk_assign, bulk_remove, duo_purchase

    fields = context.mapping(args, {"users"}, {"expect_error"})
    app = context.world.instance
    error = None
    try:
        with unit_of_work(app):
            purchase = duo_purchase()
            if purchase is None:
                context.fail("the instance knows no GitLab Duo add-on purchase")
            ids = [_user(context, name).id for name in usernames(fields["users"])]
            if assign:
                bulk_assign(purchase.id, ids, _now(app))
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
    from click.testing import CliRunner

    from provlab.cli import main

    fields = context.mapping(args, {"users"}, {"expect_output"})
    world = context.world
    csv_file = world.folder / f"bulk-{context.step.index}.csv"
    csv_file.write_text("username\n" + "".join(f"{name}\n" for name in usernames(fields["users"])))
    result = CliRunner().invoke(
        main, ["instance", "duo-bulk-assign", str(csv_file)], obj={"app": world.instance}
    )
    world.timeline.add(
        world.now(), "instance", "admin", f"bulk assignment task → exit {result.exit_code}"
    )
    for line in fields.get("expect_output") or []:
        if str(line) not in result.output:
            context.fail(f"the task's output lacks {line!r}:\n{result.output}")


@action("change_user", "- change_user: {user: alice, state: blocked}")
def change_user(context: StepContext, args: Any) -> None:
    """An admin blocks, bans, deactivates or reactivates a user, or changes their role."""
    from instance.users import change_state

    fields = context.mapping(args, {"user"}, {"state", "role"})
    with unit_of_work(context.world.instance):
        user = _user(context, fields["user"])
        if "state" in fields:
            change_state(user, str(fields["state"]))
        if "role" in fields:
            user.highest_access_level = ROLES[str(fields["role"])]


@action("use_code_suggestions", "- use_code_suggestions: {user: alice, expect_status: 200}")
def use_code_suggestions(context: StepContext, args: Any) -> None:
    """A user asks for a code suggestion through the API; 200 with a seat, 401 without."""
    from instance.tokens import create_token

    fields = context.mapping(args, {"user"}, {"expect_status"})
    world = context.world
    with unit_of_work(world.instance):
        token = create_token(
            _user(context, fields["user"]), "scenario", ["api"], _now(world.instance)
        )
    response = world.client("instance").post(
        f"{world.instance_url}/api/v4/code_suggestions/completions",
        headers={"PRIVATE-TOKEN": token},
        json={"current_file": {"file_name": "main.py", "content_above_cursor": "def add(a, b):"}},
    )
    world.timeline.add(
        world.now(),
        "instance",
        "user",
        f"{fields['user']} code suggestion → {response.status_code}",
    )
    if "expect_status" in fields and response.status_code != int(fields["expect_status"]):
        context.fail(
            f"Code Suggestions answered {response.status_code}, expected {fields['expect_status']}"
        )


@action("set_version", "- set_version: 17.5.0")
def set_version(context: StepContext, args: Any) -> None:
    """The instance is upgraded (or configured) to another GitLab version."""
    context.world.instance.config["GITLAB_VERSION"] = str(args)


@action("add_users", "- add_users: {prefix: dev, count: 12}     # or a list, as in setup")
def add_users(context: StepContext, args: Any) -> None:
    """Create users on the instance (billable unless blocked, a GitLab bot, or an Ultimate Guest)."""
    from instance.users import create_user

    entries = _expand_users(args if isinstance(args, list) else [args])
    app = context.world.instance
    with unit_of_work(app):
        now = _now(app)
        for entry in entries:
            if not isinstance(entry, dict) or "username" not in entry or set(entry) - USER_KEYS:
                context.malformed(f"a user needs a username; allowed keys: {sorted(USER_KEYS)}")
            role = str(entry.get("role", "developer"))
            if role not in ROLES:
                context.malformed(f"role must be one of {', '.join(ROLES)}")
            create_user(
                username=str(entry["username"]),
                email=str(entry.get("email", f"{entry['username']}@instance.test")),
                name=str(entry.get("name", str(entry["username"]).title())),
                now=now,
                state=str(entry.get("state", "active")),
                bot_type=entry.get("bot"),
                highest_access_level=ROLES[role],
            )
    context.world.timeline.add(
        context.world.now(), "instance", "admin", f"{len(entries)} users added"
    )


@action("change_users", "- change_users: {users: [dev01..dev04], state: blocked}")
def change_users(context: StepContext, args: Any) -> None:
    """An admin blocks, bans, deactivates or reactivates several users at once."""
    from instance.users import change_state

    fields = context.mapping(args, {"users", "state"})
    names = usernames(fields["users"])
    with unit_of_work(context.world.instance):
        for name in names:
            change_state(_user(context, name), str(fields["state"]))
    context.world.timeline.add(
        context.world.now(), "instance", "admin", f"{len(names)} users {fields['state']}"
    )
