"""GitLab.com's namespace fields of the GraphQL API: ``namespace(fullPath:)`` and
``group(fullPath:)``, and on them ``addOnEligibleUsers``, the list the *Usage Quotas → GitLab
Duo* tab assigns seats from (GitLab's AddOnEligibleUsersResolver).

Rules: a group the viewer may not see is null, as GitLab answers it; ``addOnEligibleUsers`` is
for those who manage the group's add-on seats (its Owners, administrators) and lists the
billable members of its top-level group (R2, R31: ``duo.group_eligible_users_query``), narrowed
by ``search`` and ``filterByAssignedSeat`` ("Yes"/"No": holding a seat of one of
``addOnPurchaseIds``). Others get GitLab's "does not exist or you don't have permission" error.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from graphql import GraphQLError

from instance.gitlab_com.api_groups import full_name
from instance.gitlab_com.duo import can_manage_group_seats, group_eligible_users_query
from instance.gitlab_com.groups import find_group
from instance.gitlab_com.memberships import can_read
from instance.graphql_resolvers import (
    GROUP_GID,
    NOT_AVAILABLE,
    PURCHASE_GID,
    connection,
    gid,
    user_json,
)
from instance.models import User, UserAddOnAssignment
from instance.namespace_models import Namespace

SEAT_FILTERS = {"Yes": True, "No": False}


def _eligible_users(group: Namespace) -> Any:
    def resolve(
        info: Any,
        addOnType: str,  # noqa: N803 - GitLab's argument names
        addOnPurchaseIds: list[Any],  # noqa: N803
        search: str | None = None,
        filterByAssignedSeat: str | None = None,  # noqa: N803
        **args: Any,
    ) -> dict[str, Any]:
        root_id = group.root_id or group.id
        if not can_manage_group_seats(info.context.get("user"), root_id):
            raise GraphQLError(NOT_AVAILABLE)
        purchase_ids = [gid(value, PURCHASE_GID) for value in addOnPurchaseIds]
        query = group_eligible_users_query(root_id, (search or "").strip())
        if filterByAssignedSeat is not None:
            if filterByAssignedSeat not in SEAT_FILTERS:
                raise GraphQLError("filterByAssignedSeat must be Yes or No")
            holders = sa.select(UserAddOnAssignment.user_id).where(
                UserAddOnAssignment.add_on_purchase_id.in_(purchase_ids)
            )
            seated = User.id.in_(holders)
            query = query.where(seated if SEAT_FILTERS[filterByAssignedSeat] else ~seated)
        return connection(query, user_json, args)

    return resolve


def namespace_json(group: Namespace) -> dict[str, Any]:
    return {
        "id": f"{GROUP_GID}{group.id}",
        "name": group.name,
        "path": group.path,
        "fullName": full_name(group.full_path),
        "fullPath": group.full_path,
        "addOnEligibleUsers": _eligible_users(group),
    }


def _namespace(info: Any, fullPath: str) -> dict[str, Any] | None:  # noqa: N803
    user = info.context.get("user")
    group = find_group(str(fullPath)[:1000])
    if group is None or user is None or not can_read(group, user):
        return None
    return namespace_json(group)


NAMESPACE_ROOT: dict[str, Any] = {"namespace": _namespace, "group": _namespace}
