"""Watching the sign-in's password checks: counted, never timed (a timing test would be flaky)."""

from __future__ import annotations

import pytest

import webcore.auth


def count_password_checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """From now on, every password the sign-in checks against a hash, in order."""
    checks: list[str] = []
    real = webcore.auth.password_matches

    def counting(password_hash: str | None, given: str) -> bool:
        checks.append(given)
        return real(password_hash, given)

    monkeypatch.setattr(webcore.auth, "password_matches", counting)
    return checks
