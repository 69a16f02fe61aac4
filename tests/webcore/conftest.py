"""Fixtures shared by the webcore tests."""

from tests.webcore.sign_in_helpers import signed_up  # noqa: F401  (a fixture: test_sign_in, test_request_logs, test_sessions)
