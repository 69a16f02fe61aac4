"""Fixtures shared by the webcore tests."""

from tests.webcore.test_auth_and_logs import signed_up  # noqa: F401  (a fixture, for test_sessions)
