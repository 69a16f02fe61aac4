"""The bulk seat assignment task (R27): a CSV file of usernames, assigned one by one.

Behaves and reports as GitLab's Rake task ``gitlab:duo:bulk_user_assignment``: a ``username``
header, one username per line; each user is assigned on its own (an already assigned user
succeeds); at the first ``NO_SEATS_AVAILABLE`` the task stops and names where it stopped.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

from instance import add_ons
from instance.users import find_by_username
from webcore.errors import Refusal

FILE_PATH_INVALID = "File path is invalid."
NO_PURCHASE = "Unable to find Duo add-on purchase."
NO_USERNAME_HEADER = "The CSV file must have a 'username' header."


class BulkAssignmentError(Refusal):
    """The task cannot start; the message is printed as is."""

    code = "bulk_assignment_refused"


@dataclass
class BulkAssignmentResult:
    successful: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def report(self) -> str:
        return "\n".join(
            [
                "",
                "Successful Assignments:",
                *self.successful,
                "",
                "Failed Assignments:",
                *self.failed,
            ]
        )


def read_usernames(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        raise BulkAssignmentError(FILE_PATH_INVALID) from None
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or "username" not in [name.strip() for name in reader.fieldnames]:
        raise BulkAssignmentError(NO_USERNAME_HEADER)
    key = next(name for name in reader.fieldnames if name.strip() == "username")
    return [row[key].strip() for row in reader if (row.get(key) or "").strip()]


def assign_usernames(usernames: list[str], now: dt.datetime) -> BulkAssignmentResult:
    """Assign a seat to each user in order (R2, R26, R27); flushes, never commits."""
    purchase = add_ons.duo_purchase()
    if purchase is None or not purchase.is_active_on(now.date()):
        raise BulkAssignmentError(NO_PURCHASE)
    result = BulkAssignmentResult()
    for username in usernames:
        user = find_by_username(username)
        if user is None:
            result.failed.append(f"User is not found: {username}")
            continue
        try:
            add_ons.assign_seat(purchase.id, user, now)
        except add_ons.AssignmentError as error:
            if error.code == add_ons.NO_SEATS_AVAILABLE:
                result.failed.append(
                    f"##No seats are left; users starting from @{username} onwards were not "
                    "assigned.##"
                )
                break
            result.failed.append(
                f"Failed to assign seat to user: {username}, Errors: {json.dumps([error.code])}"
            )
            continue
        result.successful.append(f"User assigned: {username}")
    return result
