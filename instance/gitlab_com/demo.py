"""GitLab.com's demo data for ``provlab up``: an administrator with a fresh token, and a demo
group owner's top-level group with a subgroup, a project and members of several roles.

The group's members show R31 at a glance once its subscription is provisioned: the owner, a
Maintainer and a Developer are billable; the Guest is on Premium, not on Ultimate; GitLab's
support bot never is. Seeding twice leaves the same rows (and a new token).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask

from instance.gitlab_com.groups import (
    add_member,
    create_group,
    create_project,
    find_group,
    find_project,
    role_level,
)
from instance.models import User, db
from instance.setup import DEMO_ADMIN_PASSWORD, DEMO_ADMIN_USERNAME, DemoAdmin
from instance.tokens import create_token
from instance.users import create_user, find_by_username
from webcore.clock import app_clock
from webcore.transaction import unit_of_work

DEMO_OWNER_USERNAME = "olga"
DEMO_OWNER_PASSWORD = "owner-demo-password"
DEMO_GROUP = "acme"
DEMO_SUBGROUP = "acme/platform"
DEMO_PROJECT = "acme/platform/api"
# (username, name, where, role, bot type): the members besides the owner.
DEMO_MEMBERS = [
    ("mira", "Mira Maintainer", DEMO_SUBGROUP, "maintainer", None),
    ("dev", "Dev Developer", DEMO_PROJECT, "developer", None),
    ("gus", "Gus Guest", DEMO_GROUP, "guest", None),
    ("support-bot", "GitLab Support Bot", DEMO_GROUP, "reporter", "support_bot"),
]
MEMBER_PASSWORD = "member-demo-password"


@dataclass(frozen=True)
class DemoGitLabCom:
    admin: DemoAdmin
    owner: str
    owner_password: str
    group_path: str
    group_id: int


def _user(username: str, name: str, password: str | None, *, bot_type: str | None = None) -> User:
    found = find_by_username(username)
    if found is None:
        found = create_user(
            username=username,
            email=f"{username}@gitlab-com.example.test",
            name=name,
            password=password,
            bot_type=bot_type,
            now=app_clock().now(),
        )
    return found


def seed_demo(app: Flask) -> DemoGitLabCom:
    """GitLab.com's administrator (with a token for this start) and the demo group."""
    with unit_of_work(app):
        now = app_clock(app).now()
        admin = find_by_username(DEMO_ADMIN_USERNAME) or create_user(
            username=DEMO_ADMIN_USERNAME,
            email="admin@gitlab-com.example.test",
            name="Administrator",
            password=DEMO_ADMIN_PASSWORD,
            admin=True,
            now=now,
        )
        token = create_token(admin, "provlab up", ["api"], now)
        owner = _user(DEMO_OWNER_USERNAME, "Olga Owner", DEMO_OWNER_PASSWORD)
        group = find_group(DEMO_GROUP)
        if group is None:
            group = create_group("Acme", DEMO_GROUP, now)
            add_member(group, owner, role_level("owner"), now)
            subgroup = create_group("Platform", "platform", now, parent=group)
            create_project(subgroup, "API", "api", now)
            for username, name, where, role, bot_type in DEMO_MEMBERS:
                user = _user(
                    username, name, None if bot_type else MEMBER_PASSWORD, bot_type=bot_type
                )
                source = find_group(where) or find_project(where)
                assert source is not None, where
                add_member(source, user, role_level(role), now)
        db.session.flush()
        return DemoGitLabCom(
            DemoAdmin(DEMO_ADMIN_USERNAME, DEMO_ADMIN_PASSWORD, token),
            DEMO_OWNER_USERNAME,
            DEMO_OWNER_PASSWORD,
            group.full_path,
            group.id,
        )
