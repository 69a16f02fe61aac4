"""Fixtures of the instance's browser tests: an instance wired to the tests' fake portal."""

from tests.instance.conftest import fake_portal, make_wired_instance

__all__ = ["fake_portal", "make_wired_instance"]
