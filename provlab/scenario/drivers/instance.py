"""The instance as a scenario drives it: its transaction, clock, users, and the administrator's
signed-in browser session for the admin pages."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Any

import requests
from flask import Flask
from sqlalchemy.orm import Session

from instance.models import User
from instance.users import find_by_username
from provlab.scenario.drivers.pages import csrf_token
from provlab.scenario.vocabulary import NotInSetup
from webcore.clock import app_clock
from webcore.transaction import unit_of_work

if TYPE_CHECKING:
    from provlab.scenario.world import World

ADMIN_USERNAME = "root"
ADMIN_PASSWORD = "scenario-admin-password"
SUBSCRIPTION_PAGE = "/admin/subscription"


class InstanceDriver:
    def __init__(self, world: World) -> None:
        self.world = world
        self._admin: requests.Session | None = None

    @property
    def app(self) -> Flask:
        return self.world.instance

    @property
    def url(self) -> str:
        return self.world.instance_url

    def browser(self) -> requests.Session:
        """A user's session to the instance (the administrator signs in on this one too)."""
        return self.world.client("instance")

    def now(self) -> dt.datetime:
        return app_clock(self.app).now()

    def transaction(self) -> AbstractContextManager[Session]:
        """One unit of work: committed when the block ends, rolled back if it raises."""
        return unit_of_work(self.app)

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """Look at the instance's state without changing it."""
        with self.app.app_context():
            yield self.app.extensions["sqlalchemy"].session

    def user(self, username: str) -> User:
        """Inside a transaction or reading(): the user setup made."""
        found = find_by_username(str(username))
        if found is None:
            raise NotInSetup(f"no user {username!r} in setup.instance.users")
        return found

    # -- the administrator's browser --------------------------------------------------------------

    def admin(self) -> requests.Session:
        """The administrator's session, signed in through the sign-in form on first use."""
        if self._admin is None:
            session = self.browser()
            page = session.get(f"{self.url}/users/sign_in").text
            response = session.post(
                f"{self.url}/users/sign_in",
                data={
                    "login": ADMIN_USERNAME,
                    "password": ADMIN_PASSWORD,
                    "csrf_token": csrf_token(page),
                },
                allow_redirects=False,
            )
            if response.status_code != 302:
                raise RuntimeError(
                    f"the scenario's administrator could not sign in ({response.status_code})"
                )
            self._admin = session
        return self._admin

    def admin_page(self, path: str = SUBSCRIPTION_PAGE) -> str:
        return self.admin().get(f"{self.url}{path}").text

    def admin_post(self, path: str, **kwargs: Any) -> requests.Response:
        """Post as the administrator from Admin → Subscription: a form (``data=``) carries the
        page's CSRF token as a field, a button's XHR (no ``data``) as the X-CSRFToken header."""
        token = csrf_token(self.admin_page())
        if "data" in kwargs:
            kwargs["data"] = {**kwargs["data"], "csrf_token": token}
        else:
            kwargs["headers"] = {**kwargs.get("headers", {}), "X-CSRFToken": token}
        return self.admin().post(f"{self.url}{path}", **kwargs)

    def activate(self, activation_code: str) -> requests.Response:
        """The admin pastes an activation code into Admin → Subscription (R8)."""
        response = self.admin_post(
            f"{SUBSCRIPTION_PAGE}/activate",
            data={"activation_code": activation_code, "terms": "accepted"},
        )
        self.world.last_admin_page = response.text
        return response

    def upload_license(self, text: str) -> requests.Response:
        """The admin uploads a license file on Admin → Subscription."""
        response = self.admin_post(
            f"{SUBSCRIPTION_PAGE}/upload",
            data={},
            files={"license_file": ("license.gitlab-license", text.encode())},
        )
        self.world.last_admin_page = response.text
        return response
