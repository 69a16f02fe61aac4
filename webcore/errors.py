"""The one family of refusals and the one handler that answers them, on both apps.

A refusal is what a rule or bad input says to a request: a ``code`` that programs tell apart
(never the message text), a ``message`` people read, the ``rule`` ID when a rule refused
(``"R5"``) and an HTTP status (422 unless the raise site knows better). A route never catches a
refusal to answer it: it lets it propagate, the transaction boundary (``webcore.transaction``)
rolls back everything the request did, and the handler below answers:

- APIs (``/api/``, ``/-/``, JSON requests): JSON with the code and message (``json_body``; the
  instance's GitLab-compatible ``/api/v4`` keeps GitLab's ``{"message": ...}``);
- pages: the message is flashed, then the page the route named re-renders (``refusal_renders``)
  or the browser goes back (``refusal_redirects``, else the local referrer, else the home page).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, flash, redirect, request
from flask.typing import ResponseReturnValue

Render = Callable[["Refusal"], ResponseReturnValue]


class Refusal(Exception):
    """What was asked breaks a rule or is malformed; nothing the request did is kept."""

    code = "refused"
    status = 422

    def __init__(
        self,
        message: Any,
        *,
        code: str | None = None,
        rule: str | None = None,
        status: int | None = None,
        redirect_to: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.rule = rule
        self.redirect_to = redirect_to
        # Set by ``refusal_renders``: the page to show again (after the rollback) instead of
        # redirecting.
        self.render: Render | None = None

    def json_body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.rule:
            body["rule"] = self.rule
        return body

    def flash_message(self) -> str:
        return str(self.message)


@contextmanager
def refusal_renders(render: Render) -> Iterator[None]:
    """A refusal inside the block re-renders a page (``render(refusal)`` → its response, status
    included), after the rollback and with the message flashed."""
    try:
        yield
    except Refusal as refusal:
        if refusal.render is None:
            refusal.render = render
        raise


@contextmanager
def refusal_redirects(target: str) -> Iterator[None]:
    """A refusal inside the block sends the browser to ``target`` (a local URL)."""
    try:
        yield
    except Refusal as refusal:
        if refusal.redirect_to is None:
            refusal.redirect_to = target
        raise


_BROWSER_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


def wants_json() -> bool:
    # GitLab serves pages under /-/ too (/-/user_settings/..., /-/trials/...): a browser's form
    # posted there wants a page back, the health and simulation endpoints JSON.
    browser_form = request.mimetype in _BROWSER_FORMS
    return (
        request.path.startswith("/api/")
        or (request.path.startswith("/-/") and not browser_form)
        or request.is_json
        or request.accept_mimetypes.best == "application/json"
    )


def init_error_handler(app: Flask) -> None:
    app.register_error_handler(Refusal, answer_refusal)


def answer_refusal(refusal: Refusal) -> ResponseReturnValue:
    if wants_json():
        return refusal.json_body(), refusal.status
    flash(refusal.flash_message(), "error")
    if refusal.render is not None:
        return refusal.render(refusal)
    return redirect(_local(refusal.redirect_to) or _local_referrer() or "/")


def _local_referrer() -> str | None:
    referrer = request.referrer
    if not referrer:
        return None
    parts = urlsplit(referrer)
    if parts.scheme not in ("http", "https") or parts.netloc != request.host:
        return None
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    if request.method == "GET" and target == request.full_path.rstrip("?"):
        return None  # back to the refused page itself would loop
    return _local(target)


def _local(target: str | None) -> str | None:
    # Only local paths, never "//host" or "/\\host" (browsers read both as another host).
    if (
        not target
        or not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or any(ord(char) < 0x21 or ord(char) == 0x7F for char in target)
    ):
        return None
    return target
