"""GraphQL at ``/api/graphql`` (graphql-core) with GitLab's schema shapes
(``instance.graphql_schema``, resolvers in ``instance.graphql_resolvers``): add-on purchases,
eligible users, the seat assignment mutations (R26, R27), ``currentUser`` and
``gitlabSubscriptionActivate``. Introspection works, so ``gql`` and GraphiQL-style tools load
the schema.

The token is read as the REST API reads it. A revoked, expired or unknown token is 401
``Invalid token``; a blocked user's token 403 with GitLab's text; a ``read_api`` token may query
but not mutate. A request commits once (``webcore.transaction``), never per mutation field: when
any field of a mutation fails, nothing the request did is kept.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, request
from flask.typing import ResponseReturnValue
from graphql import ExecutionResult, GraphQLError, execute_sync, parse, validate

from instance.api import ACCESS_DENIED, INSUFFICIENT_SCOPE, token_from_request
from instance.gitlab_com.graphql_namespace import NAMESPACE_ROOT
from instance.graphql_resolvers import ROOT
from instance.graphql_schema import schema
from instance.tokens import Scope, TokenRefused, authenticate
from webcore.clock import app_clock
from webcore.transaction import discard_changes

log = logging.getLogger("provlab.instance.graphql")
ROOT_VALUE = ROOT | NAMESPACE_ROOT  # GitLab.com's namespace fields beside the instance's
blueprint = Blueprint("graphql", __name__)

# GitLab's GraphqlController answers any unexpected exception with this and logs the exception:
# internal text (a database driver's message, a traceback) never reaches the client.
INTERNAL_ERROR = "Internal server error"
# Far above any real query of this schema (an introspection query is ~300 tokens); bounds
# parsing and validation (both grow with size).
MAX_QUERY_TOKENS = 5000
NOT_APPLIED = (
    "Not applied: another field of this mutation failed, and a mutation is applied in full or "
    "not at all"
)


def _viewer() -> tuple[Any, bool] | tuple[dict[str, Any], int]:
    """(user or None, may mutate), or an error answer."""
    secret = token_from_request()
    if not secret:
        return None, False
    try:
        token = authenticate(secret, app_clock().now())
    except TokenRefused:
        return {"errors": [{"message": "Invalid token"}]}, 401
    if not set(token.scopes) & {Scope.API, Scope.READ_API}:
        return {"errors": [{"message": INSUFFICIENT_SCOPE}]}, 403
    denied = ACCESS_DENIED.get(token.user.state)
    if denied:
        return {"errors": [{"message": denied.format(url=request.host_url.rstrip("/"))}]}, 403
    return token.user, Scope.API in token.scopes


@blueprint.post("/api/graphql")
def graphql_endpoint() -> ResponseReturnValue:
    data = request.get_json(silent=True)
    if not isinstance(data, dict) or not isinstance(data.get("query"), str):
        return {"errors": [{"message": "Expected a JSON body with a 'query' string"}]}, 400
    variables = data.get("variables") or {}
    if not isinstance(variables, dict):
        return {"errors": [{"message": "'variables' must be an object"}]}, 400
    viewer = _viewer()
    if isinstance(viewer[0], dict):
        return viewer
    user, can_write = viewer
    operation = data.get("operationName")
    if operation is not None and not isinstance(operation, str):
        return {"errors": [{"message": "'operationName' must be a string"}]}, 400
    context: dict[str, Any] = {
        "user": user,
        "can_write": can_write,
        "applied": [],
        "refused": False,
    }
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
        root_value=ROOT_VALUE,
        context_value=context,
        variable_values=variables,
        operation_name=operation,
    )


def _internal(error: GraphQLError) -> bool:
    """An exception of ours (a bug), not a GraphQLError raised to answer the client."""
    original = error.original_error
    return original is not None and not isinstance(original, GraphQLError)
