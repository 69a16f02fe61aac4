"""Outbound HTTP without sockets: a requests adapter that calls a WSGI app in the same process.

The instance talks to the portal through a ``requests.Session``. In production that session uses
the network (and honours HTTP proxy settings from the environment); in fast tests and in-process
scenarios it mounts this adapter instead, so the same client code runs against the portal app
with no server. Faults are injected in one place: the session's adapter.
"""

from __future__ import annotations

import http.client
import io
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from werkzeug.datastructures import Headers
from werkzeug.test import EnvironBuilder, run_wsgi_app

WSGIApp = Callable[..., Any]


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
