"""``GET /api/v4/license`` (administrators) as GitLab answers it, so python-gitlab's
``gl.get_license()`` works: the current license with its users and overage, or ``null``."""

from __future__ import annotations

from typing import Any

from flask.typing import ResponseReturnValue

from instance import users
from instance.api import api_admin, blueprint
from instance.billable_history import max_historical_users
from instance.licenses import current_license
from instance.models import License
from protocol.clock import format_utc
from webcore.clock import app_clock


def license_json(row: License) -> dict[str, Any]:
    today = app_clock().now().date()
    active_users = users.billable_user_count()
    historical_max = max_historical_users(row.starts_on)
    maximum = max(historical_max, active_users)
    return {
        "id": row.id,
        "plan": row.plan,
        "created_at": format_utc(row.created_at),
        "starts_at": row.starts_on.isoformat(),
        "expires_at": row.ends_on.isoformat(),
        "historical_max": historical_max,
        "maximum_user_count": maximum,
        "expired": row.ends_on <= today,
        # Overage: billable users beyond the licensed seats (GitLab's License#overage).
        "overage": max(maximum - row.seats, 0),
        "user_limit": row.seats,
        "active_users": active_users,
        "licensee": {
            "Name": row.licensee_name,
            "Email": row.licensee_email,
            "Company": row.licensee_company,
        },
        "add_ons": {},
    }


@blueprint.get("/license")
def get_license() -> ResponseReturnValue:
    api_admin()
    row = current_license()
    # No license: GitLab presents nil, a JSON null.
    return license_json(row) if row else ("null", 200, {"Content-Type": "application/json"})
