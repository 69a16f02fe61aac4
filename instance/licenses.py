"""The instance's licenses: the current one, its history, and license files uploaded by admins.

Rules: an offline cloud or legacy license arrives as a file an admin uploads (R9); an online cloud
license arrives only through activation and sync (R8, R13), so one uploaded as a file is refused.
Every license is verified against the pinned portal keys before anything is stored; a license
that fails any check changes nothing.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import current_app

from instance.models import License, db
from protocol.errors import LicenseExpired, ProtocolError
from protocol.license import License as LicenseDocument
from protocol.license import LicenseType, read_license_file
from protocol.signing import KeySet
from webcore.errors import Refusal
from webcore.keys import load_pinned_keys

ONLINE_LICENSE_FILE_REFUSED = (
    "This is an online cloud license: it cannot be uploaded as a file. "
    "Activate the instance with the subscription's activation code instead."
)
INVALID_LICENSE_FILE = "The license file is invalid: it is not a license signed by GitLab."
# The largest license file taken (upload or API); a real one is a few KiB, a larger text no license.
MAX_LICENSE_FILE_BYTES = 64 * 1024
# Why a license file was refused (``LicenseError.code``), for answers that word it otherwise.
INVALID_FILE, ONLINE_FILE, EXPIRED, NOT_STARTED = (
    "invalid_license_file",
    "online_license_file",
    "license_expired",
    "license_not_started",
)


class LicenseError(Refusal, ValueError):
    """A license was refused; the message is safe to show to the admin."""

    code = "license_refused"


def pinned_portal_keys() -> KeySet:
    """The portal keys this instance trusts (configuration ``PORTAL_PUBLIC_KEYS``)."""
    value = current_app.config.get("PORTAL_PUBLIC_KEYS")
    if not value:
        raise LicenseError("No portal public keys are configured (INSTANCE_PORTAL_PUBLIC_KEYS).")
    try:
        return load_pinned_keys(value)
    except (OSError, ValueError, ProtocolError) as exc:
        raise LicenseError("The configured portal public keys cannot be read.") from exc


# Built once: read twice by every sync (a statement costs more to build than to run).
_CURRENT_LICENSE = (
    sa.select(License).where(License.current).execution_options(populate_existing=True)
)


def current_license() -> License | None:
    return db.session.execute(_CURRENT_LICENSE).scalar_one_or_none()


def license_history() -> list[License]:
    return list(
        db.session.execute(
            sa.select(License).order_by(License.created_at.desc(), License.id.desc())
        ).scalars()
    )


def _terms(document: LicenseDocument) -> dict[str, object]:
    """The license's terms, by the row's column names: what a new row holds, and what a sync
    compares before it adds one."""
    return {
        "license_type": document.license_type.value,
        "plan": document.plan.value,
        "seats": document.seats,
        "starts_on": document.starts_on,
        "ends_on": document.ends_on,
        "trial": document.trial,
        "subscription_name": document.subscription_name,
        "instance_id": document.instance_id,
    }


def _same_terms(row: License, document: LicenseDocument) -> bool:
    return all(getattr(row, column) == value for column, value in _terms(document).items())


def replace_license(
    current: License | None,
    document: LicenseDocument,
    token: str,
    now: dt.datetime,
    *,
    uploaded: bool = False,
    activated: bool = False,
) -> License:
    """Make ``document`` the current license in place of ``current`` (the caller reads it, in
    this transaction: a sync under its status lock); history keeps earlier ones.

    A daily sync that brings the same terms refreshes the current row instead of adding one,
    so the history lists changes, not days.
    """
    if current is not None and not uploaded and not activated and _same_terms(current, document):
        if current.token == token:  # the same license resent: nothing to store
            return current
        current.token, current.license_id, current.issued_at = (
            token,
            document.license_id,
            document.issued_at,
        )
        db.session.flush()
        return current
    if current is not None:
        current.current = False
        db.session.flush()
    return db.inserted(
        License(
            token=token,
            license_id=document.license_id,
            **_terms(document),
            licensee_name=document.licensee.name,
            licensee_email=document.licensee.email,
            licensee_company=document.licensee.company,
            issued_at=document.issued_at,
            uploaded_at=now if uploaded else None,
            activated_at=now if activated else None,
            current=True,
            created_at=now,
        )
    )


def upload_license_file(text: str, keys: KeySet, now: dt.datetime) -> License:
    """Verify and install an offline cloud or legacy license file (R9); refuse an online one."""
    try:
        document = read_license_file(text, keys)
    except ProtocolError as exc:
        raise LicenseError(INVALID_LICENSE_FILE, code=INVALID_FILE) from exc
    if document.license_type is LicenseType.ONLINE_CLOUD:
        raise LicenseError(ONLINE_LICENSE_FILE_REFUSED, code=ONLINE_FILE)
    try:
        document.check_term(now.date())
    except LicenseExpired as exc:
        raise LicenseError("This license has already expired.", code=EXPIRED) from exc
    except ProtocolError as exc:
        raise LicenseError(
            f"This license is not valid yet: {exc.problem}.", code=NOT_STARTED
        ) from exc
    return replace_license(current_license(), document, text.strip(), now, uploaded=True)


def is_online_cloud(row: License | None, today: dt.date) -> bool:
    """R10: GitLab Duo works only on an instance with an online cloud license in force."""
    return (
        row is not None
        and row.license_type == LicenseType.ONLINE_CLOUD.value
        and row.starts_on <= today < row.ends_on
    )


def license_by_id(license_id: int) -> License | None:
    return db.session.get(License, license_id)


def fallback_license(today: dt.date) -> License | None:
    """The license GitLab falls back on (its ``License.load_license``): the latest one in force
    today, else the latest that has started, even if it has ended; never one not yet started."""
    started = [row for row in license_history() if row.starts_on <= today]
    in_force = (row for row in started if today < row.ends_on)
    return next(in_force, started[0] if started else None)


def delete_license(row: License, today: dt.date) -> License | None:
    """Delete ``row``; if it was the current license, the fallback (``fallback_license``)
    becomes current. Returns the current license after it. Flushes, never commits."""
    was_current = row.current
    db.session.delete(row)
    db.session.flush()
    if not was_current:
        return current_license()
    successor = fallback_license(today)
    if successor is not None:
        successor.current = True
        db.session.flush()
    return successor
