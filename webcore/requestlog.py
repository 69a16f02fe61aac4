"""Request logs: one line per request with a request id, and never a secret.

Only the path is logged (query strings can carry tokens). A redacting filter guards every log
record of the app anyway, since secrets also reach logs through exception messages.
"""

from __future__ import annotations

import logging
import re
import secrets
import time

from flask import Flask, Response, g, request
from flask_login import current_user

REQUEST_ID_HEADER = "X-Request-Id"
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")

_SECRET_PATTERNS = [
    re.compile(r"-----BEGIN [A-Z ]+-----.*?-----END [A-Z ]+-----", re.S),
    re.compile(r"\bglpat-[A-Za-z0-9_-]{10,}"),
    re.compile(r"\b[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{20,}\b"),  # JWS
    re.compile(
        r"(?i)((?:password|passwd|secret|token|activation_code|code|authorization)"
        r"[\"']?\s*[:=]\s*[\"']?)([^\s\"'&,;]+)"
    ),
    re.compile(r"(?i)(bearer\s+)([A-Za-z0-9._~+/=-]+)"),
]


def redact(text: str) -> str:
    for pattern in _SECRET_PATTERNS:
        if pattern.groups >= 2:
            text = pattern.sub(lambda m: m.group(1) + "[REDACTED]", text)
        else:
            text = pattern.sub("[REDACTED]", text)
    return text


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None:
            text = logging.Formatter().formatException(record.exc_info)
            record.exc_info, record.exc_text = None, redact(text)
        return True


def init_request_log(app: Flask) -> None:
    logger = logging.getLogger(f"provlab.{app.name}.requests")
    redactor = RedactingFilter()
    for target in (logger, app.logger):
        if not any(isinstance(f, RedactingFilter) for f in target.filters):
            target.addFilter(redactor)

    @app.before_request
    def _start() -> None:
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        g.request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else secrets.token_hex(8)
        g.request_started = time.perf_counter()

    @app.after_request
    def _finish(response: Response) -> Response:
        request_id = g.get("request_id", "-")
        response.headers[REQUEST_ID_HEADER] = request_id
        elapsed_ms = (time.perf_counter() - g.get("request_started", time.perf_counter())) * 1000
        user = getattr(current_user, "id", None) if current_user else None
        logger.info(
            "request_id=%s method=%s path=%s status=%s duration_ms=%.1f user=%s",
            request_id,
            request.method,
            request.path,
            response.status_code,
            elapsed_ms,
            user if user is not None else "-",
        )
        return response
