"""Security headers on every answer of both apps, and ``no-store`` on the views that show a secret.

- ``X-Content-Type-Options: nosniff`` on everything (pages, JSON, downloads): a browser never
  guesses a type the server did not send.
- Pages are never framed (``X-Frame-Options: DENY`` for old browsers, CSP ``frame-ancestors
  'none'`` for current ones): a framed *Purchase seats* button is a clickjacking target.
- ``Referrer-Policy: strict-origin-when-cross-origin``, the value GitLab's own web server sends:
  another site sees our origin, never a path such as ``/subscriptions/A-S00000001``.
- A view that shows a secret (an activation code, a license file, a token) is marked with
  ``@shows_secret`` and answers ``Cache-Control: no-store``, so neither the browser cache nor a
  proxy keeps a copy after sign-out. Marking is explicit: guessing from the body would miss one.

A header a view set itself is kept (``setdefault``), so a view can still choose otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, Response, request

REFERRER_POLICY = "strict-origin-when-cross-origin"
FRAME_POLICY = "frame-ancestors 'none'"

View = TypeVar("View", bound=Callable[..., Any])


def shows_secret(view: View) -> View:
    """Mark a view whose answer carries a secret: it is sent with ``Cache-Control: no-store``."""
    view.shows_secret = True  # type: ignore[attr-defined]
    return view


def _view_shows_secret(app: Flask) -> bool:
    view = app.view_functions.get(request.endpoint or "")
    return bool(getattr(view, "shows_secret", False))


def init_security_headers(app: Flask) -> None:
    @app.after_request
    def _security_headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", REFERRER_POLICY)
        if response.mimetype == "text/html":
            headers.setdefault("X-Frame-Options", "DENY")
            if "Content-Security-Policy" not in headers:
                headers["Content-Security-Policy"] = FRAME_POLICY
        if _view_shows_secret(app) and "Cache-Control" not in headers:
            headers["Cache-Control"] = "no-store"
            headers.setdefault("Pragma", "no-cache")  # HTTP/1.0 caches
        return response
