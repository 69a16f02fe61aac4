"""Admin area: Subscription, GitLab Duo seats, Users. Routes only: load, check access, call an
operation, answer. The request's one transaction (``webcore.transaction``) commits; a refusal
propagates, rolls it back and is answered by ``webcore.errors``. Every route here requires an
administrator (``roles_required``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from instance import add_ons, users
from instance.agile_planning import agile_planning_purchase
from instance.api import token_from_request
from instance.billable_history import max_historical_users
from instance.diagnostics import diagnostics_bundle
from instance.license_changes import add_license_file, remove_license
from instance.licenses import (
    MAX_LICENSE_FILE_BYTES,
    LicenseError,
    current_license,
    license_by_id,
    license_history,
)
from instance.models import AccessLevel, User, UserAddOnAssignment, UserState, db
from instance.portal_client import ACTIVATION_SUCCESS
from instance.sync import (
    SyncFailed,
    activate,
    record_failure,
    sync_report,
    sync_status,
    synchronize,
)
from instance.tokens import user_for_token
from protocol.license import AddOnTier, LicenseType
from webcore.auth import roles_required
from webcore.clock import app_clock
from webcore.errors import refusal_redirects, refusal_renders, wants_json
from webcore.params import InvalidNumber, int_arg, parse_int

blueprint = Blueprint("admin", __name__, url_prefix="/admin")

TERMS_REQUIRED = "Please accept the Terms of Service to activate."
# GitLab's flashes after Remove license (Admin::LicensesController#destroy): a notice when
# License.current falls back on an earlier license, an alert when none is left.
FELL_BACK = "The license was removed. GitLab has fallen back on the previous license."
NO_LICENSE_LEFT = "The license was removed. GitLab now no longer has a valid license."
# Ours: GitLab's route takes no id (it removes License.current); the page's form names one.
UNKNOWN_LICENSE = "That license no longer exists: nothing was removed."
NOT_CURRENT = "That license is no longer the current license: nothing was removed."


# Routes a tool may call with an administrator's personal access token instead of a session.
TOKEN_ENDPOINTS = {"admin.diagnostics"}


@roles_required("admin")
def _signed_in_admin() -> None:
    return None


@blueprint.before_request
def _admins_only() -> ResponseReturnValue | None:
    """Every /admin route: anonymous users sign in, non-admins get 403."""
    token = token_from_request()
    if token is not None and request.endpoint in TOKEN_ENDPOINTS:
        user = user_for_token(token, _now())
        if user is None:
            abort(401)
        if not user.admin:
            abort(403)
        return None
    return _signed_in_admin()


def _now() -> dt.datetime:
    return app_clock().now()


def duo_menu_visible() -> bool:
    """R15: the GitLab Duo menu appears once the instance knows of a purchase or trial."""
    return add_ons.duo_purchase() is not None


@blueprint.app_context_processor
def _admin_nav() -> dict[str, Any]:
    return {"duo_menu_visible": duo_menu_visible}


# -- Subscription -------------------------------------------------------------------------------


def _subscription_page(status: int = 200) -> ResponseReturnValue:
    license_row = current_license()
    now = _now()
    since = license_row.starts_on if license_row else None
    agile_planning = agile_planning_purchase()
    return (
        render_template(
            "admin/subscription.html",
            license=license_row,
            license_type_label=LicenseType(license_row.license_type).label if license_row else None,
            history=license_history(),
            billable_users=users.billable_user_count(),
            maximum_users=max(max_historical_users(since), users.billable_user_count()),
            report=sync_report(),
            purchase=add_ons.duo_purchase(),
            # R6: Enterprise Agile Planning, a purchase of its own beside the Duo one.
            agile_planning=agile_planning,
            agile_planning_used=add_ons.assigned_count(agile_planning) if agile_planning else 0,
            tier_label=_tier_label,
            now=now,
        ),
        status,
    )


def _tier_label(tier: str) -> str:
    return AddOnTier(tier).label


@blueprint.get("/subscription")
def subscription() -> ResponseReturnValue:
    return _subscription_page()


@blueprint.post("/subscription/activate")
def activate_subscription() -> ResponseReturnValue:
    code = request.form.get("activation_code", "")
    with refusal_renders(lambda refused: _subscription_page(422)):
        if request.form.get("terms") != "accepted":
            raise SyncFailed("terms_not_accepted", TERMS_REQUIRED)
        activate(current_app, code, _now())
    flash(ACTIVATION_SUCCESS, "success")
    return redirect(url_for("admin.subscription"))


@blueprint.post("/subscription/upload")
def upload_license() -> ResponseReturnValue:
    upload = request.files.get("license_file")
    raw = upload.read(MAX_LICENSE_FILE_BYTES + 1) if upload else b""
    if not raw:
        raw = request.form.get("license_text", "").encode()
    with refusal_renders(lambda refused: _subscription_page(422)):
        if not raw.strip() or len(raw) > MAX_LICENSE_FILE_BYTES:
            raise LicenseError("Choose a license file to upload.", code="no_license_file")
        # Under the sync lock, as the License API adds one: one current license, whatever runs.
        add_license_file(raw.decode("utf-8", "replace"), _now())
    flash("The license was successfully uploaded and is now active.", "success")
    return redirect(url_for("admin.subscription"))


@blueprint.route("/license", methods=["POST", "DELETE"])
def destroy_license() -> ResponseReturnValue:
    """*Remove license*: GitLab's ``DELETE /admin/license`` removes the current license. A form
    can only POST, so the page's sends ``_method=delete``, as Rails reads it. The form also names
    the license the admin saw (``license_id``): a stale page or a second click removes nothing
    more than that one license."""
    if request.method == "POST" and request.form.get("_method", "").lower() != "delete":
        abort(404)
    try:
        license_id = parse_int(request.values.get("license_id", ""))
    except InvalidNumber:
        abort(400, "license_id must be a license id")
    with refusal_renders(lambda refused: _subscription_page(refused.status)):
        # The sync lock (remove_license takes it too) before the check: no sync or other removal
        # changes the current license between the check and the removal.
        sync_status(lock=True)
        chosen = license_by_id(license_id)
        if chosen is None:
            raise LicenseError(UNKNOWN_LICENSE, code="unknown_license", status=404)
        if not chosen.current:
            raise LicenseError(NOT_CURRENT, code="not_current_license", status=409)
        remove_license(license_id, _now())
    if current_license() is None:
        flash(NO_LICENSE_LEFT, "danger")
    else:
        flash(FELL_BACK, "info")
    if wants_json():
        return {"success": True}
    return redirect(url_for("admin.subscription"), 303)


@blueprint.get("/subscription/diagnostics.json")
def diagnostics() -> ResponseReturnValue:
    """The diagnostics bundle support reads with ``provlab doctor`` (no secrets in it)."""
    bundle = diagnostics_bundle(current_app, username=request.args.get("user") or None)
    headers = {}
    if request.args.get("download"):
        headers["Content-Disposition"] = 'attachment; filename="gitlab-diagnostics.json"'
    return bundle, 200, headers


@blueprint.post("/license/sync_seat_link")
def sync_seat_link() -> ResponseReturnValue:
    """R14: *Synchronize subscription*: answers ``{"success": true}`` or ``{"success": false}``."""
    now = _now()
    try:
        synchronize(current_app, now)
    except SyncFailed as failure:
        # A failed sync installs nothing (``synchronize`` checks before it writes); the failure
        # is recorded for the Subscription page and the answer is a normal 200, so it commits.
        record_failure(now, failure)
        return {"success": False, "error": failure.code, "message": failure.message}
    return {"success": True}


# -- GitLab Duo ---------------------------------------------------------------------------------

# One page holds as many users as one bulk change may take (R27), so *select all* fits it.
DUO_PAGE_SIZE = add_ons.BULK_LIMIT
SORTS: dict[str, tuple[sa.ColumnElement[Any], ...]] = {
    "name": (User.name.asc(), User.id.asc()),
    "name_desc": (User.name.desc(), User.id.desc()),
    "assigned": (UserAddOnAssignment.id.is_(None).asc(), User.name.asc()),
    "last_used": (
        User.code_suggestions_last_used_at.is_(None).asc(),
        User.code_suggestions_last_used_at.desc(),
        User.name.asc(),
    ),
}


@blueprint.get("/gitlab_duo")
def gitlab_duo() -> ResponseReturnValue:
    purchase = add_ons.duo_purchase()
    if purchase is None:
        # R15: no purchase or trial known yet: the page says how to get one in.
        return render_template("admin/gitlab_duo_missing.html"), 404
    search = request.args.get("search", "").strip()[:100]
    show = request.args.get("filter", "all")
    sort = request.args.get("sort", "name")
    query = (
        add_ons.eligible_users_query(search)
        .order_by(None)
        .outerjoin(
            UserAddOnAssignment,
            sa.and_(
                UserAddOnAssignment.user_id == User.id,
                UserAddOnAssignment.add_on_purchase_id == purchase.id,
            ),
        )
        .add_columns(UserAddOnAssignment.id)
    )
    if show == "assigned":
        query = query.where(UserAddOnAssignment.id.is_not(None))
    elif show == "unassigned":
        query = query.where(UserAddOnAssignment.id.is_(None))
    query = query.order_by(*SORTS.get(sort, SORTS["name"]))
    total = db.session.execute(
        sa.select(sa.func.count()).select_from(query.order_by(None).subquery())
    ).scalar_one()
    pages = max((total + DUO_PAGE_SIZE - 1) // DUO_PAGE_SIZE, 1)
    try:
        page = min(max(int_arg(request.args, "page", 1), 1), pages)
    except InvalidNumber:
        page = 1
    query = query.limit(DUO_PAGE_SIZE).offset((page - 1) * DUO_PAGE_SIZE)
    rows = [(user, assignment_id is not None) for user, assignment_id in db.session.execute(query)]
    now = _now()
    return render_template(
        "admin/gitlab_duo.html",
        purchase=purchase,
        tier_label=AddOnTier(purchase.tier).label,
        active=purchase.is_active_on(now.date()),
        used=add_ons.assigned_count(purchase),
        rows=rows,
        availability=add_ons.duo_availability(now, current_app.config["GITLAB_VERSION"]),
        search=search,
        show=show,
        sort=sort,
        page=page,
        pages=pages,
        total=total,
    )


def _user_ids() -> list[int]:
    ids: list[int] = []
    for value in request.form.getlist("user_ids"):
        try:
            ids.append(parse_int(value))
        except InvalidNumber:
            abort(400, "user_ids must be user ids")
    return ids


@blueprint.post("/gitlab_duo/seats")
def change_seats() -> ResponseReturnValue:
    """The toggle (one user) and the bulk *Assign seat* / *Remove seat* buttons (R26, R27)."""
    purchase = add_ons.duo_purchase()
    action = request.form.get("action")
    if purchase is None or action not in ("assign", "remove"):
        abort(400, "unknown action or no GitLab Duo purchase")
    ids = _user_ids()
    # A refused change: JSON for the toggle, else the message flashed on the listing page.
    with refusal_redirects(_listing_url()):
        if len(ids) == 1 and action == "assign":
            user = db.session.get(User, ids[0]) or abort(400, "unknown user")
            add_ons.assign_seat(purchase.id, user, _now())
        elif len(ids) == 1:
            user = db.session.get(User, ids[0]) or abort(400, "unknown user")
            add_ons.remove_seat(purchase.id, user)
        elif action == "assign":
            add_ons.bulk_assign(purchase.id, ids, _now())
        else:
            add_ons.bulk_remove(purchase.id, ids)
    if request.accept_mimetypes.best == "application/json":
        return {"success": True}
    count = len(ids)
    noun = "user" if count == 1 else "users"
    done = "assigned a seat" if action == "assign" else "removed from their seat"
    flash(f"{count} {noun} {done}.", "success")
    return redirect(_listing_url())


def _listing_url() -> str:
    """Back to the GitLab Duo page with the admin's search, filter and sort kept."""
    kept: dict[str, Any] = {
        key: value for key in ("search", "filter", "sort") if (value := request.form.get(key, ""))
    }
    return url_for("admin.gitlab_duo", **kept)


# -- Users --------------------------------------------------------------------------------------

ROLE_CHOICES = sorted(AccessLevel.NAMES.items())
BOT_CHOICES = [("", "Human"), *[(bot, bot.replace("_", " ")) for bot in users.BOT_TYPES]]


@blueprint.get("/users")
def users_index() -> ResponseReturnValue:
    plan = users.current_plan()
    listed = list(db.session.execute(sa.select(User).order_by(User.username)).scalars())
    return render_template(
        "admin/users.html",
        users=listed,
        is_billable=lambda user: users.is_billable(user, plan),
        role_names=AccessLevel.NAMES,
        billable_count=users.billable_user_count(plan),
    )


def _user_form(user: User | None, status: int = 200) -> ResponseReturnValue:
    return (
        render_template(
            "admin/user_form.html",
            user=user,
            form=request.form,
            states=list(UserState),
            roles=ROLE_CHOICES,
            bots=BOT_CHOICES,
        ),
        status,
    )


def _form_fields() -> dict[str, Any]:
    try:
        role = int_arg(request.form, "highest_access_level", 0, minimum=-1)
    except InvalidNumber:
        role = -1  # not an access level: check_user_fields refuses it
    return {
        "state": request.form.get("state", UserState.ACTIVE),
        "bot_type": request.form.get("bot_type") or None,
        "highest_access_level": role,
        "admin": request.form.get("admin") == "on",
    }


@blueprint.route("/users/new", methods=["GET", "POST"])
def new_user() -> ResponseReturnValue:
    if request.method != "POST":  # GET and HEAD only show the form, whatever their body says
        return _user_form(None)
    password = request.form.get("password", "")
    with refusal_renders(lambda refused: _user_form(None, 422)):
        user = users.create_user(
            username=request.form.get("username", ""),
            email=request.form.get("email", ""),
            name=request.form.get("name", ""),
            now=_now(),
            password=password or None,
            **_form_fields(),
        )
    flash(f"User @{user.username} was successfully created.", "success")
    return redirect(url_for("admin.users_index"))


@blueprint.route("/users/<id:user_id>/edit", methods=["GET", "POST"])
def edit_user(user_id: int) -> ResponseReturnValue:
    user = db.session.get(User, user_id) or abort(404)
    if request.method != "POST":  # GET and HEAD only show the form, whatever their body says
        return _user_form(user)
    fields = _form_fields()
    name = request.form.get("name", "").strip()
    with refusal_renders(lambda refused: _user_form(user, 422)):
        if not name:
            raise users.UserError("Name can't be blank")
        users.check_user_fields(
            state=fields["state"],
            bot_type=fields["bot_type"],
            highest_access_level=fields["highest_access_level"],
        )
    user.name = name
    user.bot_type = fields["bot_type"]
    user.highest_access_level = fields["highest_access_level"]
    user.admin = fields["admin"]
    users.change_state(user, fields["state"])
    flash(f"User @{user.username} was successfully updated.", "success")
    return redirect(url_for("admin.users_index"))


# -- Settings -----------------------------------------------------------------------------------


@blueprint.get("/application_settings/general")
def settings() -> ResponseReturnValue:
    """Admin → Settings: what this instance reports and where it syncs (read-only: set at start)."""
    config = current_app.config
    return render_template(
        "admin/settings.html",
        gitlab_version=config["GITLAB_VERSION"],
        hostname=config["HOSTNAME"],
        portal_url=config["PORTAL_URL"],
        clock_mode=config["CLOCK"],
    )
