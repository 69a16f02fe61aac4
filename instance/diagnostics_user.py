"""One user's part of the diagnostics bundle: what support needs to answer "why can't this user
use GitLab Duo?" (R1, R2, R29, R30) — the user's state, bot type, highest role, whether they are
billable under the current plan, and their seat. No secret: no email, no password, no token."""

from __future__ import annotations

from typing import Any

from instance.add_ons import assignment_for, duo_purchase
from instance.models import AccessLevel
from instance.users import INTERNAL_BOT_TYPES, current_plan, find_by_username, is_billable
from protocol.clock import format_utc


def user_diagnostics(username: str) -> dict[str, Any]:
    """The user named ``username`` as the seat rules see them; call inside an app context."""
    user = find_by_username(username)
    if user is None:
        return {"username": username.strip(), "found": False}
    plan = current_plan()
    purchase = duo_purchase()
    assignment = assignment_for(purchase, user) if purchase is not None else None
    used = user.code_suggestions_last_used_at
    return {
        "username": user.username,
        "found": True,
        "state": user.state,
        "bot_type": user.bot_type,
        "internal_bot": user.bot_type in INTERNAL_BOT_TYPES,
        "highest_role": AccessLevel.NAMES.get(user.highest_access_level, "No access"),
        "plan": plan.value if plan else None,
        "billable": is_billable(user, plan),
        "seat_assigned_at": format_utc(assignment.created_at) if assignment else None,
        "code_suggestions_last_used_at": format_utc(used) if used else None,
    }
