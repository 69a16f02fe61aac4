"""No request can forge a log line: paths, headers and messages are escaped onto one line."""

from __future__ import annotations

import io
import logging
from typing import Any

import pytest
from flask import Flask

from webcore.requestlog import escape_controls, install_redacting_record_factory, log_quoted

FORGED = "request_id=0000000000000000 method=GET path=/admin status=200 duration_ms=0.1 user=1"


def _app(name: str, make_portal: Any, make_instance: Any) -> Flask:
    return make_portal() if name == "portal" else make_instance()


@pytest.fixture
def log_stream() -> Any:
    """What a server's log file receives: the formatted lines of every logger."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield stream
    root.removeHandler(handler)
    root.setLevel(previous)


@pytest.mark.parametrize("app_name", ["portal", "instance"])
def test_a_path_with_crlf_and_a_header_with_an_escape_cannot_forge_a_request_log_line(
    app_name: str, make_portal: Any, make_instance: Any, log_stream: io.StringIO
) -> None:
    app = _app(app_name, make_portal, make_instance)
    client = app.test_client()
    client.get(f"/users/sign_in%0d%0a{FORGED.replace(' ', '%20')}")
    client.get(f"/no/such%0a{FORGED.replace(' ', '%20')}")
    client.get(  # raw header values, as a hand-written request can send them
        "/-/health",
        environ_overrides={
            "HTTP_USER_AGENT": f'evil\x1b[2J\x1b[1;31m"\r\n{FORGED}',
            "HTTP_X_REQUEST_ID": "abc\r\nx",
        },
    )
    lines = log_stream.getvalue().splitlines()
    request_lines = [line for line in lines if line.startswith(f"provlab.{app.name}.requests: ")]
    assert len(request_lines) == 3, lines
    for line in lines:
        assert not line.startswith(("request_id=", "method=", "path=")), line  # nothing forged
        assert "\x1b" not in line and "\r" not in line
    first, second, third = request_lines
    assert "path=/users/sign_in%0D%0Arequest_id=0000000000000000%20method=GET" in first
    assert "status=404" in second and "path=/no/such%0Arequest_id" in second
    assert " status=200 " in third
    assert third.endswith('user_agent="evil\\x1b[2J\\x1b[1;31m\\"\\x0d\\x0a' + FORGED + '"'), third
    assert "abc" not in third  # an unsafe X-Request-Id is replaced, not logged


def test_every_logger_keeps_a_message_on_one_line(log_stream: io.StringIO) -> None:
    install_redacting_record_factory()
    logging.getLogger("portal.sync_api").info("refused %s: %s", f"/api/v1/x\n{FORGED}", "bad")
    logging.getLogger("instance.sync").warning("portal said \u2028%s\x00", "spoof")
    try:
        raise ValueError("bad\x1b[31m input")
    except ValueError:
        logging.getLogger("webcore.jobs").exception("job failed\r\n%s", FORGED)
    text = log_stream.getvalue()
    assert f"portal.sync_api: refused /api/v1/x\\x0a{FORGED}: bad\n" in text
    assert "instance.sync: portal said \\u2028spoof\\x00\n" in text
    assert f"webcore.jobs: job failed\\x0d\\x0a{FORGED}\n" in text
    assert "ValueError: bad\\x1b[31m input" in text  # the traceback's own lines stay lines
    assert "\x1b" not in text and "\r" not in text and "\u2028" not in text


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("plain text, with spaces", "plain text, with spaces"),
        ("a\r\nb", "a\\x0d\\x0ab"),
        ("tab\there", "tab\\x09here"),
        ("del\x7f c1\x85 nel", "del\\x7f c1\\x85 nel"),
        ("para\u2029graph", "para\\u2029graph"),
        ("ünïcødé ok", "ünïcødé ok"),
    ],
)
def test_escape_controls(raw: str, escaped: str) -> None:
    assert escape_controls(raw) == escaped


def test_a_quoted_field_cannot_close_its_quotes() -> None:
    assert log_quoted('a" status=500 b="\\') == '"a\\" status=500 b=\\"\\\\"'
