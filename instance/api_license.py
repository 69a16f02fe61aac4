"""GitLab's License API (``ee/lib/api/license.rb``), administrators only, so python-gitlab's
``gl.get_license()`` and ``gl.set_license(text)`` work, and ``/licenses`` and ``/license/:id``
answer as GitLab does:

- ``GET /license``: the current license (``GitlabLicenseWithActiveUsers``), or ``null``.
- ``POST /license`` (``license``: a license file's text): 201 and the license, or 400
  ``{"message": ...}`` with GitLab's reason; the rules of the Admin -> Subscription upload hold
  (R9: an online cloud license is activated, never uploaded) and a refused one changes nothing.
- ``GET /licenses``: every license, newest first (``GitlabLicense``: no ``active_users``).
- ``GET /license/:id``; ``DELETE /license/:id``: 204, GitLab falling back on the previous
  license when the current one goes (``instance.license_changes``); 404 for an unknown id.
"""

from __future__ import annotations

from typing import Any

from flask import request
from flask.typing import ResponseReturnValue

from instance import users
from instance.api import ApiError, api_admin, blueprint
from instance.api_params import int_param
from instance.billable_history import max_historical_users
from instance.license_changes import add_license_file, remove_license
from instance.licenses import (
    EXPIRED,
    INVALID_FILE,
    MAX_LICENSE_FILE_BYTES,
    ONLINE_FILE,
    LicenseError,
    current_license,
    license_by_id,
    license_history,
)
from instance.models import License
from protocol.clock import format_utc
from webcore.clock import app_clock

# GitLab's License model validation messages (``License#valid_license``, ``#not_expired``) and
# its admin upload's answer to an online cloud license (Admin::LicensesController).
INVALID_LICENSE_KEY = (
    "The license key is invalid. Make sure it is exactly as you received it from GitLab Inc."
)
GITLAB_REFUSALS = {
    INVALID_FILE: INVALID_LICENSE_KEY,
    EXPIRED: "This license has already expired.",
    ONLINE_FILE: (
        "It looks like you're attempting to activate your subscription. "
        "Use the Subscription page instead."
    ),
}


def license_json(
    row: License, active_users: int, *, with_active_users: bool = True
) -> dict[str, Any]:
    """GitLab's ``GitlabLicense`` entity (``with_active_users``: ``GitlabLicenseWithActiveUsers``)."""
    today = app_clock().now().date()
    historical_max = max_historical_users(row.starts_on)
    maximum = max(historical_max, active_users)
    expired = row.ends_on <= today
    body: dict[str, Any] = {
        "id": row.id,
        "plan": row.plan,
        "created_at": format_utc(row.created_at),
        "starts_at": row.starts_on.isoformat(),
        "expires_at": row.ends_on.isoformat(),
        "historical_max": historical_max,
        "maximum_user_count": maximum,
        "licensee": {
            "Name": row.licensee_name,
            "Email": row.licensee_email,
            "Company": row.licensee_company,
        },
        # Old-style add-ons (GitLab_FileLocks ...): none in the licenses of this portal.
        "add_ons": {},
        "expired": expired,
        # GitLab's overage: billable users beyond the seats now, or at the term's maximum once
        # the license has expired.
        "overage": max((maximum if expired else active_users) - row.seats, 0),
        "user_limit": row.seats,
    }
    if with_active_users:
        body["active_users"] = active_users
    return body


@blueprint.get("/license")
def get_license() -> ResponseReturnValue:
    api_admin()
    row = current_license()
    # No license: GitLab presents nil, a JSON null.
    if row is None:
        return "null", 200, {"Content-Type": "application/json"}
    return license_json(row, users.billable_user_count())


@blueprint.get("/licenses")
def list_licenses() -> ResponseReturnValue:
    api_admin()
    active_users = users.billable_user_count()
    # GitLab's LicensesFinder: newest first, by id.
    rows = sorted(license_history(), key=lambda row: row.id, reverse=True)
    return [license_json(row, active_users, with_active_users=False) for row in rows]


def _license_text() -> str:
    """The ``license`` parameter (``requires :license, type: String``), from a JSON or form body
    or the query string, as GitLab's docs show it."""
    body = request.get_json(silent=True)
    values = body if isinstance(body, dict) else request.values
    if "license" not in values:
        raise ApiError(400, "license is missing", key="error")
    text = values["license"]
    if not isinstance(text, str):
        raise ApiError(400, "license is invalid", key="error")
    return text


@blueprint.post("/license")
def add_license() -> ResponseReturnValue:
    api_admin()
    text = _license_text()
    if not text.strip() or len(text.encode()) > MAX_LICENSE_FILE_BYTES:
        raise ApiError(400, INVALID_LICENSE_KEY)
    try:
        row = add_license_file(text, app_clock().now())
    except LicenseError as refused:
        raise ApiError(400, GITLAB_REFUSALS.get(refused.code, refused.message)) from None
    return license_json(row, users.billable_user_count()), 201


def _license_id(value: str) -> int:
    number = int_param({"id": value}, "id", required=True)
    assert number is not None  # required: int_param answered 400 otherwise
    return number


@blueprint.get("/license/<license_id>")
def get_license_by_id(license_id: str) -> ResponseReturnValue:
    api_admin()
    row = license_by_id(_license_id(license_id))
    if row is None:
        raise ApiError(404, "404 Not Found")  # Grape's not_found!
    return license_json(row, users.billable_user_count())


@blueprint.delete("/license/<license_id>")
def destroy_license(license_id: str) -> ResponseReturnValue:
    api_admin()
    if not remove_license(_license_id(license_id), app_clock().now()):
        # Licenses::DestroyService raises RecordNotFound: GitLab's API says "404 Not found".
        raise ApiError(404, "404 Not found")
    return "", 204
