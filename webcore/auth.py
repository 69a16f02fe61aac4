"""Sign-in: hashed passwords, sessions, roles; CSRF on every form.

Flask-Login keeps the session, Flask-WTF the CSRF tokens, Werkzeug hashes passwords (scrypt).
Each app supplies its user lookup; roles are plain strings the app defines.

Sessions end on the server: Flask's session is a signed cookie, so a copy of it would work until
it expires. Each user has a ``session_generation`` that the Flask-Login id carries
(``"<id>:<generation>"``); the user loader refuses a session of any other generation, so raising
it (``end_sessions``: on sign-out, a password change, a block) ends every session of that user,
copies included. A remember-me cookie carries the same id, so it is refused the same way (the
apps never set one). A user who is no longer active (blocked, banned, deactivated) is refused too.
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    has_app_context,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFProtect
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.security import check_password_hash, generate_password_hash
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired

from webcore.errors import Refusal
from webcore.lockout import LOCKED_MESSAGE, Lockouts, subject_for

F = TypeVar("F", bound=Callable[..., Any])

csrf = CSRFProtect()


MIN_PASSWORD_LENGTH = 8
PASSWORD_TOO_SHORT = "password_too_short"


def check_password(password: str) -> None:
    """The password rule: at least 8 characters (GitLab's default minimum password length).

    The one check of it for both apps: every way an account gets a password (the instance's
    ``create_user``, ``change_password``; the portal's ``create_account``) calls this.
    Refuses with the code ``password_too_short`` and GitLab's wording.
    """
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise Refusal(
            f"Password is too short (minimum is {MIN_PASSWORD_LENGTH} characters)",
            code=PASSWORD_TOO_SHORT,
        )


def hash_password(password: str) -> str:
    """Hash with the app's PASSWORD_HASH_METHOD (Werkzeug's scrypt by default)."""
    method = "scrypt"
    if has_app_context():
        method = current_app.config.get("PASSWORD_HASH_METHOD") or method
    return generate_password_hash(password, method=method)


def password_matches(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; an account without a password (a bot) matches nothing."""
    if not password_hash:
        return False
    return check_password_hash(password_hash, password)


def _unknown_login_hash() -> str:
    """A hash to check against when the login is unknown, made once per app (its method)."""
    cached: str | None = current_app.extensions.get("auth.unknown_login_hash")
    if cached is None:
        cached = hash_password(secrets.token_hex(16))
        current_app.extensions["auth.unknown_login_hash"] = cached
    return cached


INVALID_LOGIN_MESSAGE = "Invalid login or password."

# Ids and generations in a session are checked before they reach the database (int64 columns).
_MAX_ID = 2**63 - 1


class SessionUserMixin(UserMixin):
    """A user who signs in; ``get_id`` names the session generation (see the module's doc)."""

    session_generation: Mapped[int] = mapped_column(default=0, server_default=sa.text("0"))

    def get_id(self) -> str:
        return f"{self.id}:{self.session_generation or 0}"


def end_sessions(user: Any) -> None:
    """End every session of ``user`` (each browser signs in again); the caller commits."""
    user.session_generation = (user.session_generation or 0) + 1


def change_password(user: Any, password: str) -> None:
    """A new password ends the user's sessions, as GitLab's does (no sign-in after a change)."""
    check_password(password)
    user.password_hash = hash_password(password)
    end_sessions(user)


class SignInForm(FlaskForm):
    login = StringField("Username or email", validators=[DataRequired()])
    password = PasswordField("Password", validators=[DataRequired()])

    class Meta(FlaskForm.Meta):
        def wrap_formdata(self, form: Any, formdata: Any) -> Any:
            # Flask-WTF reads a JSON body as the form, where a login can be a number or a list
            # (a 500 on .strip()). Signing in is a browser form: a JSON body carries nothing.
            if request.is_json:
                return None
            return super().wrap_formdata(form, formdata)


def _number(text: str) -> int | None:
    if not (text.isascii() and text.isdigit()) or len(text) > 19:
        return None
    value = int(text)
    return value if value <= _MAX_ID else None


def _session_loader(load_user: Callable[[str], Any | None]) -> Callable[[str], Any | None]:
    def load(session_id: str) -> Any | None:
        user_id, _, generation_text = session_id.partition(":")
        number, generation = _number(user_id), _number(generation_text)
        if number is None or generation is None:
            return None  # no generation (an old-style or forged id): sign in again
        user = load_user(str(number))
        if user is None or (user.session_generation or 0) != generation or not user.is_active:
            return None
        return user

    return load


def init_auth(app: Flask, load_user: Callable[[str], Any | None], lockout_model: type[Any]) -> None:
    """``load_user`` finds a user by database id; ``lockout_model`` maps the app's
    ``sign_in_lockouts`` table (webcore.lockout.SignInLockoutMixin)."""
    manager = LoginManager()
    manager.login_view = "auth.sign_in"
    manager.login_message = "Please sign in to continue."
    manager.user_loader(_session_loader(load_user))
    manager.init_app(app)
    csrf.init_app(app)
    app.extensions["auth.lockouts"] = Lockouts(lockout_model)


def authenticate(
    find_user: Callable[[str], Any | None],
    login: str,
    password: str,
    *,
    may_sign_in: Callable[[Any], bool] = lambda user: True,
    refused_message: str = INVALID_LOGIN_MESSAGE,
) -> tuple[Any | None, str]:
    """The user to sign in, or None and the message to show; the caller commits either way
    (the failure count must stay).

    Every attempt costs one password check, known login or not, locked or not: a faster answer
    would tell who has an account. Failed attempts count towards the lockout (webcore.lockout);
    the right password of a user who may not sign in here (blocked, or not support staff on the
    support console) is refused without counting, as Devise does for inactive accounts.
    """
    login = login.strip()
    user = find_user(login)
    stored = getattr(user, "password_hash", None) or _unknown_login_hash()
    # A user without a password (a bot) gets the dummy check too, and matches nothing.
    matches = password_matches(stored, password) and bool(getattr(user, "password_hash", None))
    lockouts = Lockouts.of_app()
    subject = subject_for(user, login)
    if lockouts.is_locked(subject):
        lockouts.record_failure(subject)  # Devise counts attempts made while locked too
        return None, LOCKED_MESSAGE
    if matches and user is not None and user.is_active and may_sign_in(user):
        lockouts.reset(subject)
        return user, ""
    if matches:
        return None, refused_message
    if lockouts.record_failure(subject):
        return None, LOCKED_MESSAGE
    return None, refused_message


def roles_required(*roles: str) -> Callable[[F], F]:
    """Anonymous users are sent to sign in; signed-in users without the role get 403."""

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return redirect(url_for("auth.sign_in", next=request.full_path))
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorate


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a local path to send a browser to after a step, else None."""
    # Only local paths: an open redirect after sign-in is a phishing aid. Browsers read a
    # backslash as a slash and drop tabs and newlines, so "/\\evil.example" and "/\t/evil.example"
    # both mean "//evil.example": refuse them too.
    if (
        not target
        or "\\" in target
        or any(ord(char) < 0x21 or ord(char) == 0x7F for char in target)
    ):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def make_auth_blueprint(
    find_user: Callable[[str], Any | None], home_endpoint: Callable[[Any], str]
) -> Blueprint:
    """Sign-in and sign-out pages; ``find_user`` looks a user up by username or email."""
    blueprint = Blueprint("auth", __name__)

    @blueprint.route("/users/sign_in", methods=["GET", "POST"])
    def sign_in() -> ResponseReturnValue:
        form = SignInForm()
        if form.validate_on_submit():
            user, message = authenticate(find_user, form.login.data, form.password.data)
            if user is not None:
                login_user(user)
                return redirect(safe_next(request.args.get("next")) or url_for(home_endpoint(user)))
            # The failed attempt counts towards the lockout: the view answers normally (401),
            # so the request boundary commits it.
            flash(message, "error")
            return render_template("sign_in.html", form=form), 401
        return render_template("sign_in.html", form=form)

    @blueprint.post("/users/sign_out")
    def sign_out() -> ResponseReturnValue:
        # Ends the session on the server too: a copy of this cookie no longer signs anyone in.
        if current_user.is_authenticated:
            end_sessions(current_user._get_current_object())
        logout_user()
        return redirect(url_for("auth.sign_in"))

    return blueprint
