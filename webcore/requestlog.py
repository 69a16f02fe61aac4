"""Request logs: one line per request with a request id, and never a secret.

Only the path is logged (query strings can carry tokens). Every log record of the process is
redacted anyway (a record factory, see ``install_redacting_record_factory``), since secrets also
reach logs through exception messages, job errors and feature modules.

No request can forge a log line: the factory escapes CR, LF and every other control character in
each message (a path of ``/x%0d%0arequest_id=...`` or a User-Agent carrying a terminal escape
stays on its own line, visibly escaped), and the request line writes the path percent-encoded and
the User-Agent quoted, so neither can fake a ``status=`` field either.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from typing import Any
from urllib.parse import quote

from flask import Flask, Response, g, request
from flask_login import current_user

REQUEST_ID_HEADER = "X-Request-Id"
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")

_SECRET_PATTERNS = [
    re.compile(r"-----BEGIN [A-Z ]+-----.*?-----END [A-Z ]+-----", re.DOTALL),
    re.compile(r"\bglpat-[A-Za-z0-9_-]{10,}"),
    re.compile(r"\b[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{20,}\b"),  # JWS
    # An activation code: exactly 24 ASCII letters and digits, with at least one of each, standing
    # alone: not 24 characters inside a longer base64url word such as a key id (``-`` and ``_``
    # are word characters there, though ``\b`` thinks otherwise).
    re.compile(
        r"(?<![A-Za-z0-9_-])(?=[A-Za-z0-9]{0,23}[0-9])(?=[A-Za-z0-9]{0,23}[A-Za-z])"
        r"[A-Za-z0-9]{24}(?![A-Za-z0-9_-])"
    ),
    # Before "authorization=...": in "Authorization: Bearer X" the secret is X, not "Bearer".
    re.compile(r"(?i)(bearer\s+)([A-Za-z0-9._~+/=-]+)"),
    re.compile(
        r"(?i)((?:password|passwd|secret|token|activation_code|code|authorization)"
        r"[\"']?\s*[:=]\s*[\"']?)([^\s\"'&,;]+)"
    ),
]


# C0 and C1 controls, DEL, and the Unicode line and paragraph separators some viewers break on.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_TRACEBACK_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029]")
# A path as a URL carries it: what is safe in a path stays readable, the rest is %XX.
_PATH_SAFE = "/:@!$&'()*+,;=-._~"


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_controls(text: str) -> str:
    """``text`` on one line: every control character written as ``\\xNN`` (``\\u2028``...)."""
    return _CONTROL.sub(_escaped, text)


def log_path(path: str) -> str:
    """A request path as it is logged: percent-encoded, so it has no space or control in it."""
    return quote(path, safe=_PATH_SAFE)


def log_quoted(value: str) -> str:
    """A free-text field (a User-Agent) as one quoted token of the log line."""
    return '"' + escape_controls(value.replace("\\", "\\\\").replace('"', '\\"')) + '"'


def redact(text: str) -> str:
    for pattern in _SECRET_PATTERNS:
        if pattern.groups >= 2:
            text = pattern.sub(lambda m: m.group(1) + "[REDACTED]", text)
        else:
            text = pattern.sub("[REDACTED]", text)
    return text


def redact_record(record: logging.LogRecord) -> None:
    """Redact a record's message and traceback in place, and keep the message on one line."""
    message = record.getMessage()
    cleaned = escape_controls(redact(message))
    if cleaned != message:
        record.msg, record.args = cleaned, None
    if record.exc_info and record.exc_info[1] is not None:
        text = logging.Formatter().formatException(record.exc_info)
        # A traceback spans lines by nature; every other control character is escaped.
        text = _TRACEBACK_CONTROL.sub(_escaped, redact(text))
        record.exc_info, record.exc_text = None, text


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


def _signed_in_id() -> Any:
    """The id of the user the request is signed in as, or None.

    A request that carries no cookie (an API call: a sync, a token-authenticated request) has
    neither a session nor a remember-me cookie, so nobody is signed in, unless the view signed
    someone in itself; Flask-Login is not asked to load a user for it, which would open a
    session and look for the remember-me cookie on every API request.
    """
    if not request.cookies and "_login_user" not in g:
        return None
    return getattr(current_user, "id", None) if current_user else None


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
        user = _signed_in_id()
        logger.info(
            "request_id=%s method=%s path=%s status=%s duration_ms=%.1f user=%s user_agent=%s",
            request_id,
            log_path(request.method),
            log_path(request.path),
            response.status_code,
            elapsed_ms,
            user if user is not None else "-",
            log_quoted(request.headers.get("User-Agent", "")),
        )
        return response
