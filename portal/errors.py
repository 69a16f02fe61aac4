"""The one error a portal operation raises when a rule refuses what was asked."""

from __future__ import annotations

from webcore.errors import Refusal


class Refused(Refusal):
    """The request breaks a rule; ``message`` is what the user is shown, ``rule`` its ID, ``code``
    what programs tell refusals apart by. Raised, never caught to answer: the request's one
    transaction rolls back and the web or CLI boundary answers (``webcore.errors``)."""
