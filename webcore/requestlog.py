"""Request logs: one line per request with a request id, and never a secret.

Only the path is logged (query strings can carry tokens). Every log record of the process is
redacted anyway (a record factory, see ``install_redacting_record_factory``), since secrets also
reach logs through exception messages, job errors and feature modules.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from typing import Any

from flask import Flask, Response, g, request
from flask_login import current_user

REQUEST_ID_HEADER = "X-Request-Id"
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")

_SECRET_PATTERNS = [
    re.compile(r"-----BEGIN [A-Z ]+-----.*?-----END [A-Z ]+-----", re.DOTALL),
    re.compile(r"\bglpat-[A-Za-z0-9_-]{10,}"),
    re.compile(r"\b[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{20,}\b"),  # JWS
    # An activation code: exactly 24 ASCII letters and digits, with at least one of each.
    re.compile(r"\b(?=[A-Za-z0-9]{0,23}[0-9])(?=[A-Za-z0-9]{0,23}[A-Za-z])[A-Za-z0-9]{24}\b"),
    # Before "authorization=...": in "Authorization: Bearer X" the secret is X, not "Bearer".
    re.compile(r"(?i)(bearer\s+)([A-Za-z0-9._~+/=-]+)"),
    re.compile(
        r"(?i)((?:password|passwd|secret|token|activation_code|code|authorization)"
        r"[\"']?\s*[:=]\s*[\"']?)([^\s\"'&,;]+)"
    ),
]


def redact(text: str) -> str:
    for pattern in _SECRET_PATTERNS:
        if pattern.groups >= 2:
            text = pattern.sub(lambda m: m.group(1) + "[REDACTED]", text)
        else:
            text = pattern.sub("[REDACTED]", text)
    return text


def redact_record(record: logging.LogRecord) -> None:
    """Redact a record's message and traceback in place."""
    message = record.getMessage()
    cleaned = redact(message)
    if cleaned != message:
        record.msg, record.args = cleaned, None
    if record.exc_info and record.exc_info[1] is not None:
        text = logging.Formatter().formatException(record.exc_info)
        record.exc_info, record.exc_text = None, redact(text)


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True


def install_redacting_record_factory() -> None:
    """Redact every log record when it is created, whichever logger it comes from.

    A filter on a logger sees only records logged to that very logger, not those of its children
    (``instance.sync``, ``webcore.jobs``) nor of libraries; a record factory sees them all, and
    runs only for records that pass the level check. Installing it twice is harmless.
    """
    previous = logging.getLogRecordFactory()
    if getattr(previous, "redacts_secrets", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            redact_record(record)
        except Exception:  # noqa: BLE001 - a bad format string must not break the log call
            pass  # logging reports the bad format itself when the record is emitted
        return record

    factory.redacts_secrets = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


def init_request_log(app: Flask) -> None:
    logger = logging.getLogger(f"provlab.{app.name}.requests")
    install_redacting_record_factory()
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
