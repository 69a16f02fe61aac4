"""Real concurrent requests: several signed-in browsers post at the same moment."""

from __future__ import annotations

import threading
from typing import Any

import requests

# Long enough for a slow shared machine; a request that never answers fails the test, not the run.
JOIN_TIMEOUT = 120


def post_all_at_once(
    url: str,
    sessions: list[tuple[requests.Session, str]],
    forms: list[dict[str, str]],
    **options: Any,
) -> list[requests.Response]:
    """Each session (a browser and its CSRF token) posts its form to `url` at the same moment: a
    thread each, let go together. The responses in the order they came back; the sessions are
    closed after."""
    barrier = threading.Barrier(len(sessions))
    responses: list[requests.Response] = []

    def post(session: requests.Session, token: str, form: dict[str, str]) -> None:
        barrier.wait()
        responses.append(session.post(url, data={**form, "csrf_token": token}, **options))

    threads = [
        threading.Thread(target=post, args=(session, token, form))
        for (session, token), form in zip(sessions, forms, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=JOIN_TIMEOUT)
    for session, _ in sessions:
        session.close()
    return responses
