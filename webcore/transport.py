"""Outbound HTTP: the count of an app's calls to other parties, and sessions without sockets.

An app calls another party (the instance's sync and GitLab.com's trials call the portal, the portal
pushes to GitLab.com) only through a ``requests.Session`` handed out by a session factory
(``instance.portal_client.portal_session``, ``portal.gitlab_com.client.gitlab_com_session``),
right before sending; ``tests/test_outbound_http.py`` keeps every other module from sending HTTP
another way. The factory counts each call here (``note_call_out``), so time travel can tell a job
run that called another party, and may have changed its jobs, from one that called nobody
(``webcore.simulation``). A failed call counts too: it may have reached the other party.

In production that session uses the network (and honours HTTP proxy settings from the
environment); in fast tests and in-process scenarios it mounts the adapter below instead, so the
same client code runs against the other app with no server. Faults are injected in one place:
the session's adapter.
"""

from __future__ import annotations

import http.client
import io
import threading
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
from flask import Flask
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from werkzeug.datastructures import Headers
from werkzeug.test import EnvironBuilder, run_wsgi_app

WSGIApp = Callable[..., Any]

CALLS_OUT = "webcore.calls_out"


class _CallsOut:
    """An app's count of calls to other parties; a served app's threads share it."""

    def __init__(self) -> None:
        self.begun = 0
        self._lock = threading.Lock()

    def note(self) -> None:
        with self._lock:
            self.begun += 1


def note_call_out(app: Flask) -> None:
    """Count a call from ``app`` to another party, about to be sent (session factories only)."""
    counter: _CallsOut = app.extensions.setdefault(CALLS_OUT, _CallsOut())  # atomic: one wins
    counter.note()


def calls_out(app: Flask) -> int:
    """How many calls to other parties ``app`` has begun since it was created."""
    counter: _CallsOut | None = app.extensions.get(CALLS_OUT)
    return 0 if counter is None else counter.begun


class WSGIAdapter(BaseAdapter):
    """Serves ``requests`` calls from a WSGI application (e.g. the portal Flask app)."""

    def __init__(self, app: WSGIApp) -> None:
        super().__init__()
        self.app = app

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        parts = urlsplit(request.url or "")
        body = request.body
        # requests types a body as anything readable; a prepared body is bytes, str or None.
        data: Any = body.encode() if isinstance(body, str) else (body or b"")
        builder = EnvironBuilder(
            path=parts.path or "/",
            base_url=f"{parts.scheme}://{parts.netloc}",
            query_string=parts.query,
            method=request.method or "GET",
            headers=Headers(dict(request.headers)),
            data=data,
        )
        try:
            environ = builder.get_environ()
        finally:
            builder.close()
        app_iter, status, wsgi_headers = run_wsgi_app(self.app, environ, buffered=True)
        headers = list(wsgi_headers.items())
        content = b"".join(app_iter)

        response = requests.Response()
        response.status_code = int(status.split(" ", 1)[0])
        response.reason = status.split(" ", 1)[1] if " " in status else ""
        response.headers = _merge_headers(headers)
        response.raw = _Raw(content, headers)
        response._content = content
        response.url = request.url or ""
        response.request = request
        response.encoding = requests.utils.get_encoding_from_headers(response.headers)
        return response

    def close(self) -> None:
        pass


def _merge_headers(headers: Any) -> CaseInsensitiveDict[str]:
    """Repeated headers joined with ", ", as urllib3 does for a real response (a plain dict
    would keep only the last ``Link`` or ``Set-Cookie``)."""
    merged: CaseInsensitiveDict[str] = CaseInsensitiveDict()
    for name, value in headers:
        merged[name] = f"{merged[name]}, {value}" if name in merged else value
    return merged


class _OriginalResponse:
    """What ``requests`` reads cookies from: ``raw._original_response.msg`` (all Set-Cookie)."""

    def __init__(self, headers: list[tuple[str, str]]) -> None:
        self.msg = http.client.HTTPMessage()
        for name, value in headers:
            self.msg[name] = value


class _Raw(io.BytesIO):
    def __init__(self, content: bytes, headers: list[tuple[str, str]]) -> None:
        super().__init__(content)
        self._original_response = _OriginalResponse(headers)


def in_process_session(app: WSGIApp, base_url: str) -> requests.Session:
    """A session whose calls to ``base_url`` are served by ``app`` in this process."""
    session = requests.Session()
    session.trust_env = False
    session.mount(base_url, WSGIAdapter(app))
    return session
