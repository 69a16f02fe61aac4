"""The one error a portal operation raises when a rule refuses what was asked."""

from __future__ import annotations


class Refused(Exception):
    """The request breaks a rule; ``message`` is what the user is shown, ``rule`` its ID."""

    def __init__(self, message: str, *, rule: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.rule = rule
