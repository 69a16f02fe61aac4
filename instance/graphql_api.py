"""GraphQL at ``/api/graphql`` (graphql-core): Duo add-on purchases, eligible users, and the seat
assignment mutations with the real product's names and error codes (R26, R27).

Mutations answer like GitLab's: problems with the request itself (not signed in, not an admin, an
unknown purchase) are top-level ``errors``; a refused assignment is the payload's ``errors`` list
holding the code (``NO_SEATS_AVAILABLE``, ``NOT_ENOUGH_SEATS`` ...), with nothing changed.

A request commits once (``webcore.transaction``), never per mutation field: when any field of a
mutation fails, nothing the request did is kept.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, request
from flask.typing import ResponseReturnValue
from graphql import (
    ExecutionResult,
    GraphQLError,
    build_schema,
    execute_sync,
    parse,
    validate,
)

from instance import add_ons
from instance.api import token_from_request
from instance.models import AddOnPurchase, User, db
from instance.tokens import user_for_token
from protocol.license import AddOnTier
from webcore.clock import app_clock
from webcore.params import InvalidNumber, parse_int
from webcore.transaction import discard_changes

log = logging.getLogger("provlab.instance.graphql")
blueprint = Blueprint("graphql", __name__)

PURCHASE_GID = "gid://gitlab/GitlabSubscriptions::AddOnPurchase/"
USER_GID = "gid://gitlab/User/"
# GitLab calls Duo Pro's add-on type CODE_SUGGESTIONS.
ADD_ON_TYPES = {"CODE_SUGGESTIONS": AddOnTier.DUO_PRO, "DUO_ENTERPRISE": AddOnTier.DUO_ENTERPRISE}

SDL = """
enum GitlabSubscriptionsAddOnType { CODE_SUGGESTIONS DUO_ENTERPRISE }

type AddOnPurchase {
  id: ID!
  name: GitlabSubscriptionsAddOnType!
  purchasedQuantity: Int!
  assignedQuantity: Int!
  startsAt: String!
  expiresOn: String!
  trial: Boolean!
  active: Boolean!
}

type AddOnUser {
  id: ID!
  username: String!
  name: String!
  state: String!
  assigned: Boolean!
  lastDuoActivityOn: String
}

type Query {
  addOnPurchases: [AddOnPurchase!]!
  addOnPurchase(addOnType: GitlabSubscriptionsAddOnType!): AddOnPurchase
  selfManagedAddOnEligibleUsers(addOnType: GitlabSubscriptionsAddOnType!, search: String,
                                first: Int): [AddOnUser!]!
}

input UserAddOnAssignmentCreateInput { addOnPurchaseId: ID!, userId: ID!, clientMutationId: String }
input UserAddOnAssignmentRemoveInput { addOnPurchaseId: ID!, userId: ID!, clientMutationId: String }
input UserAddOnAssignmentBulkCreateInput { addOnPurchaseId: ID!, userIds: [ID!]!, clientMutationId: String }
input UserAddOnAssignmentBulkRemoveInput { addOnPurchaseId: ID!, userIds: [ID!]!, clientMutationId: String }

type UserAddOnAssignmentCreatePayload { addOnPurchase: AddOnPurchase, user: AddOnUser, errors: [String!]!, clientMutationId: String }
type UserAddOnAssignmentRemovePayload { addOnPurchase: AddOnPurchase, user: AddOnUser, errors: [String!]!, clientMutationId: String }
type UserAddOnAssignmentBulkCreatePayload { addOnPurchase: AddOnPurchase, users: [AddOnUser!]!, errors: [String!]!, clientMutationId: String }
type UserAddOnAssignmentBulkRemovePayload { addOnPurchase: AddOnPurchase, users: [AddOnUser!]!, errors: [String!]!, clientMutationId: String }

type Mutation {
  userAddOnAssignmentCreate(input: UserAddOnAssignmentCreateInput!): UserAddOnAssignmentCreatePayload
  userAddOnAssignmentRemove(input: UserAddOnAssignmentRemoveInput!): UserAddOnAssignmentRemovePayload
  userAddOnAssignmentBulkCreate(input: UserAddOnAssignmentBulkCreateInput!): UserAddOnAssignmentBulkCreatePayload
  userAddOnAssignmentBulkRemove(input: UserAddOnAssignmentBulkRemoveInput!): UserAddOnAssignmentBulkRemovePayload
}
"""

schema = build_schema(SDL)
NOT_AVAILABLE = (
    "The resource that you are attempting to access does not exist or you don't have "
    "permission to perform this action"
)
# GitLab's GraphqlController answers any unexpected exception with this and logs the exception:
# internal text (a database driver's message, a traceback) never reaches the client.
INTERNAL_ERROR = "Internal server error"
# Far above any real query of this schema; bounds parsing and validation (both grow with size).
MAX_QUERY_TOKENS = 5000


NOT_APPLIED = (
    "Not applied: another field of this mutation failed, and a mutation is applied in full or "
    "not at all"
)


def _purchase_json(purchase: AddOnPurchase) -> dict[str, Any]:
    today = app_clock().now().date()
    name = (
        "DUO_ENTERPRISE" if purchase.tier == AddOnTier.DUO_ENTERPRISE.value else "CODE_SUGGESTIONS"
    )
    return {
        "id": f"{PURCHASE_GID}{purchase.id}",
        "name": name,
        "purchasedQuantity": purchase.quantity,
        "assignedQuantity": add_ons.assigned_count(purchase),
        "startsAt": purchase.starts_on.isoformat(),
        "expiresOn": purchase.ends_on.isoformat(),
        "trial": purchase.trial,
        "active": purchase.is_active_on(today),
    }


def _user_json(user: User, purchase: AddOnPurchase | None) -> dict[str, Any]:
    last = user.code_suggestions_last_used_at
    return {
        "id": f"{USER_GID}{user.id}",
        "username": user.username,
        "name": user.name,
        "state": user.state,
        "assigned": purchase is not None and add_ons.assignment_for(purchase, user) is not None,
        "lastDuoActivityOn": last.date().isoformat() if last else None,
    }


def _gid(value: object, prefix: str) -> int:
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
        # Well formed but out of any id's range: no such record, as GitLab answers it.
        raise GraphQLError(NOT_AVAILABLE) from None


def _admin(info: Any) -> User:
    user = info.context.get("user")
    if user is None or not user.admin:
        raise GraphQLError(NOT_AVAILABLE)
    return user  # type: ignore[no-any-return]


def _purchase(value: object) -> AddOnPurchase:
    purchase = db.session.get(AddOnPurchase, _gid(value, PURCHASE_GID))
    if purchase is None:
        raise GraphQLError(NOT_AVAILABLE)
    return purchase


def _resolve_purchases(info: Any) -> list[dict[str, Any]]:
    _admin(info)
    purchase = add_ons.duo_purchase()
    return [_purchase_json(purchase)] if purchase else []


def _resolve_purchase(info: Any, addOnType: str) -> dict[str, Any] | None:  # noqa: N803
    _admin(info)
    purchase = add_ons.duo_purchase()
    if purchase is None or ADD_ON_TYPES[addOnType].value != purchase.tier:
        return None
    return _purchase_json(purchase)


def _resolve_eligible(
    info: Any,
    addOnType: str,
    search: str | None = None,
    first: int | None = None,  # noqa: N803
) -> list[dict[str, Any]]:
    _admin(info)
    purchase = add_ons.duo_purchase()
    query = add_ons.eligible_users_query(search or "")
    query = query.limit(min(max(first or 100, 1), 100))
    return [_user_json(user, purchase) for user in db.session.execute(query).scalars()]


def _mutation(info: Any, run: Any) -> dict[str, Any]:
    """Run one mutation field in a savepoint: a refusal undoes the field's writes and is
    reported as the payload's error code. Nothing commits here: the request commits once, and
    only when every field succeeded (``graphql_endpoint``)."""
    _admin(info)
    try:
        with db.session.begin_nested():
            result = run()
    except add_ons.AssignmentError as error:
        info.context["refused"] = True
        return {"errors": [error.code], "users": []}
    info.context["applied"].append(info.path.key)
    return result  # type: ignore[no-any-return]


def _create(info: Any, input: dict[str, Any]) -> dict[str, Any]:  # noqa: A002
    def run() -> dict[str, Any]:
        purchase = _purchase(input["addOnPurchaseId"])
        user = db.session.get(User, _gid(input["userId"], USER_GID))
        if user is None:
            raise GraphQLError(NOT_AVAILABLE)
        add_ons.assign_seat(purchase.id, user, app_clock().now())
        return {
            "addOnPurchase": _purchase_json(purchase),
            "user": _user_json(user, purchase),
            "errors": [],
        }

    return _mutation(info, run)


def _remove(info: Any, input: dict[str, Any]) -> dict[str, Any]:  # noqa: A002
    def run() -> dict[str, Any]:
        purchase = _purchase(input["addOnPurchaseId"])
        user = db.session.get(User, _gid(input["userId"], USER_GID))
        if user is None:
            raise GraphQLError(NOT_AVAILABLE)
        add_ons.remove_seat(purchase.id, user)
        return {
            "addOnPurchase": _purchase_json(purchase),
            "user": _user_json(user, purchase),
            "errors": [],
        }

    return _mutation(info, run)


def _bulk(assign: bool) -> Any:
    def resolve(info: Any, input: dict[str, Any]) -> dict[str, Any]:  # noqa: A002
        def run() -> dict[str, Any]:
            purchase = _purchase(input["addOnPurchaseId"])
            ids = [_gid(value, USER_GID) for value in input["userIds"]]
            if assign:
                changed = add_ons.bulk_assign(purchase.id, ids, app_clock().now())
            else:
                changed = add_ons.bulk_remove(purchase.id, ids)
            return {
                "addOnPurchase": _purchase_json(purchase),
                "users": [_user_json(user, purchase) for user in changed],
                "errors": [],
            }

        return _mutation(info, run)

    return resolve


ROOT = {
    "addOnPurchases": _resolve_purchases,
    "addOnPurchase": _resolve_purchase,
    "selfManagedAddOnEligibleUsers": _resolve_eligible,
    "userAddOnAssignmentCreate": _create,
    "userAddOnAssignmentRemove": _remove,
    "userAddOnAssignmentBulkCreate": _bulk(True),
    "userAddOnAssignmentBulkRemove": _bulk(False),
}


@blueprint.post("/api/graphql")
def graphql_endpoint() -> ResponseReturnValue:
    data = request.get_json(silent=True)
    if not isinstance(data, dict) or not isinstance(data.get("query"), str):
        return {"errors": [{"message": "Expected a JSON body with a 'query' string"}]}, 400
    variables = data.get("variables") or {}
    if not isinstance(variables, dict):
        return {"errors": [{"message": "'variables' must be an object"}]}, 400
    token = token_from_request()
    user = user_for_token(token, app_clock().now()) if token else None
    if token and user is None:
        return {"errors": [{"message": "Invalid token"}]}, 401
    operation = data.get("operationName")
    if operation is not None and not isinstance(operation, str):
        return {"errors": [{"message": "'operationName' must be a string"}]}, 400
    context: dict[str, Any] = {"user": user, "applied": [], "refused": False}
    result = _execute(data["query"], variables, operation, context)
    unexpected = [error for error in result.errors or () if _internal(error)]
    if unexpected:
        discard_changes()
        for error in unexpected:
            log.error("GraphQL request failed", exc_info=error.original_error)
        return {"errors": [{"message": INTERNAL_ERROR}]}, 500
    errors = [{"message": error.message, "path": error.path} for error in result.errors or []]
    if errors or context["refused"]:
        # A mutation is all or nothing: one failed field and no field's change is kept. The
        # fields that had succeeded say so instead of showing a change that was undone.
        discard_changes()
        for key in context["applied"]:
            if result.data is not None and key in result.data:
                result.data[key] = None
                errors.append({"message": NOT_APPLIED, "path": [key]})
    body: dict[str, Any] = {"data": result.data}
    if errors:
        body["errors"] = errors
    return body


def _execute(
    query: str, variables: dict[str, Any], operation: str | None, context: dict[str, Any]
) -> ExecutionResult:
    """graphql_sync's steps, with the parse bounded: a huge or deeply nested query is a
    GraphQL error, never a RecursionError."""
    try:
        document = parse(query, max_tokens=MAX_QUERY_TOKENS)
    except GraphQLError as error:
        return ExecutionResult(data=None, errors=[error])
    except RecursionError:
        return ExecutionResult(data=None, errors=[GraphQLError("Query is nested too deeply")])
    problems = validate(schema, document)
    if problems:
        return ExecutionResult(data=None, errors=problems)
    return execute_sync(
        schema,
        document,
        root_value=ROOT,
        context_value=context,
        variable_values=variables,
        operation_name=operation,
    )


def _internal(error: GraphQLError) -> bool:
    """An exception of ours (a bug), not a GraphQLError raised to answer the client."""
    original = error.original_error
    return original is not None and not isinstance(original, GraphQLError)
