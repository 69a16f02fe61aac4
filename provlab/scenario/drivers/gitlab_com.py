"""GitLab.com as a scenario drives it: its transaction, clock, users, groups and projects.

The party is built on first use (``World.gitlab_com``): scenarios without GitLab.com steps run
two parties as before. People on GitLab.com are its users; a step naming one for the first time
makes them (people sign up on GitLab.com themselves).
"""

from __future__ import annotations

from typing import Any

import requests

from instance.gitlab_com.groups import create_group, create_project, find_group, find_project
from instance.models import User
from instance.namespace_models import Namespace, Project
from instance.users import create_user, find_by_username
from provlab.scenario.drivers.pages import csrf_token
from provlab.scenario.drivers.party import PartyDriver
from provlab.scenario.vocabulary import NotInSetup, in_setup
from webcore.transport import in_process_session

PASSWORD = "scenario-gitlab-com-password"


class GitLabComDriver(PartyDriver):
    party = "gitlab_com"

    def __init__(self, world: Any) -> None:
        super().__init__(world)
        self._browsers: dict[str, requests.Session] = {}

    def browser_of(self, username: str) -> requests.Session:
        """``username``'s own browser, signed in through the sign-in form on first use."""
        if username not in self._browsers:
            if self.world.transport == "inprocess":
                session = in_process_session(self.app, self.url)
            else:
                session = requests.Session()
                session.trust_env = False
            page = session.get(f"{self.url}/users/sign_in").text
            response = session.post(
                f"{self.url}/users/sign_in",
                data={"login": username, "password": PASSWORD, "csrf_token": csrf_token(page)},
                allow_redirects=False,
            )
            if response.status_code != 302:
                raise RuntimeError(f"{username} could not sign in to GitLab.com")
            self._browsers[username] = session
        return self._browsers[username]

    # -- inside a transaction or reading() ------------------------------------------------------

    def user(self, username: str, **fields: Any) -> User:
        """The GitLab.com user, signed up on first mention (``fields``: state, bot_type)."""
        found = find_by_username(str(username))
        if found is None:
            bot = fields.get("bot_type")
            found = create_user(
                username=str(username),
                email=f"{username}@gitlab-com.scenario.test",
                name=str(username).replace("-", " ").replace("_", " ").title(),
                now=self.now(),
                password=None if bot else PASSWORD,
                **fields,
            )
        return found

    def session_scalars(self, query: Any) -> list[Any]:
        return list(self.app.extensions["sqlalchemy"].session.execute(query).scalars())

    def known_user(self, username: str) -> User:
        return in_setup(
            find_by_username(str(username)),
            f"no GitLab.com user {username!r}: add them to a group first",
        )

    def group(self, full_path: str) -> Namespace:
        return in_setup(
            find_group(str(full_path)), f"no GitLab.com group {full_path!r}: create_group it first"
        )

    def group_or_project(self, full_path: str) -> Namespace | Project:
        found: Namespace | Project | None = find_group(str(full_path)) or find_project(
            str(full_path)
        )
        if found is None:
            raise NotInSetup(f"no GitLab.com group or project {full_path!r}")
        return found

    def create_group(self, full_path: str, projects: list[str]) -> Namespace:
        """A group at ``full_path`` (a subgroup when it has a slash) with its projects."""
        parent_path, _, path = str(full_path).rpartition("/")
        parent = self.group(parent_path) if parent_path else None
        group = create_group(path.replace("-", " ").title(), path, self.now(), parent=parent)
        for project in projects:
            create_project(group, str(project).title(), str(project), self.now())
        return group
