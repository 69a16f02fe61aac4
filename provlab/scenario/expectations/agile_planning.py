"""What the instance, or a GitLab.com group, holds of Enterprise Agile Planning: a purchase of
its own beside GitLab Duo's (R6), and who holds its seats (R2, R26)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from instance.agile_planning import agile_planning_purchase
from instance.models import User, UserAddOnAssignment
from provlab.scenario.users import usernames
from provlab.scenario.vocabulary import StepContext, expectation


@expectation(
    "agile_planning",
    "agile_planning: {group: acme, quantity: 10, active: true, assigned: [dev01, dev02]}",
)
def expect_agile_planning(context: StepContext, args: Any) -> None:
    """The Enterprise Agile Planning purchase of the self-managed instance, or with ``group`` of
    that GitLab.com top-level group (or `none: true`); ``assigned``: exactly these users hold
    its seats."""
    fields = context.mapping(
        args, set(), {"group", "quantity", "trial", "active", "assigned", "none"}
    )
    party = context.gitlab_com if "group" in fields else context.instance
    with party.reading() as session:
        namespace_id = context.gitlab_com.group(fields["group"]).id if "group" in fields else None
        purchase = context.present(
            fields,
            agile_planning_purchase(namespace_id),
            lambda purchase: f"Enterprise Agile Planning has {purchase.quantity} seats",
            "there is no Enterprise Agile Planning purchase",
        )
        if purchase is None:
            return
        context.compare_active(purchase, fields, party.now().date(), "Enterprise Agile Planning")
        context.compare(purchase, fields, ("quantity", "trial"), "Enterprise Agile Planning")
        if "assigned" in fields:
            found = sorted(
                session.execute(
                    sa.select(User.username)
                    .join(UserAddOnAssignment, UserAddOnAssignment.user_id == User.id)
                    .where(UserAddOnAssignment.add_on_purchase_id == purchase.id)
                ).scalars()
            )
            wanted = sorted(usernames(fields["assigned"]))
            if found != wanted:
                context.fail(
                    f"Enterprise Agile Planning seats are held by {found}, expected {wanted}"
                )
