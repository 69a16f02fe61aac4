"""Sign-in: hashed passwords, sessions, roles; CSRF on every form.

Flask-Login keeps the session, Flask-WTF the CSRF tokens, Werkzeug hashes passwords (scrypt).
Each app supplies its user lookup; roles are plain strings the app defines.
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

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
from flask_login import LoginManager, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFProtect
from werkzeug.security import check_password_hash, generate_password_hash
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired

F = TypeVar("F", bound=Callable[..., Any])

csrf = CSRFProtect()


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


def init_auth(app: Flask, load_user: Callable[[str], Any | None]) -> None:
    manager = LoginManager()
    manager.login_view = "auth.sign_in"
    manager.login_message = "Please sign in to continue."
    manager.user_loader(load_user)
    manager.init_app(app)
    csrf.init_app(app)


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


def _safe_next(target: str | None) -> str | None:
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
            user = find_user(form.login.data.strip())
            # An unknown login costs a password check too: a faster answer would tell who has
            # an account.
            stored = user.password_hash if user is not None else _unknown_login_hash()
            if password_matches(stored, form.password.data) and user is not None and user.is_active:
                login_user(user)
                return redirect(
                    _safe_next(request.args.get("next")) or url_for(home_endpoint(user))
                )
            flash("Invalid login or password.", "error")
            return render_template("sign_in.html", form=form), 401
        return render_template("sign_in.html", form=form)

    @blueprint.post("/users/sign_out")
    def sign_out() -> ResponseReturnValue:
        logout_user()
        return redirect(url_for("auth.sign_in"))

    return blueprint
