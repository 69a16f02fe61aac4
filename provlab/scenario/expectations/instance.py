"""What the instance shows: its license, GitLab Duo purchase, menu and warning, seat
assignments, sync status and billable users (R14-R18, R26, R30)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from instance.add_ons import DUO, duo_availability, duo_purchase
from instance.licenses import current_license
from instance.models import AddOnPurchase, User, UserAddOnAssignment
from instance.sync import sync_report
from instance.users import billable_user_count
from provlab.scenario.users import usernames
from provlab.scenario.vocabulary import StepContext, expectation


@expectation("license", "license: {type: online_cloud, plan: ultimate, seats: 50}")
def expect_license(context: StepContext, args: Any) -> None:
    """The instance's current license (or `none: true`)."""
    fields = context.mapping(args, set(), {"type", "plan", "seats", "subscription", "none"})
    with context.instance.reading():
        row = context.present(
            fields,
            current_license(),
            lambda row: f"the instance has a {row.license_type} license",
            "the instance has no license",
        )
        if row is None:
            return
        mapped = {
            "type": row.license_type,
            "plan": row.plan,
            "seats": row.seats,
            "subscription": row.subscription_name,
        }
        context.compare_shown(mapped, fields, "license")


@expectation(
    "duo_purchase", "duo_purchase: {tier: duo_pro, quantity: 30, trial: false, active: true}"
)
def expect_duo_purchase(context: StepContext, args: Any) -> None:
    """The instance's GitLab Duo add-on purchase (or `none: true`)."""
    fields = context.mapping(args, set(), {"tier", "quantity", "trial", "active", "none"})
    instance = context.instance
    with instance.reading():
        purchase = context.present(
            fields,
            duo_purchase(),
            lambda purchase: f"the instance has {purchase.tier} ({purchase.quantity} seats)",
            "the instance knows no GitLab Duo purchase",
        )
        if purchase is None:
            return
        context.compare_active(purchase, fields, instance.now().date(), "the purchase")
        context.compare(purchase, fields, ("tier", "quantity", "trial"))


@expectation("duo_menu", "duo_menu: shown      # or hidden")
def expect_duo_menu(context: StepContext, args: Any) -> None:
    """Whether the admin's GitLab Duo menu is shown (R15)."""
    if args not in ("shown", "hidden"):
        context.malformed("duo_menu is 'shown' or 'hidden'")
    shown = 'href="/admin/gitlab_duo"' in context.instance.admin_page()
    if shown != (args == "shown"):
        context.fail(f"the GitLab Duo menu is {'shown' if shown else 'hidden'}")


@expectation("duo_warning", "duo_warning: degraded    # or none")
def expect_duo_warning(context: StepContext, args: Any) -> None:
    """The degraded-experience warning below GitLab 17.2 (R18)."""
    if args not in ("degraded", "none"):
        context.malformed("duo_warning is 'degraded' or 'none'")
    instance = context.instance
    with instance.reading():
        availability = duo_availability(instance.now(), instance.app.config["GITLAB_VERSION"])
    if (availability.warning is not None) != (args == "degraded"):
        context.fail(f"the warning is {availability.warning!r}")


# GitLab Duo's seats only: Enterprise Agile Planning's are the ``agile_planning`` expectation's.
_DUO_PURCHASES = sa.select(AddOnPurchase.id).where(AddOnPurchase.add_on == DUO)


@expectation("assigned", "assigned: [alice, bob]")
def expect_assigned(context: StepContext, args: Any) -> None:
    """Exactly these users hold GitLab Duo seats."""
    if not isinstance(args, list):
        context.malformed("assigned is a list of usernames")
    with context.instance.reading() as session:
        names = sorted(
            session.execute(
                sa.select(User.username)
                .join(UserAddOnAssignment, UserAddOnAssignment.user_id == User.id)
                .where(UserAddOnAssignment.add_on_purchase_id.in_(_DUO_PURCHASES))
            ).scalars()
        )
    expected = sorted(usernames(args))
    if names != expected:
        missing, extra = sorted(set(expected) - set(names)), sorted(set(names) - set(expected))
        context.fail(f"seats differ: missing {missing}, unexpected {extra}")


@expectation("assigned_count", "assigned_count: 30")
def expect_assigned_count(context: StepContext, args: Any) -> None:
    """How many GitLab Duo seats are assigned."""
    with context.instance.reading() as session:
        count = session.execute(
            sa.select(sa.func.count())
            .select_from(UserAddOnAssignment)
            .where(UserAddOnAssignment.add_on_purchase_id.in_(_DUO_PURCHASES))
        ).scalar_one()
    if count != int(args):
        context.fail(f"{count} seats are assigned, expected {args}")


@expectation(
    "sync", "sync: {last_error_contains: connectivity}    # or {no_error: true, succeeded: true}"
)
def expect_sync(context: StepContext, args: Any) -> None:
    """What Admin → Subscription shows about syncing (R14, R16)."""
    fields = context.mapping(args, set(), {"last_error_contains", "no_error", "succeeded"})
    with context.instance.reading():
        report = sync_report()
    if "last_error_contains" in fields:
        if (
            not report.last_error
            or str(fields["last_error_contains"]).lower() not in report.last_error.lower()
        ):
            context.fail(f"the last sync error is {report.last_error!r}")
    if fields.get("no_error") and report.last_error:
        context.fail(f"the last sync failed: {report.last_error}")
    if "succeeded" in fields and (report.last_success_at is not None) != bool(fields["succeeded"]):
        context.fail(f"last successful sync: {report.last_success_at}")


@expectation("billable_users", "billable_users: 12")
def expect_billable_users(context: StepContext, args: Any) -> None:
    """The instance's billable user count (R30)."""
    with context.instance.reading():
        count = billable_user_count()
    if count != int(args):
        context.fail(f"{count} billable users, expected {args}")
