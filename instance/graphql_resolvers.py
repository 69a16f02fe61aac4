"""The resolvers of ``instance.graphql_schema``, answering as GitLab's do.

Problems with the request itself (not signed in, not an admin, an unknown record, more users than
a bulk mutation takes) are top-level ``errors`` with a null payload; a refused assignment is the
payload's ``errors`` list holding GitLab's code (``NO_SEATS_AVAILABLE``, ``NOT_ENOUGH_SEATS`` ...)
with ``addOnPurchase`` and ``users`` null and nothing changed. Activation errors are the payload's
``errors`` with GitLab's texts.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from flask import current_app, request
from graphql import GraphQLError

from instance import add_ons, users
from instance.agile_planning import agile_planning_purchase
from instance.billable_history import max_historical_users
from instance.gitlab_com.duo import can_manage_seats
from instance.gitlab_com.provisioning import group_duo_purchase
from instance.licenses import current_license
from instance.models import AddOnPurchase, License, User, db
from instance.portal_client import ADMIN_MESSAGES
from instance.sync import SyncFailed, activate, sync_status
from protocol.license import AddOnTier, LicenseType
from protocol.messages import ErrorCode
from webcore.clock import app_clock
from webcore.params import InvalidNumber, parse_int

PURCHASE_GID = "gid://gitlab/GitlabSubscriptions::AddOnPurchase/"
USER_GID = "gid://gitlab/User/"
NAMESPACE_GID = "gid://gitlab/"
GROUP_GID = "gid://gitlab/Group/"  # GitLab.com: a group's NamespaceID
# GitLab calls Duo Pro's add-on type CODE_SUGGESTIONS.
# Enterprise Agile Planning has no add-on type in GitLab's source (it is a Zuora product there);
# Provision Lab names it after the product, as the enum spells the others.
ADD_ON_TYPES = {
    "CODE_SUGGESTIONS": AddOnTier.DUO_PRO,
    "DUO_ENTERPRISE": AddOnTier.DUO_ENTERPRISE,
    "ENTERPRISE_AGILE_PLANNING": AddOnTier.ENTERPRISE_AGILE_PLANNING,
}
ADD_ON_NAMES = {tier.value: name for name, tier in ADD_ON_TYPES.items()}
NOT_AVAILABLE = (
    "The resource that you are attempting to access does not exist or you don't have "
    "permission to perform this action"
)
# GitLab's limits and texts (Mutations::GitlabSubscriptions::UserAddOnAssignments::Bulk*).
BULK_CREATE_LIMIT = add_ons.BULK_LIMIT
BULK_REMOVE_LIMIT = 100
BULK_CREATE_TOO_MANY = (
    f"The number of users to be assigned in a single API call should be less than "
    f"{BULK_CREATE_LIMIT}."
)
BULK_REMOVE_TOO_MANY = (
    f"The number of users to be unassigned in a single API call should be less than "
    f"{BULK_REMOVE_LIMIT}."
)
# What GitLab's admin page matches (the Customers Portal's text for an unknown code).
INVALID_ACTIVATION_CODE = "invalid activation code"
MAX_PAGE_SIZE = 100


# -- global ids and access ----------------------------------------------------------------------


def gid(value: object, prefix: str) -> int:
    """The database id in a global id of the expected type (GitLab's GlobalIDType messages)."""
    text = str(value)
    if not text.startswith("gid://gitlab/"):
        raise GraphQLError(f"{text[:80]!r} is not a valid Global ID")
    if not text.startswith(prefix):
        model = prefix.removeprefix("gid://gitlab/").rstrip("/")
        raise GraphQLError(f"{text[:80]!r} does not represent an instance of {model}")
    try:
        return parse_int(text[len(prefix) :], minimum=1)
    except InvalidNumber:
        # Well formed but not an id this instance has: no such record, as GitLab answers it.
        raise GraphQLError(NOT_AVAILABLE) from None


def _admin(info: Any, *, write: bool = False) -> User:
    user = info.context.get("user")
    if user is None or not user.admin or (write and not info.context.get("can_write")):
        raise GraphQLError(NOT_AVAILABLE)
    return user


def _purchase(value: object, user: User | None = None) -> AddOnPurchase:
    """The purchase, if ``user`` may manage its seats: an administrator, or on GitLab.com an
    owner of the group the purchase belongs to (``instance.gitlab_com.duo``)."""
    purchase = db.session.get(AddOnPurchase, gid(value, PURCHASE_GID))
    if purchase is None or (user is not None and not can_manage_seats(user, purchase)):
        raise GraphQLError(NOT_AVAILABLE)
    return purchase


def _seat_manager(info: Any) -> User:
    """Who changes seats: a signed-in user with a writing token; ``_purchase`` then checks
    that they manage the purchase (administrators every one, group owners their group's)."""
    user = info.context.get("user")
    if user is None or not info.context.get("can_write"):
        raise GraphQLError(NOT_AVAILABLE)
    return user


def _no_namespace(namespace_id: object) -> None:
    # A self-managed instance has no groups to hold purchases: any namespace is unknown to it.
    if namespace_id is not None:
        gid(namespace_id, NAMESPACE_GID)
        raise GraphQLError(NOT_AVAILABLE)


# -- connections --------------------------------------------------------------------------------


def _cursor(offset: int) -> str:
    return base64.b64encode(f"offset:{offset}".encode()).decode()


def _offset(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    try:
        kind, _, number = base64.b64decode(cursor, validate=True).decode().partition(":")
        if kind == "offset":
            return parse_int(number, minimum=0)
    except (ValueError, InvalidNumber):
        pass
    raise GraphQLError("Please provide a valid cursor")


def connection(
    query: sa.Select[Any], to_node: Callable[[Any], dict[str, Any]], args: dict[str, Any]
) -> dict[str, Any]:
    """A GitLab connection over ``query``: ``first``/``after`` and ``last``/``before``."""
    total = db.session.execute(
        sa.select(sa.func.count()).select_from(query.order_by(None).subquery())
    ).scalar_one()
    after, before = _offset(args.get("after")), _offset(args.get("before"))
    start = after + 1 if after is not None else 0
    end = min(before if before is not None else total, total)
    first, last = args.get("first"), args.get("last")
    for name, value in (("first", first), ("last", last)):
        if value is not None and value < 0:
            raise GraphQLError(f"Argument '{name}' on Field must be non-negative")
    if first is not None:
        end = min(end, start + min(first, MAX_PAGE_SIZE))
    if last is not None:
        start = max(start, end - min(last, MAX_PAGE_SIZE))
    end = min(end, start + MAX_PAGE_SIZE)
    rows = list(db.session.execute(query.offset(start).limit(max(end - start, 0))).scalars())
    nodes = [to_node(row) for row in rows]
    edges = [{"cursor": _cursor(start + i), "node": node} for i, node in enumerate(nodes)]
    return {
        "count": total,
        "nodes": nodes,
        "edges": edges,
        "pageInfo": {
            "hasNextPage": start + len(rows) < total,
            "hasPreviousPage": start > 0,
            "startCursor": edges[0]["cursor"] if edges else None,
            "endCursor": edges[-1]["cursor"] if edges else None,
        },
    }


def listed(users_list: Sequence[User], purchase: AddOnPurchase | None) -> dict[str, Any]:
    ids = [user.id for user in users_list]
    query = sa.select(User).where(User.id.in_(ids)).order_by(User.id)
    return connection(query, lambda user: user_json(user), {})


# -- objects ------------------------------------------------------------------------------------


def purchase_json(purchase: AddOnPurchase) -> dict[str, Any]:
    today = app_clock().now().date()
    return {
        "id": f"{PURCHASE_GID}{purchase.id}",
        "name": ADD_ON_NAMES[purchase.tier],
        "purchasedQuantity": purchase.quantity,
        "assignedQuantity": add_ons.assigned_count(purchase),
        "startsAt": purchase.starts_on.isoformat(),
        "expiresOn": purchase.ends_on.isoformat(),
        "trial": purchase.trial,
        "active": purchase.is_active_on(today),
    }


def _profile(user: User) -> dict[str, Any]:
    return {
        "id": f"{USER_GID}{user.id}",
        "username": user.username,
        "name": user.name,
        "state": user.state,
        "webUrl": f"{request.host_url.rstrip('/')}/{user.username}",
        "publicEmail": None,
    }


def user_json(user: User) -> dict[str, Any]:
    last = user.code_suggestions_last_used_at

    def assignments(info: Any, addOnPurchaseIds: list[Any], **args: Any) -> dict[str, Any]:  # noqa: N803
        ids = [gid(value, PURCHASE_GID) for value in addOnPurchaseIds]
        from instance.models import UserAddOnAssignment

        query = (
            sa.select(UserAddOnAssignment)
            .where(
                UserAddOnAssignment.user_id == user.id,
                UserAddOnAssignment.add_on_purchase_id.in_(ids),
            )
            .order_by(UserAddOnAssignment.id)
        )
        return connection(
            query, lambda a: {"addOnPurchase": purchase_json(a.add_on_purchase)}, args
        )

    return _profile(user) | {
        "lastDuoActivityOn": last.date().isoformat() if last else None,
        "addOnAssignments": assignments,
    }


def license_json(row: License) -> dict[str, Any]:
    billable = users.billable_user_count()
    maximum = max(max_historical_users(row.starts_on), billable)
    last_sync = sync_status().last_success_at
    return {
        "id": f"gid://gitlab/License/{row.id}",
        "type": row.license_type,
        "plan": row.plan,
        "name": row.licensee_name,
        "email": row.licensee_email,
        "company": row.licensee_company,
        "startsAt": row.starts_on.isoformat(),
        "expiresAt": row.ends_on.isoformat(),
        "activatedAt": row.activated_at.date().isoformat() if row.activated_at else None,
        "lastSync": last_sync.isoformat() if last_sync else None,
        "usersInLicenseCount": row.seats,
        "billableUsersCount": billable,
        "maximumUserCount": maximum,
        "usersOverLicenseCount": max(maximum - row.seats, 0),
        "trial": row.trial,
    }


# -- queries ------------------------------------------------------------------------------------


def _current_user(info: Any) -> dict[str, Any] | None:
    user = info.context.get("user")
    return _profile(user) if user is not None else None


def _current_license(info: Any) -> dict[str, Any] | None:
    _admin(info)
    row = current_license()
    return license_json(row) if row else None


def _scoped_purchases(info: Any, namespace_id: object) -> list[AddOnPurchase]:
    """The instance's purchases (administrators), or with ``namespaceId`` on GitLab.com the
    group's, for those who manage its seats: GitLab Duo's, then Enterprise Agile Planning's
    (R6: each its own purchase)."""
    if namespace_id is None or not current_app.config.get("GITLAB_COM"):
        _admin(info)
        _no_namespace(namespace_id)
        found = [add_ons.duo_purchase(), agile_planning_purchase()]
    else:
        text = str(namespace_id)
        prefix = GROUP_GID if text.startswith(GROUP_GID) else f"{NAMESPACE_GID}Namespace/"
        root_id = gid(namespace_id, prefix)
        found = [group_duo_purchase(root_id), agile_planning_purchase(root_id)]
    purchases = [purchase for purchase in found if purchase is not None]
    if purchases and not can_manage_seats(info.context.get("user"), purchases[0]):
        raise GraphQLError(NOT_AVAILABLE)
    return purchases


def _purchases(info: Any, namespaceId: object = None) -> list[dict[str, Any]]:  # noqa: N803
    return [purchase_json(purchase) for purchase in _scoped_purchases(info, namespaceId)]


def _one_purchase(info: Any, addOnType: str, namespaceId: object = None) -> dict[str, Any] | None:  # noqa: N803
    for purchase in _scoped_purchases(info, namespaceId):
        if ADD_ON_TYPES[addOnType].value == purchase.tier:
            return purchase_json(purchase)
    return None


def _eligible(
    info: Any,
    addOnType: str,  # noqa: N803
    addOnPurchaseIds: list[Any],  # noqa: N803
    search: str | None = None,
    **args: Any,
) -> dict[str, Any]:
    _admin(info)
    for value in addOnPurchaseIds:
        _purchase(value)
    return connection(add_ons.eligible_users_query(search or ""), user_json, args)


# -- mutations ----------------------------------------------------------------------------------


def _mutation(
    info: Any, input: dict[str, Any], run: Callable[[], dict[str, Any]]
) -> dict[str, Any]:  # noqa: A002
    """Run one mutation field in a savepoint: a refusal undoes the field's writes and is
    reported as the payload's error code. Nothing commits here: the request commits once, and
    only when every field succeeded (``instance.graphql_api``)."""
    _seat_manager(info)
    extra = {"clientMutationId": input.get("clientMutationId")}
    try:
        with db.session.begin_nested():
            result = run()
    except add_ons.AssignmentError as error:
        info.context["refused"] = True
        return extra | {"errors": [error.code], "addOnPurchase": None, "user": None, "users": None}
    info.context["applied"].append(info.path.key)
    return extra | result


def _user(value: object) -> User:
    user = db.session.get(User, gid(value, USER_GID))
    if user is None:
        raise GraphQLError(NOT_AVAILABLE)
    return user


def _create(info: Any, input: dict[str, Any]) -> dict[str, Any]:  # noqa: A002
    def run() -> dict[str, Any]:
        purchase = _purchase(input["addOnPurchaseId"], info.context["user"])
        user = _user(input["userId"])
        add_ons.assign_seat(purchase.id, user, app_clock().now())
        return {"addOnPurchase": purchase_json(purchase), "user": user_json(user), "errors": []}

    return _mutation(info, input, run)


def _remove(info: Any, input: dict[str, Any]) -> dict[str, Any]:  # noqa: A002
    def run() -> dict[str, Any]:
        purchase = _purchase(input["addOnPurchaseId"], info.context["user"])
        user = _user(input["userId"])
        add_ons.remove_seat(purchase.id, user)
        return {"addOnPurchase": purchase_json(purchase), "user": user_json(user), "errors": []}

    return _mutation(info, input, run)


def _bulk(assign: bool) -> Callable[..., dict[str, Any]]:
    limit, too_many = (
        (BULK_CREATE_LIMIT, BULK_CREATE_TOO_MANY)
        if assign
        else (BULK_REMOVE_LIMIT, BULK_REMOVE_TOO_MANY)
    )

    def resolve(info: Any, input: dict[str, Any]) -> dict[str, Any]:  # noqa: A002
        def run() -> dict[str, Any]:
            purchase = _purchase(input["addOnPurchaseId"], info.context["user"])
            if len(input["userIds"]) > limit:
                # An argument error in GitLab: top-level, and the payload is null.
                raise GraphQLError(too_many)
            ids = [gid(value, USER_GID) for value in input["userIds"]]
            if assign:
                changed = add_ons.bulk_assign(purchase.id, ids, app_clock().now())
            else:
                changed = add_ons.bulk_remove(purchase.id, ids)
            return {
                "addOnPurchase": purchase_json(purchase),
                "users": listed(changed, purchase),
                "errors": [],
            }

        return _mutation(info, input, run)

    return resolve


def _activate(info: Any, input: dict[str, Any]) -> dict[str, Any]:  # noqa: A002
    """``gitlabSubscriptionActivate``: the admin page's activation, over GraphQL. Not in a
    savepoint: the activation commits before it calls the portal (``instance.sync``)."""
    _admin(info, write=True)
    extra = {"clientMutationId": input.get("clientMutationId")}
    try:
        outcome = activate(current_app, str(input["activationCode"]), app_clock().now())
    except SyncFailed as failed:
        invalid = failed.code in (ErrorCode.INVALID_ACTIVATION_CODE, "invalid_format")
        message = (
            INVALID_ACTIVATION_CODE if invalid else ADMIN_MESSAGES.get(failed.code, failed.message)
        )
        return extra | {"errors": [message], "license": None}
    assert outcome.license.license_type == LicenseType.ONLINE_CLOUD.value
    return extra | {"errors": [], "license": license_json(outcome.license)}


ROOT: dict[str, Any] = {
    "currentUser": _current_user,
    "currentLicense": _current_license,
    "addOnPurchases": _purchases,
    "addOnPurchase": _one_purchase,
    "selfManagedAddOnEligibleUsers": _eligible,
    "userAddOnAssignmentCreate": _create,
    "userAddOnAssignmentRemove": _remove,
    "userAddOnAssignmentBulkCreate": _bulk(True),
    "userAddOnAssignmentBulkRemove": _bulk(False),
    "gitlabSubscriptionActivate": _activate,
}
