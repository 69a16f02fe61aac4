"""Instance pages that are not part of a feature: the home page."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from instance.models import User, db

blueprint = Blueprint("home", __name__)


def find_user(login: str) -> User | None:
    lowered = login.lower()
    return db.find(
        User,
        sa.or_(sa.func.lower(User.username) == lowered, sa.func.lower(User.email) == lowered),
    )


def record_sign_in(sender: object, user: User, **_: object) -> None:
    """Flask-Login's ``user_logged_in`` signal: keep *Last sign-in* for Admin → Users. Written in
    the sign-in request's one transaction, committed with it (``webcore.transaction``)."""
    from webcore.clock import app_clock

    user.last_sign_in_at = app_clock().now()


def home_endpoint(user: User) -> str:
    return "home.index"


@blueprint.get("/")
def root() -> ResponseReturnValue:
    if not current_user.is_authenticated:
        return redirect(url_for("auth.sign_in"))
    return redirect(url_for("home.index"))


@blueprint.get("/dashboard")
@login_required
def index() -> ResponseReturnValue:
    from flask import current_app

    from instance.add_ons import user_has_duo_access
    from instance.gitlab_com import is_gitlab_com
    from instance.gitlab_com.duo import user_has_group_duo_access
    from webcore.clock import app_clock

    now = app_clock().now()
    if is_gitlab_com():  # a seat in any top-level group (R1 on GitLab.com)
        duo_access = user_has_group_duo_access(current_user, now)
    else:
        duo_access = user_has_duo_access(current_user, now, current_app.config["GITLAB_VERSION"])
    return render_template("home.html", user=current_user, duo_access=duo_access)
