"""The instance as a scenario drives it: its transaction, clock, users, and the administrator's
signed-in browser session for the admin pages."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import requests

from instance.models import User
from instance.users import find_by_username
from provlab.scenario.drivers.pages import csrf_token
from provlab.scenario.drivers.party import PartyDriver
from provlab.scenario.vocabulary import in_setup

if TYPE_CHECKING:
    from provlab.scenario.world import World

ADMIN_USERNAME = "root"
ADMIN_PASSWORD = "scenario-admin-password"
SUBSCRIPTION_PAGE = "/admin/subscription"


class InstanceDriver(PartyDriver):
    party = "instance"

    def __init__(self, world: World) -> None:
        super().__init__(world)
        self._admin: requests.Session | None = None

    def user(self, username: str) -> User:
        """Inside a transaction or reading(): the user setup made."""
        return in_setup(
            find_by_username(str(username)), f"no user {username!r} in setup.instance.users"
        )

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
