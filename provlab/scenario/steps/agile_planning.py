"""Enterprise Agile Planning in scenarios: sales' order (R3, R4, R5, R6), and which purchase a
seat step changes when it names the add-on."""

from __future__ import annotations

from typing import Any

from instance.agile_planning import agile_planning_purchase
from instance.models import AddOnPurchase
from portal.agile_planning import sell_agile_planning
from protocol.license import AddOnTier
from provlab.scenario.steps.refusals import refusal_expected
from provlab.scenario.vocabulary import StepContext, action

AGILE_PLANNING = AddOnTier.ENTERPRISE_AGILE_PLANNING.value


def purchase_of(
    context: StepContext,
    add_on: Any,
    duo: AddOnPurchase | None,
    namespace_id: int | None = None,
) -> AddOnPurchase | None:
    """The purchase a seat step names: GitLab Duo's (no ``add_on``) or Enterprise Agile
    Planning's, the instance's or a GitLab.com group's."""
    if add_on is None:
        return duo
    if add_on != AGILE_PLANNING:
        context.malformed(f"add_on is {AGILE_PLANNING} (or left out for GitLab Duo)")
    return agile_planning_purchase(namespace_id)


@action(
    "sell_agile_planning",
    "- sell_agile_planning: {subscription: A-S00000001, seats: 10, expect_refusal: Premium and}",
)
def sell_agile_planning_seats(context: StepContext, args: Any) -> None:
    """Sales adds Enterprise Agile Planning seats (sales only, R3; Premium and Ultimate, R4; never
    above the subscription's seats, R5); any GitLab Duo tier stays as it is (R6)."""
    fields = context.mapping(args, {"subscription", "seats"}, {"expect_refusal"})
    with refusal_expected(context, fields.get("expect_refusal"), "Enterprise Agile Planning order"):
        with context.portal.sales_order(str(fields["subscription"])) as terms:
            sell_agile_planning(terms, int(fields["seats"]))
