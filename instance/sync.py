"""Activation and the daily sync (Seat Link), on the instance's side.

Rules:
- R8: activation sends the activation code, instance id, GitLab version, hostname and the
  instance's own public key; the answer's license must be an online cloud license bound to this
  instance, signed by a pinned portal key.
- R13: a cloud-licensed instance syncs once a day at its own slot (03:00-04:59 UTC); without a
  cloud license there is nothing to sync and the job just waits for the next slot.
- R14: an admin can sync at once; R16: a failure is shown with a connectivity hint.
- R32: the sync reports billable users, max historical users, and per add-on purchased and
  assigned seats, with the daily counts.
- Any failure changes nothing but the sync status shown to the admin (and the day's billable
  user count, which is recorded before the call because it is true whatever the portal answers).

The instance keeps serving while it waits for the portal (``webcore.outbound``): ``activate``
and ``synchronize`` build their request in the caller's transaction and commit it, call the
portal with no transaction open, then install the answer in a new transaction that the caller
commits (the admin route after success; the job runner together with the job's bookkeeping).
The install locks the sync status row first, so overlapping activations and syncs install one
license after the other, and re-checks what may have changed during the call:
- a license issued before the one now current is not installed (an overlapping sync or
  activation brought a newer one): the sync still succeeded, the newer license stays;
- a sync answer is installed only while the current license is still an online cloud license;
  a license file uploaded meanwhile stands and the sync reports ``license_changed``.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from dataclasses import dataclass

import sqlalchemy as sa
from flask import Flask, current_app

from instance.add_ons import DUO, instance_purchases_locked
from instance.agile_planning import AGILE_PLANNING, bought_in_license, follow_agile_planning
from instance.billable_history import record_billable_users, recorded_history
from instance.duo_provisioning import provision_add_ons
from instance.identity import identity, instance_key
from instance.licenses import LicenseError, current_license, pinned_portal_keys, replace_license
from instance.models import (
    AddOnPurchase,
    InstanceIdentity,
    Job,
    License,
    SyncStatus,
    UserAddOnAssignment,
    db,
)
from instance.portal_client import (
    ADMIN_MESSAGES,
    CONNECTIVITY,
    INVALID_ANSWER,
    NOT_CONFIGURED,
    PortalClient,
    PortalError,
)
from protocol.activation_code import validate_activation_code
from protocol.errors import LocalProtocolError, ProtocolError
from protocol.license import AddOnTier, LicenseType, Plan, verify_license
from protocol.license import License as LicenseDocument
from protocol.messages import ActivationRequest, AddOnUsage, DailyUsage, SyncRequest
from protocol.signing import KeySet
from webcore.clock import app_clock
from webcore.db import read_columns
from webcore.errors import Refusal
from webcore.job_declarations import JobContext
from webcore.outbound import outside_transaction
from webcore.transaction import unit_of_work

log = logging.getLogger(__name__)

DAILY_USAGE_DAYS = 31


class SyncFailed(Refusal):
    """Activation or sync failed; ``message`` is for the admin and holds no secret."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message, code=code)


def sync_status(*, lock: bool = False) -> SyncStatus:
    """The single status row (created when missing); ``lock=True`` holds it, so that a license
    added or removed by an administrator and a sync installing one happen one after the other
    (one current license at a time)."""
    status = db.session.execute(_LOCKED_STATUS if lock else _STATUS).scalar_one_or_none()
    if status is None:
        status = db.inserted(SyncStatus())
    return status


_STATUS = sa.select(SyncStatus)
_LOCKED_STATUS = _STATUS.with_for_update().execution_options(populate_existing=True)


def _locked_status_times() -> tuple[int, dt.datetime | None, dt.datetime | None]:
    """The status row's id and its last attempt and success, the row locked, so that two
    activations or syncs running at once install their licenses one after the other (one
    current license at a time). Columns, not the row: the install writes them back with one
    Core update (``_record_success``) instead of loading the row and flushing it (every sync).
    The row is created, empty, when missing (before the first activation)."""
    found = read_columns(db.session, _LOCKED_STATUS_TIMES).one_or_none()
    if found is None:
        db.session.connection().execute(_ADD_STATUS)
        found = read_columns(db.session, _LOCKED_STATUS_TIMES).one()
    status_id, last_attempt_at, last_success_at = found
    return status_id, last_attempt_at, last_success_at


_STATUS_TABLE = SyncStatus.__table__
_LOCKED_STATUS_TIMES = sa.select(
    _STATUS_TABLE.c.id, _STATUS_TABLE.c.last_attempt_at, _STATUS_TABLE.c.last_success_at
).with_for_update()
_ADD_STATUS = sa.insert(_STATUS_TABLE)
_SUCCESS = sa.update(_STATUS_TABLE).where(_STATUS_TABLE.c.id == sa.bindparam("status_id"))


def _client(app: Flask) -> PortalClient:
    try:
        keys = pinned_portal_keys()
    except LicenseError as exc:
        raise SyncFailed(NOT_CONFIGURED, str(exc)) from None
    try:
        return PortalClient.for_app(app, keys, app_clock(app), instance_key())
    except PortalError as exc:
        raise SyncFailed(exc.code, exc.admin_message) from None


def _verified_license(token: str, instance_id: str, keys: KeySet) -> LicenseDocument:
    """The license in an answer: signed by a pinned key (``keys``, the client's), online cloud,
    bound to us."""
    try:
        document = _verified_document(token, keys)
    except ProtocolError:
        raise SyncFailed(INVALID_ANSWER, ADMIN_MESSAGES[INVALID_ANSWER]) from None
    if document.license_type is not LicenseType.ONLINE_CLOUD or document.instance_id != instance_id:
        raise SyncFailed(INVALID_ANSWER, ADMIN_MESSAGES[INVALID_ANSWER])
    return document


@functools.lru_cache(maxsize=64)
def _verified_document(token: str, keys: KeySet) -> LicenseDocument:
    """``verify_license``, once per token and pinned keys: a daily sync's answer is most days
    the license already current, verified again to the same (frozen) document. A token that
    fails raises, which is never cached; other keys are another entry."""
    return verify_license(token, keys)


@dataclass(frozen=True)
class Outcome:
    license: License
    removed_usernames: tuple[str, ...]


LICENSE_CHANGED = "license_changed"
LICENSE_CHANGED_MESSAGE = (
    "The license changed while synchronizing (a license file was uploaded), so the answer of "
    "the Customers Portal was not installed."
)


def _install(
    document: LicenseDocument, token: str, now: dt.datetime, *, activated: bool
) -> Outcome:
    """Install a verified answer, after the call: lock, re-check, then store (see the module
    docstring). Flushes, never commits."""
    status = _locked_status_times()
    current = current_license()
    if not activated and (
        current is None or current.license_type != LicenseType.ONLINE_CLOUD.value
    ):
        raise SyncFailed(LICENSE_CHANGED, LICENSE_CHANGED_MESSAGE)
    _record_success(*status, now)
    if current is not None and document.issued_at < current.issued_at:
        log.info("an older license answer was not installed: a newer one is current")
        return Outcome(current, ())
    row = replace_license(current, document, token, now, activated=activated)
    purchases = instance_purchases_locked()  # Duo's and Enterprise Agile Planning's, at once
    provisioned = provision_add_ons(document, now, purchases.get(DUO))
    follow_agile_planning(  # R6: beside Duo, not instead
        purchases.get(AGILE_PLANNING), bought_in_license(document), now, locked=True
    )
    if provisioned.removed_usernames:
        log.info("overage removal took the seats of %d users", len(provisioned.removed_usernames))
    return Outcome(row, provisioned.removed_usernames)


def _record_success(
    status_id: int,
    last_attempt_at: dt.datetime | None,
    last_success_at: dt.datetime | None,
    now: dt.datetime,
) -> None:
    """The status row (locked by ``_locked_status_times``) records a success. A Core update:
    the session holds no status row here (the call before the install committed, expiring
    every row it held), so no loaded row goes stale."""
    db.session.connection().execute(
        _SUCCESS,
        {
            "status_id": status_id,
            # Overlapping syncs may finish out of order: the times shown only move forward.
            "last_attempt_at": max(now, last_attempt_at or now),
            "last_success_at": max(now, last_success_at or now),
            "last_error": None,
            # As ``_note_version``.
            "gitlab_version": current_app.config["GITLAB_VERSION"],
            "gitlab_version_at": now,
        },
    )


def activate(app: Flask, code: str, now: dt.datetime) -> Outcome:
    """Activate this instance with a cloud activation code (R8). Commits the caller's work
    before calling the portal; the install is left for the caller to commit."""
    try:
        code = validate_activation_code(code)
    except LocalProtocolError as exc:
        raise SyncFailed("invalid_format", exc.problem) from None
    me = identity()
    request = ActivationRequest(
        activation_code=code,
        instance_id=me.instance_id,
        gitlab_version=app.config["GITLAB_VERSION"],
        hostname=app.config["HOSTNAME"],
        instance_public_key=instance_key().verifying_key().to_jwk(),
    )
    client = _client(app)
    try:
        with outside_transaction(db.session):
            answer = client.activate(request)
    except PortalError as exc:
        raise SyncFailed(exc.code, exc.admin_message) from None
    document = _verified_license(answer.license_token, request.instance_id, client.pinned_keys)
    return _install(document, answer.license_token, now, activated=True)


@dataclass(frozen=True)
class ReportedLicense:
    """The columns of the current license a Seat Link report names."""

    license_id: str
    license_type: str
    plan: str
    starts_on: dt.date


@dataclass(frozen=True)
class ReportBasis:
    """What a Seat Link report starts from: the instance's identity and its current license
    (None without one)."""

    instance_id: str
    sync_minute: int
    license: ReportedLicense | None


def report_basis() -> ReportBasis:
    """The identity and the current license's columns in one statement (every sync reads
    both; two ORM loads cost several times more)."""
    found = read_columns(db.session, _REPORT_BASIS).one_or_none()
    if found is None:
        raise LookupError("the instance has no identity yet: run its preparation step first")
    instance_id, sync_minute, *license_columns = found
    reported = ReportedLicense(*license_columns) if license_columns[0] is not None else None
    return ReportBasis(instance_id, sync_minute, reported)


_REPORT_BASIS = (
    sa.select(
        InstanceIdentity.instance_id,
        InstanceIdentity.sync_minute,
        License.license_id,
        License.license_type,
        License.plan,
        License.starts_on,
    )
    # The identity's one row, with the current license's when there is one.
    .select_from(sa.outerjoin(InstanceIdentity, License, License.current))
)


def build_sync_request(
    app: Flask, now: dt.datetime, basis: ReportBasis | None = None
) -> SyncRequest | None:
    """The Seat Link report (R32); None without an online cloud license. ``basis`` when the
    caller has just read it."""
    basis = report_basis() if basis is None else basis
    row = basis.license
    if row is None or row.license_type != LicenseType.ONLINE_CLOUD.value:
        return None
    billable = record_billable_users(now, Plan(row.plan)).count_now
    today = now.date()
    usage = tuple(
        AddOnUsage(AddOnTier(tier), quantity if starts_on <= today < ends_on else 0, assigned)
        for tier, quantity, starts_on, ends_on, assigned in read_columns(
            db.session, _ADD_ON_USAGE
        ).tuples()
    )
    since = max(row.starts_on, now.date() - dt.timedelta(days=DAILY_USAGE_DAYS - 1))
    history = recorded_history(since, row.starts_on)
    daily = tuple(DailyUsage(day=day, billable_users=count) for day, count in history.daily)
    return SyncRequest(
        instance_id=basis.instance_id,
        license_id=row.license_id,
        gitlab_version=app.config["GITLAB_VERSION"],
        hostname=app.config["HOSTNAME"],
        billable_users=billable,
        max_historical_users=history.maximum,
        add_on_usage=usage,
        daily_usage=daily,
    )


# Every add-on purchase of the instance (GitLab Duo's first, then Enterprise Agile Planning's,
# R6) with its assigned seats, in one statement, as GitLab's SeatLinkData#add_on_metrics reads
# them; built once.
_ADD_ON_USAGE = (
    sa.select(
        AddOnPurchase.tier,
        AddOnPurchase.quantity,
        AddOnPurchase.starts_on,
        AddOnPurchase.ends_on,
        sa.func.count(UserAddOnAssignment.id),
    )
    .outerjoin(UserAddOnAssignment, UserAddOnAssignment.add_on_purchase_id == AddOnPurchase.id)
    .where(AddOnPurchase.namespace_id.is_(None))
    .group_by(AddOnPurchase.id)
    .order_by(AddOnPurchase.add_on != DUO, AddOnPurchase.id)
)

NOT_CLOUD_LICENSED = (
    "This instance has no online cloud license, so there is nothing to synchronize. "
    "Activate it with an activation code."
)


def synchronize(app: Flask, now: dt.datetime, basis: ReportBasis | None = None) -> Outcome:
    """Send the Seat Link report now and install the license that comes back (R13, R14).
    Commits the report's preparation before calling the portal; the install is left for the
    caller to commit. ``basis`` when the caller has just read it."""
    request = build_sync_request(app, now, basis)
    if request is None:
        raise SyncFailed("not_cloud_licensed", NOT_CLOUD_LICENSED)
    client = _client(app)
    try:
        with outside_transaction(db.session):
            answer = client.sync(request)
    except PortalError as exc:
        message = exc.admin_message
        if exc.detail and exc.code == "connectivity":
            message = f"{message}. {exc.detail}"
        raise SyncFailed(exc.code, message) from None
    document = _verified_license(answer.license_token, request.instance_id, client.pinned_keys)
    return _install(document, answer.license_token, now, activated=False)


def record_failure(now: dt.datetime, failure: SyncFailed) -> None:
    status = sync_status()
    status.last_attempt_at = now
    status.last_error = failure.message
    _note_version(status, now)
    db.session.flush()


def _note_version(status: SyncStatus, now: dt.datetime) -> None:
    """Remember the version this (serving) process runs, for the diagnostics bundle exported
    from the database by another process, whose own configured version means nothing."""
    status.gitlab_version = current_app.config["GITLAB_VERSION"]
    status.gitlab_version_at = now


def run_scheduled_sync(context: JobContext, basis: ReportBasis | None = None) -> None:
    """The daily_sync job's work. A failure raises, so the job is retried with backoff and its
    error recorded on the job row (shown to the admin, see ``sync_report``). ``basis`` when
    the caller has just read it."""
    basis = report_basis() if basis is None else basis
    row = basis.license
    if row is None or row.license_type != LicenseType.ONLINE_CLOUD.value:
        log.info("daily sync at %s: no cloud license, nothing to sync", context.now.isoformat())
        return
    try:
        synchronize(context.app, context.now, basis)
    except SyncFailed as exc:
        raise RuntimeError(exc.message) from None


@dataclass(frozen=True)
class SyncReport:
    last_success_at: dt.datetime | None
    last_attempt_at: dt.datetime | None
    last_error: str | None
    next_sync_at: dt.datetime | None


def sync_report() -> SyncReport:
    """What the Subscription page shows: the newest of manual and scheduled attempts."""
    status = db.find(SyncStatus)
    job = db.find(Job, Job.key == "daily_sync")
    last_success = status.last_success_at if status else None
    attempt, error = (status.last_attempt_at, status.last_error) if status else (None, None)
    if (
        job is not None
        and job.last_run_at is not None
        and (attempt is None or job.last_run_at > attempt)
    ):
        attempt = job.last_run_at
        error = job.last_error.split(": ", 1)[-1] if job.last_error else None
    return SyncReport(last_success, attempt, error, job.next_run_at if job else None)


def activate_from_environment(app: Flask, code: str) -> None:
    """Install-time activation from GITLAB_ACTIVATION_CODE; a failure is logged and shown on the
    Subscription page, never raised (the instance must still start). When the portal cannot be
    reached yet (both starting together), the ``install_activation`` job retries with backoff."""
    with app.app_context():
        if current_license() is not None:
            return
        now = app_clock(app).now()
        try:
            with unit_of_work():
                activate(app, code, now)
            log.info("instance activated from GITLAB_ACTIVATION_CODE")
        except SyncFailed as exc:
            with unit_of_work():
                record_failure(now, exc)
                if exc.code == CONNECTIVITY:
                    app.extensions["jobs"].schedule(
                        "install_activation", now + dt.timedelta(seconds=30), args={"code": code}
                    )
            log.warning("activation from GITLAB_ACTIVATION_CODE failed: %s", exc.message)
