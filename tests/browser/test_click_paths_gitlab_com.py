"""The GitLab.com click paths of GitLab's own documents (seeds 000 and 001, "Subscription
add-ons", each section "For GitLab.com" / "On GitLab.com"), followed word for word by role and
label, with GitLab.com and the Customers Portal running as two real servers that provision each
other over HTTP (``tests/browser/conftest.py``), and a real browser (the group owner) between
them. The steps they share are in ``gitlab_com_paths.py``; the plans, the Ultimate trial and the
consumable packs are in ``test_click_paths_gitlab_com_plans.py``.

Seed 001 is the GitLab 16.x version of the page: its *Duo Pro* tab is seed 000's (17.x)
*GitLab Duo* tab, which GitLab.com replicates; its other steps are followed as written.
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from portal.models import AddOnPurchase as PortalAddOnPurchase
from portal.models import db as portal_db
from tests.browser.conftest import BUYER, GitLabCom, acme_group
from tests.browser.gitlab_com_paths import (
    CARD,
    assigned,
    customers_portal_sign_in,
    duo_seats,
    duo_tab,
    find_your_group,
    now,
    open_group_settings,
    orders,
    select_settings,
    sign_in_as_another,
    start_a_trial,
    switch,
)
from tests.browser.screens import buy_duo_pro_on_the_card, sign_in, subscription_card
from tests.instance.conftest import add_user
from tests.instance.gitlab_com.conftest import group, member
from tests.portal.helpers import PASSWORD as PORTAL_PASSWORD

pytestmark = pytest.mark.browser


# -- Assign GitLab Duo seats ---------------------------------------------------------------------


def test_000_r26_r31_assign_a_seat_with_the_toggle_in_settings_gitlab_duo(
    page: Any, gitlab_com: GitLabCom
) -> None:
    """Seed 000 "Assign GitLab Duo seats / For GitLab.com": "To use GitLab Duo features in any
    project or group, you must assign the user to a seat in at least one top-level group. 1. On
    the left sidebar, select Search or go to and find your group. 2. Select Settings > GitLab
    Duo. 3. To the right of the user, turn on the toggle to assign a GitLab Duo seat."

    R31: the billable members listed are those of the group, its subgroup (Dev) and nobody
    else's; R26: the toggle assigns one seat; R1: the seat gives Dev GitLab Duo."""
    acme = acme_group(gitlab_com)
    group(gitlab_com.app, "rivals")
    add_user(gitlab_com.app, "rita", name="Rita Rival")
    member(gitlab_com.app, "rita", "rivals", "owner")
    gitlab_com.subscribe(acme, "acme", duo=3, plan="ultimate")
    # 1. On the left sidebar, select Search or go to and find your group.
    # 2. Select Settings > GitLab Duo.
    open_group_settings(page, gitlab_com, "GitLab Duo")
    expect(page.get_by_role("heading", name="GitLab Duo", exact=True)).to_be_visible()
    users = page.get_by_test_id("duo-users").inner_text()
    assert "Dev Developer" in users and "Olga Owner" in users
    assert "Rita Rival" not in users  # another group's member
    assert "Gus Guest" not in users  # a Guest on Ultimate is not billable (R31)
    # 3. To the right of the user, turn on the toggle to assign a GitLab Duo seat.
    toggle = switch(page, "Dev Developer")
    expect(toggle).to_have_attribute("aria-checked", "false")
    toggle.click()
    page.get_by_text("1 user assigned a seat.").wait_for()
    expect(switch(page, "Dev Developer")).to_have_attribute("aria-checked", "true")
    assert assigned(gitlab_com, acme) == {"dev"}

    # "… in any project or group": Dev, signed in, has GitLab Duo.
    sign_in_as_another(page, gitlab_com, "dev")
    assert page.get_by_test_id("duo-access").inner_text().strip() == "You have access to GitLab Duo"


def test_001_r26_turn_on_the_toggle_in_the_usage_quotas_duo_tab(
    page: Any, gitlab_com: GitLabCom
) -> None:
    """Seed 001 "For GitLab.com" (16.x): "1. On the left sidebar, select Search or go to and
    find your group. 2. Select Settings > Usage Quotas. 3. Select the Duo Pro tab. 4. To the
    right of the user, turn on the toggle to assign GitLab Duo Pro." The tab is *GitLab Duo*
    since 17.x (seed 000)."""
    acme = acme_group(gitlab_com)
    gitlab_com.subscribe(acme, "acme", duo=2)
    open_group_settings(page, gitlab_com, "Usage Quotas")
    duo_tab(page)
    switch(page, "Ann Analyst").click()
    page.get_by_text("1 user assigned a seat.").wait_for()
    assert assigned(gitlab_com, acme) == {"ann"}


def test_000_r27_assign_and_remove_seats_in_bulk_with_confirmation(
    page: Any, gitlab_com: GitLabCom
) -> None:
    """Seed 000 "Assign and remove GitLab Duo seats in bulk / For GitLab.com": "1. On the left
    sidebar, select Search or go to and find your group. 2. Select Settings > Usage Quotas.
    3. Select the GitLab Duo tab. 4. Select the users to assign or remove seats for: To select
    multiple users, to the left of each user, select the checkbox. To select all, select the
    checkbox at the top of the table. 5. Assign or remove seats: To assign seats, select Assign
    seat, then Assign seats to confirm. To remove users from seats, select Remove seat, then
    Remove seats to confirm." (R27; on Premium the Guest is billable too, R31.)"""
    acme = acme_group(gitlab_com)
    gitlab_com.subscribe(acme, "acme", duo=5)
    open_group_settings(page, gitlab_com, "Usage Quotas")
    duo_tab(page)
    panel = page.get_by_role("tabpanel", name="GitLab Duo")
    # To select all, select the checkbox at the top of the table.
    panel.get_by_role("checkbox", name="Select all").check()
    panel.get_by_role("button", name="Assign seat", exact=True).click()
    confirm = page.get_by_role("dialog", name="Confirm bulk seat assignment")
    confirm.get_by_role("button", name="Assign seats").click()
    page.get_by_text("4 users assigned a seat.").wait_for()
    assert assigned(gitlab_com, acme) == {"olga", "dev", "ann", "gus"}
    # To select multiple users, to the left of each user, select the checkbox.
    duo_tab(page)
    panel.get_by_role("checkbox", name="Select ann").check()
    panel.get_by_role("checkbox", name="Select gus").check()
    panel.get_by_role("button", name="Remove seat", exact=True).click()
    confirm = page.get_by_role("dialog", name="Confirm bulk seat removal")
    confirm.get_by_role("button", name="Remove seats").click()
    page.get_by_text("2 users removed from their seat.").wait_for()
    assert assigned(gitlab_com, acme) == {"olga", "dev"}


# -- Purchase GitLab Duo seats, and additional ones -----------------------------------------------


def test_000_r3_buy_gitlab_duo_pro_for_a_group_from_the_subscription_card(
    page: Any, gitlab_com: GitLabCom
) -> None:
    """Seed 000 "Purchase GitLab Duo seats" ("… for your group namespace or self-managed
    instance"): "1. Sign in to the GitLab Customers Portal. 2. On the subscription card, select
    the vertical ellipsis. 3. Select Buy GitLab Duo Pro. 4. Enter the number of seats for GitLab
    Duo. 5. Review the Purchase summary section. 6. From the Payment method dropdown list,
    select your payment method. 7. Select Purchase seats." — on a card of the GitLab SaaS tab;
    R3: the seats reach the group at once, where its owner assigns them."""
    acme = acme_group(gitlab_com)
    name = gitlab_com.subscribe(acme, "acme")
    # 1. Sign in to the GitLab Customers Portal.
    sign_in(page, gitlab_com.portal_url, BUYER, PORTAL_PASSWORD)
    expect(page.get_by_role("tab", name="GitLab SaaS")).to_have_attribute("aria-selected", "true")
    # 2.-7. The card's actions, Buy GitLab Duo Pro, 5 seats, the summary, the card, Purchase.
    buy_duo_pro_on_the_card(page, name, 5, CARD)
    gitlab_com.run_due_jobs()
    assert duo_seats(gitlab_com, acme) == ("duo_pro", 5, False)
    page.goto(f"{gitlab_com.url}/users/sign_in")
    open_group_settings(page, gitlab_com, "Usage Quotas")
    duo_tab(page)
    assert page.get_by_test_id("seats-used").inner_text() == "0 / 5"


def test_000_r5_add_seats_from_usage_quotas_in_the_customers_portal(
    page: Any, gitlab_com: GitLabCom
) -> None:
    """Seed 000 "Purchase additional GitLab Duo seats / For GitLab.com": "1. On the left
    sidebar, select Search or go to and find your group. 2. Select Settings > Usage Quotas.
    3. Select the GitLab Duo tab. 4. Select Add seats. 5. In the Customers Portal, in the Add
    additional seats field, enter the number of seats. The amount cannot be higher than the
    number of seats in the subscription associated with your group namespace. 6. In the Billing
    information section, select the payment method from the dropdown list. 7. Select the
    Privacy Policy and Terms of Service checkbox. 8. Select Purchase seats. 9. Select the GitLab
    SaaS tab and refresh the page." (R5; the seats reach the group at once, R3.)"""
    acme = acme_group(gitlab_com)
    name = gitlab_com.subscribe(acme, "acme", duo=4)
    open_group_settings(page, gitlab_com, "Usage Quotas")
    duo_tab(page)
    assert page.get_by_test_id("seats-used").inner_text() == "0 / 4"
    # 4. Select Add seats.
    page.get_by_role("tabpanel", name="GitLab Duo").get_by_role("link", name="Add seats").click()
    # The Customers Portal: its own account (the one that bought the subscription).
    customers_portal_sign_in(page)
    expect(page.get_by_role("heading", name="Add additional seats")).to_be_visible()
    # 5. … enter the number of seats; not more than the subscription's 10 seats (4 + 7 > 10).
    page.get_by_label("Add additional seats").fill("7")
    billing = page.get_by_role("region", name="Billing information")
    billing.get_by_label("Payment method").select_option(label=CARD)
    billing.get_by_role("checkbox", name="Privacy Policy and Terms of Service").check()
    billing.get_by_role("button", name="Purchase seats").click()
    page.get_by_text("can't exceed", exact=False).first.wait_for()
    assert orders(gitlab_com) == [("duo_pro", 4)]
    page.get_by_label("Add additional seats").fill("3")
    # 6. In the Billing information section, select the payment method from the dropdown list.
    billing.get_by_label("Payment method").select_option(label=CARD)
    # 8. before 7: without the checkbox the purchase is refused.
    billing.get_by_role("button", name="Purchase seats").click()
    page.get_by_text("Accept the Privacy Policy and Terms of Service to purchase seats.").wait_for()
    assert orders(gitlab_com) == [("duo_pro", 4)]
    # 7. Select the Privacy Policy and Terms of Service checkbox.
    billing.get_by_role("checkbox", name="Privacy Policy and Terms of Service").check()
    # 8. Select Purchase seats.
    billing.get_by_role("button", name="Purchase seats").click()
    page.get_by_text("Your purchase of 3 seats for acme is complete").wait_for()
    assert orders(gitlab_com) == [("duo_pro", 4), ("add_on_seats", 3)]
    # 9. Select the GitLab SaaS tab and refresh the page.
    page.get_by_role("tab", name="GitLab SaaS").click()
    page.reload()
    expect(page.get_by_role("tab", name="GitLab SaaS")).to_have_attribute("aria-selected", "true")
    card = subscription_card(page, name)
    assert card.get_by_test_id("linked-group").inner_text() == "acme"
    assert "7 seats" in card.get_by_test_id("duo-section").inner_text()

    # The portal pushed the group's new state: GitLab.com shows 7 seats.
    gitlab_com.run_due_jobs()
    assert duo_seats(gitlab_com, acme) == ("duo_pro", 7, False)
    page.goto(f"{gitlab_com.url}/groups/acme/-/usage_quotas#code-suggestions-usage-tab")
    assert page.get_by_test_id("seats-used").inner_text() == "0 / 7"


# -- Start GitLab Duo Pro trial --------------------------------------------------------------------


def test_000_r25_start_a_duo_pro_trial_from_billing_picking_the_group_when_prompted(
    page: Any, gitlab_com: GitLabCom
) -> None:
    """Seed 000 "Start GitLab Duo Pro trial / On GitLab.com": "You must be an owner of a
    top-level group that has an active paid subscription or Ultimate trial. 1. On the left
    sidebar, select Search or go to and find your group. 2. Select Settings > Billing.
    3. Select Start a free GitLab Duo Pro trial. 4. Complete the fields. 5. Select Continue.
    6. If prompted, select the group that the trial should be applied to. 7. Select Activate my
    trial. 8. Assign seats to the users who need access."

    Olga owns two paid groups, so she is prompted (the one she came from is chosen). R25: the
    trial applies at once, no sync to wait for; the portal records it (R7)."""
    acme = acme_group(gitlab_com)
    beta = group(gitlab_com.app, "beta")
    member(gitlab_com.app, "olga", "beta", "owner")
    acme_name = gitlab_com.subscribe(acme, "acme")
    gitlab_com.subscribe(beta, "beta", plan="ultimate")
    before = now(gitlab_com)
    # 1. On the left sidebar, select Search or go to and find your group.
    # 2. Select Settings > Billing.
    open_group_settings(page, gitlab_com, "Billing")
    expect(page.get_by_text("Acme is currently using the Premium Plan")).to_be_visible()
    # 3. Select Start a free GitLab Duo Pro trial. 4. Complete the fields. 5. Select Continue.
    start_a_trial(
        page, "Start a free GitLab Duo Pro trial", heading="Start your free GitLab Duo Pro trial"
    )
    # 6. If prompted, select the group that the trial should be applied to.
    heading = "Apply your GitLab Duo Pro trial to an existing group"
    expect(page.get_by_role("heading", name=heading)).to_be_visible()
    chooser = page.get_by_label("This trial is for")
    assert chooser.locator("option:checked").inner_text() == "Acme"  # where she came from
    chooser.select_option(label="Acme")
    # 7. Select Activate my trial.
    page.get_by_role("button", name="Activate my trial").click()
    page.get_by_text("You have successfully started a Duo Pro trial that will expire on").wait_for()
    assert duo_seats(gitlab_com, acme) == ("duo_pro", 10, True)
    assert duo_seats(gitlab_com, beta) is None
    assert now(gitlab_com) == before  # at once: no time passed, no job ran
    # 8. Assign seats to the users who need access: she landed on Settings → GitLab Duo.
    expect(page.get_by_role("heading", name="GitLab Duo", exact=True)).to_be_visible()
    switch(page, "Dev Developer").click()
    page.get_by_text("1 user assigned a seat.").wait_for()
    assert assigned(gitlab_com, acme) == {"dev"}
    # The Customers Portal holds the trial on Acme's subscription, as it answered GitLab.com.
    with gitlab_com.portal.app_context():
        trials = portal_db.session.execute(
            sa.select(PortalAddOnPurchase).where(PortalAddOnPurchase.trial.is_(True))
        ).scalars()
        assert [(row.subscription.name, row.quantity) for row in trials] == [(acme_name, 10)]


def test_000_r25_with_one_eligible_group_continue_activates_the_trial_unprompted(
    page: Any, gitlab_com: GitLabCom
) -> None:
    """Seed 000 "Start GitLab Duo Pro trial / On GitLab.com", step 6 "If prompted": an owner of
    one eligible group is not prompted; *Continue* applies the trial to it at once (R25), as
    GitLab does when a single group is eligible."""
    acme = acme_group(gitlab_com)
    gitlab_com.subscribe(acme, "acme")
    open_group_settings(page, gitlab_com, "Billing")
    start_a_trial(page, "Start a free GitLab Duo Pro trial")
    page.get_by_text("You have successfully started a Duo Pro trial that will expire on").wait_for()
    expect(page.get_by_label("This trial is for")).to_have_count(0)
    assert duo_seats(gitlab_com, acme) == ("duo_pro", 10, True)
    # The trial is there: Billing no longer offers one, and says why.
    select_settings(page, "Billing")
    expect(page.get_by_role("link", name="Start a free GitLab Duo Pro trial")).to_have_count(0)
    assert "already has a GitLab Duo add-on or trial" in (
        page.get_by_test_id("trial-unavailable").inner_text()
    )


def test_000_r25_a_free_group_and_a_developer_get_no_trial(
    page: Any, gitlab_com: GitLabCom
) -> None:
    """Seed 000's prerequisite "You must be an owner of a top-level group that has an active
    paid subscription or Ultimate trial": on a Free group Billing offers no trial and says why;
    a Developer has no Settings to select."""
    acme_group(gitlab_com)
    open_group_settings(page, gitlab_com, "Billing")
    expect(page.get_by_text("Acme is currently using the Free Plan")).to_be_visible()
    expect(page.get_by_role("link", name="Start a free GitLab Duo Pro trial")).to_have_count(0)
    assert "active paid subscription or an Ultimate trial" in (
        page.get_by_test_id("trial-unavailable").inner_text()
    )
    sign_in_as_another(page, gitlab_com, "dev")
    find_your_group(page, "Acme")
    sidebar = page.get_by_role("complementary", name="Sidebar")
    expect(sidebar.get_by_role("button", name="Settings", exact=True)).to_have_count(0)
    assert page.goto(f"{gitlab_com.url}/groups/acme/-/billings").status == 404
