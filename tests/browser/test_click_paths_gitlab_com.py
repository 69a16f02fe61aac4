"""The GitLab.com click paths of GitLab's own documents (seeds 000 and 001, "Subscription
add-ons", each section "For GitLab.com" / "On GitLab.com"), followed word for word by role and
label, with GitLab.com and the Customers Portal running as two real servers that provision each
other over HTTP (``tests/browser/conftest.py``), and a real browser (the group owner) between
them.

Seed 001 is the GitLab 16.x version of the page: its *Duo Pro* tab is seed 000's (17.x)
*GitLab Duo* tab, which GitLab.com replicates; its other steps are followed as written.

The consumable packs (R6) are not in the seeds; their path follows GitLab's documentation
("Purchase additional compute minutes", "Purchase more storage"): *Settings → Usage Quotas →
Pipelines / Storage → Buy additional compute minutes / Buy storage*.
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from instance.gitlab_com.provisioning import group_duo_purchase, group_subscription
from portal.models import AddOnPurchase as PortalAddOnPurchase
from portal.models import Order
from portal.models import db as portal_db
from tests.browser.conftest import BUYER, GitLabCom, acme_group
from tests.browser.screens import buy_duo_pro_on_the_card, click_to_page, sign_in
from tests.instance.conftest import PASSWORD, add_user
from tests.instance.gitlab_com.conftest import group, group_seat_holders, member
from tests.portal.helpers import PASSWORD as PORTAL_PASSWORD
from tests.portal.helpers import make_account
from webcore.clock import app_clock

pytestmark = pytest.mark.browser

CARD = "Visa ending in 4242"


# -- the world each path starts from ------------------------------------------------------------


def _now(gitlab_com: GitLabCom) -> Any:
    return app_clock(gitlab_com.portal).now()


def _assigned(gitlab_com: GitLabCom, group_id: int) -> set[str]:
    return set(group_seat_holders(gitlab_com.app, group_id))


def _duo_seats(gitlab_com: GitLabCom, group_id: int) -> tuple[str, int, bool] | None:
    with gitlab_com.app.app_context():
        purchase = group_duo_purchase(group_id)
        return (purchase.tier, purchase.quantity, purchase.trial) if purchase else None


def _orders(gitlab_com: GitLabCom) -> list[tuple[str, int]]:
    with gitlab_com.portal.app_context():
        rows = portal_db.session.execute(sa.select(Order).order_by(Order.id)).scalars()
        return [(row.kind, row.quantity) for row in rows]


# -- the steps every GitLab.com path starts with ------------------------------------------------


def _find_your_group(page: Any, name: str) -> None:
    """On the left sidebar, select **Search or go to** and find your group."""
    sidebar = page.get_by_role("complementary", name="Sidebar")
    sidebar.get_by_role("button", name="Search or go to").click()
    search = page.get_by_role("dialog", name="Search or go to")
    search.get_by_role("searchbox", name="Search GitLab").fill(name[:3].lower())
    expect(search.get_by_role("link", name="Beta", exact=True)).to_have_count(0)  # not typed
    search.get_by_role("link", name=name, exact=True).click()
    page.get_by_role("heading", name=name, exact=True).wait_for()


def _select_settings(page: Any, item: str) -> None:
    """Select **Settings > {item}**."""
    sidebar = page.get_by_role("complementary", name="Sidebar")
    settings = sidebar.get_by_role("button", name="Settings", exact=True)
    if settings.get_attribute("aria-expanded") != "true":
        settings.click()
    # Wait for the new page itself: wait_for_load_state() alone can return for the page being
    # left, and the next check would then read the old page.
    with page.expect_navigation():
        sidebar.get_by_role("link", name=item, exact=True).click()


def _duo_tab(page: Any) -> None:
    """Select the **GitLab Duo** tab."""
    page.get_by_role("tab", name="GitLab Duo", exact=True).click()
    # The tab switches on the fragment's hashchange, after the click returns: wait for it.
    expect(page.get_by_role("tab", name="GitLab Duo")).to_have_attribute("aria-selected", "true")
    page.get_by_role("tabpanel", name="GitLab Duo").wait_for()


def _switch(page: Any, name: str) -> Any:
    return page.get_by_role("row", name=name).get_by_role("switch")


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
    sign_in(page, gitlab_com.url, "olga", PASSWORD)

    # 1. On the left sidebar, select Search or go to and find your group.
    _find_your_group(page, "Acme")
    # 2. Select Settings > GitLab Duo.
    _select_settings(page, "GitLab Duo")
    expect(page.get_by_role("heading", name="GitLab Duo", exact=True)).to_be_visible()
    users = page.get_by_test_id("duo-users").inner_text()
    assert "Dev Developer" in users and "Olga Owner" in users
    assert "Rita Rival" not in users  # another group's member
    assert "Gus Guest" not in users  # a Guest on Ultimate is not billable (R31)
    # 3. To the right of the user, turn on the toggle to assign a GitLab Duo seat.
    toggle = _switch(page, "Dev Developer")
    expect(toggle).to_have_attribute("aria-checked", "false")
    toggle.click()
    page.get_by_text("1 user assigned a seat.").wait_for()
    expect(_switch(page, "Dev Developer")).to_have_attribute("aria-checked", "true")
    assert _assigned(gitlab_com, acme) == {"dev"}

    # "… in any project or group": Dev, signed in, has GitLab Duo.
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, gitlab_com.url, "dev", PASSWORD)
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
    sign_in(page, gitlab_com.url, "olga", PASSWORD)
    _find_your_group(page, "Acme")
    _select_settings(page, "Usage Quotas")
    _duo_tab(page)
    _switch(page, "Ann Analyst").click()
    page.get_by_text("1 user assigned a seat.").wait_for()
    assert _assigned(gitlab_com, acme) == {"ann"}


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
    sign_in(page, gitlab_com.url, "olga", PASSWORD)
    _find_your_group(page, "Acme")
    _select_settings(page, "Usage Quotas")
    _duo_tab(page)
    panel = page.get_by_role("tabpanel", name="GitLab Duo")
    # To select all, select the checkbox at the top of the table.
    panel.get_by_role("checkbox", name="Select all").check()
    panel.get_by_role("button", name="Assign seat", exact=True).click()
    confirm = page.get_by_role("dialog", name="Confirm bulk seat assignment")
    confirm.get_by_role("button", name="Assign seats").click()
    page.get_by_text("4 users assigned a seat.").wait_for()
    assert _assigned(gitlab_com, acme) == {"olga", "dev", "ann", "gus"}
    # To select multiple users, to the left of each user, select the checkbox.
    _duo_tab(page)
    panel.get_by_role("checkbox", name="Select ann").check()
    panel.get_by_role("checkbox", name="Select gus").check()
    panel.get_by_role("button", name="Remove seat", exact=True).click()
    confirm = page.get_by_role("dialog", name="Confirm bulk seat removal")
    confirm.get_by_role("button", name="Remove seats").click()
    page.get_by_text("2 users removed from their seat.").wait_for()
    assert _assigned(gitlab_com, acme) == {"olga", "dev"}


# -- Purchase additional GitLab Duo seats ----------------------------------------------------------


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
    sign_in(page, gitlab_com.url, "olga", PASSWORD)
    _find_your_group(page, "Acme")
    _select_settings(page, "Usage Quotas")
    _duo_tab(page)
    assert page.get_by_test_id("seats-used").inner_text() == "0 / 4"
    # 4. Select Add seats.
    page.get_by_role("tabpanel", name="GitLab Duo").get_by_role("link", name="Add seats").click()
    # The Customers Portal: its own account (the one that bought the subscription).
    page.get_by_label("Username or email").fill(BUYER)
    page.get_by_label("Password").fill(PORTAL_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Add additional seats")).to_be_visible()
    # 5. … enter the number of seats; not more than the subscription's 10 seats (4 + 7 > 10).
    page.get_by_label("Add additional seats").fill("7")
    billing = page.get_by_role("region", name="Billing information")
    billing.get_by_label("Payment method").select_option(label=CARD)
    billing.get_by_role("checkbox", name="Privacy Policy and Terms of Service").check()
    billing.get_by_role("button", name="Purchase seats").click()
    page.get_by_text("can't exceed", exact=False).first.wait_for()
    assert _orders(gitlab_com) == [("duo_pro", 4)]
    page.get_by_label("Add additional seats").fill("3")
    # 6. In the Billing information section, select the payment method from the dropdown list.
    billing.get_by_label("Payment method").select_option(label=CARD)
    # 8. before 7: without the checkbox the purchase is refused.
    billing.get_by_role("button", name="Purchase seats").click()
    page.get_by_text("Accept the Privacy Policy and Terms of Service to purchase seats.").wait_for()
    assert _orders(gitlab_com) == [("duo_pro", 4)]
    # 7. Select the Privacy Policy and Terms of Service checkbox.
    billing.get_by_role("checkbox", name="Privacy Policy and Terms of Service").check()
    # 8. Select Purchase seats.
    billing.get_by_role("button", name="Purchase seats").click()
    page.get_by_text("Your purchase of 3 seats for acme is complete").wait_for()
    assert _orders(gitlab_com) == [("duo_pro", 4), ("add_on_seats", 3)]
    # 9. Select the GitLab SaaS tab and refresh the page.
    page.get_by_role("tab", name="GitLab SaaS").click()
    page.reload()
    expect(page.get_by_role("tab", name="GitLab SaaS")).to_have_attribute("aria-selected", "true")
    card = page.get_by_test_id("subscription-card").filter(has=page.get_by_text(name, exact=True))
    assert card.get_by_test_id("linked-group").inner_text() == "acme"
    assert "7 seats" in card.get_by_test_id("duo-section").inner_text()

    # The portal pushed the group's new state: GitLab.com shows 7 seats.
    gitlab_com.run_due_jobs()
    assert _duo_seats(gitlab_com, acme) == ("duo_pro", 7, False)
    page.goto(f"{gitlab_com.url}/groups/acme/-/usage_quotas#code-suggestions-usage-tab")
    assert page.get_by_test_id("seats-used").inner_text() == "0 / 7"


# -- Start GitLab Duo Pro trial --------------------------------------------------------------------


def _complete_the_fields(page: Any) -> None:
    """4. Complete the fields."""
    assert page.get_by_label("First name").input_value() == "Olga"
    assert page.get_by_label("Last name").input_value() == "Owner"
    page.get_by_label("Company name").fill("Acme Inc.")
    page.get_by_label("Country").select_option(label="Germany")


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
    before = _now(gitlab_com)
    sign_in(page, gitlab_com.url, "olga", PASSWORD)

    # 1. On the left sidebar, select Search or go to and find your group.
    _find_your_group(page, "Acme")
    # 2. Select Settings > Billing.
    _select_settings(page, "Billing")
    expect(page.get_by_text("Acme is currently using the Premium Plan")).to_be_visible()
    # 3. Select Start a free GitLab Duo Pro trial.
    page.get_by_role("link", name="Start a free GitLab Duo Pro trial").click()
    expect(page.get_by_role("heading", name="Start your free GitLab Duo Pro trial")).to_be_visible()
    # 4. Complete the fields.
    _complete_the_fields(page)
    # 5. Select Continue.
    page.get_by_role("button", name="Continue").click()
    # 6. If prompted, select the group that the trial should be applied to.
    heading = "Apply your GitLab Duo Pro trial to an existing group"
    expect(page.get_by_role("heading", name=heading)).to_be_visible()
    chooser = page.get_by_label("This trial is for")
    assert chooser.locator("option:checked").inner_text() == "Acme"  # where she came from
    chooser.select_option(label="Acme")
    # 7. Select Activate my trial.
    page.get_by_role("button", name="Activate my trial").click()
    page.get_by_text("You have successfully started a Duo Pro trial that will expire on").wait_for()
    assert _duo_seats(gitlab_com, acme) == ("duo_pro", 10, True)
    assert _duo_seats(gitlab_com, beta) is None
    assert _now(gitlab_com) == before  # at once: no time passed, no job ran
    # 8. Assign seats to the users who need access: she landed on Settings → GitLab Duo.
    expect(page.get_by_role("heading", name="GitLab Duo", exact=True)).to_be_visible()
    _switch(page, "Dev Developer").click()
    page.get_by_text("1 user assigned a seat.").wait_for()
    assert _assigned(gitlab_com, acme) == {"dev"}
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
    sign_in(page, gitlab_com.url, "olga", PASSWORD)
    _find_your_group(page, "Acme")
    _select_settings(page, "Billing")
    page.get_by_role("link", name="Start a free GitLab Duo Pro trial").click()
    _complete_the_fields(page)
    page.get_by_role("button", name="Continue").click()
    page.get_by_text("You have successfully started a Duo Pro trial that will expire on").wait_for()
    expect(page.get_by_label("This trial is for")).to_have_count(0)
    assert _duo_seats(gitlab_com, acme) == ("duo_pro", 10, True)
    # The trial is there: Billing no longer offers one, and says why.
    _select_settings(page, "Billing")
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
    sign_in(page, gitlab_com.url, "olga", PASSWORD)
    _find_your_group(page, "Acme")
    _select_settings(page, "Billing")
    expect(page.get_by_text("Acme is currently using the Free Plan")).to_be_visible()
    expect(page.get_by_role("link", name="Start a free GitLab Duo Pro trial")).to_have_count(0)
    assert "active paid subscription or an Ultimate trial" in (
        page.get_by_test_id("trial-unavailable").inner_text()
    )
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, gitlab_com.url, "dev", PASSWORD)
    _find_your_group(page, "Acme")
    sidebar = page.get_by_role("complementary", name="Sidebar")
    expect(sidebar.get_by_role("button", name="Settings", exact=True)).to_have_count(0)
    assert page.goto(f"{gitlab_com.url}/groups/acme/-/billings").status == 404


def test_r11_r25_start_a_free_ultimate_trial_from_billing_then_a_duo_pro_trial_on_top(
    page: Any, gitlab_com: GitLabCom
) -> None:
    """GitLab's "Start a free trial of GitLab Ultimate on GitLab.com": a Free group's Billing
    offers *Start a free Ultimate trial* (``/-/trials/new``); complete the fields, *Continue*;
    Olga owns two Free groups, so she is asked to *Apply your trial to a new or existing group* (the
    one she came from chosen), *Activate my trial*. It applies at once: Billing shows Ultimate
    (Trial) with its end date, and now offers the GitLab Duo Pro trial on top (R25), which
    self-managed would refuse during a plan trial (R11)."""
    acme = acme_group(gitlab_com)
    beta = group(gitlab_com.app, "beta")
    member(gitlab_com.app, "olga", "beta", "owner")
    sign_in(page, gitlab_com.url, "olga", PASSWORD)
    _find_your_group(page, "Acme")
    _select_settings(page, "Billing")
    expect(page.get_by_text("Acme is currently using the Free Plan")).to_be_visible()
    page.get_by_role("link", name="Start a free Ultimate trial").click()
    expect(page.get_by_role("heading", name="Start a Free Ultimate Trial")).to_be_visible()
    _complete_the_fields(page)
    page.get_by_role("button", name="Continue").click()
    expect(
        page.get_by_role("heading", name="Apply your trial to a new or existing group")
    ).to_be_visible()
    chooser = page.get_by_label("This trial is for")
    assert chooser.locator("option:checked").inner_text() == "Acme"  # where she came from
    page.get_by_role("button", name="Activate my trial").click()
    page.get_by_text("Congratulations, your free trial is activated.").wait_for()
    expect(page.get_by_role("heading", name="Acme", exact=True)).to_be_visible()  # on the group
    with gitlab_com.app.app_context():
        trial = group_subscription(acme)
        assert trial is not None and (trial.plan_code, trial.trial) == ("ultimate", True)
        assert group_subscription(beta) is None
        ends_on = trial.trial_ends_on
    _select_settings(page, "Billing")
    expect(page.get_by_text("Acme is currently using the Ultimate Plan (Trial)")).to_be_visible()
    assert "will expire on" in page.get_by_test_id("ultimate-trial").inner_text()
    assert (
        ends_on is not None
        and str(ends_on.year) in page.get_by_test_id("ultimate-trial").inner_text()
    )
    expect(page.get_by_role("link", name="Start a free Ultimate trial")).to_have_count(0)
    page.get_by_role("link", name="Start a free GitLab Duo Pro trial").click()
    _complete_the_fields(page)
    page.get_by_role("button", name="Continue").click()  # only Acme may have it: no prompt
    page.get_by_text("You have successfully started a Duo Pro trial that will expire on").wait_for()
    assert _duo_seats(gitlab_com, acme) == ("duo_pro", 100, True)


# -- Consumables: compute minutes and storage (R6) -------------------------------------------------


def _buy_packs(page: Any, packs: str) -> None:
    page.get_by_label("Number of packs").fill(packs)
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("region", name="Purchase summary")).to_be_visible()
    page.get_by_role("region", name="Billing information").get_by_label(
        "Payment method"
    ).select_option(label=CARD)
    page.get_by_role("button", name="Purchase").click()


def _link_gitlab_com_account(page: Any, gitlab_com: GitLabCom, username: str = "olga") -> None:
    """ "Link a GitLab.com account": the portal sends the browser to GitLab.com (its sign-in
    first, if the browser is not signed in there), the user selects *Authorize Customers
    Portal*, and GitLab.com sends the browser back to the portal's page."""
    expect(page.get_by_test_id("link-account-first")).to_be_visible()
    click_to_page(page, page.get_by_role("button", name="Link a GitLab.com account"))
    if page.url.startswith(f"{gitlab_com.url}/users/sign_in"):
        page.get_by_label("Username or email").fill(username)
        page.get_by_label("Password").fill(PASSWORD)
        click_to_page(page, page.get_by_role("button", name="Sign in"))
    if page.url.startswith(gitlab_com.url):  # not when authorized before: straight back
        page.get_by_role(
            "heading", name="Authorize Customers Portal to use your account?"
        ).wait_for()
        click_to_page(page, page.get_by_role("button", name="Authorize Customers Portal"))
    page.get_by_text(f"Your GitLab.com account @{username} is linked.").wait_for()
    assert page.url.startswith(gitlab_com.portal_url)


def _customers_portal_sign_in(page: Any) -> None:
    page.get_by_label("Username or email").fill(BUYER)
    page.get_by_label("Password").fill(PORTAL_PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_r6_buy_additional_compute_minutes_from_the_pipelines_tab(
    page: Any, gitlab_com: GitLabCom
) -> None:
    """GitLab's "Purchase additional compute minutes": "On the left sidebar, select Search or
    go to and find your group. Select Settings > Usage Quotas. Select the Pipelines tab. Select
    Buy additional compute minutes." — then, in the Customers Portal, the packs, the purchase
    summary and the payment method. R6: the pack is pushed to the group and shows there."""
    acme = acme_group(gitlab_com)
    gitlab_com.subscribe(acme, "acme")
    sign_in(page, gitlab_com.url, "olga", PASSWORD)
    _find_your_group(page, "Acme")
    _select_settings(page, "Usage Quotas")
    page.get_by_role("tab", name="Pipelines").click()
    expect(page.get_by_role("tab", name="Pipelines")).to_have_attribute("aria-selected", "true")
    assert page.get_by_test_id("additional-usage").inner_text() == "0 / 0"
    page.get_by_role("link", name="Buy additional compute minutes").click()
    _customers_portal_sign_in(page)
    expect(page.get_by_role("heading", name="Buy additional compute minutes")).to_be_visible()
    _buy_packs(page, "2")
    page.get_by_text("Your purchase of 2,000 compute minutes is complete", exact=False).wait_for()
    assert _orders(gitlab_com)[-1] == ("compute_minutes", 2)
    gitlab_com.run_due_jobs()
    page.goto(f"{gitlab_com.url}/groups/acme/-/usage_quotas/pipelines")
    assert page.get_by_test_id("additional-usage").inner_text() == "0 / 2,000"


def test_r6_buy_storage_from_the_storage_tab(page: Any, gitlab_com: GitLabCom) -> None:
    """GitLab's "Purchase more storage": "On the left sidebar, select Search or go to and find
    your group. Select Settings > Usage Quotas. Select the Storage tab. Select Buy storage." —
    then the packs in the Customers Portal. R6: the storage reaches the group."""
    acme = acme_group(gitlab_com)
    gitlab_com.subscribe(acme, "acme")
    sign_in(page, gitlab_com.url, "olga", PASSWORD)
    _find_your_group(page, "Acme")
    _select_settings(page, "Usage Quotas")
    page.get_by_role("tab", name="Storage").click()
    expect(page.get_by_role("tab", name="Storage")).to_have_attribute("aria-selected", "true")
    page.get_by_role("link", name="Buy storage").click()
    _customers_portal_sign_in(page)
    expect(page.get_by_role("heading", name="Buy storage")).to_be_visible()
    _buy_packs(page, "1")
    page.get_by_text("is complete", exact=False).wait_for()
    assert _orders(gitlab_com)[-1] == ("storage", 1)
    gitlab_com.run_due_jobs()
    page.goto(f"{gitlab_com.url}/groups/acme/-/usage_quotas/storage")
    assert page.get_by_test_id("purchased-storage").inner_text() == "0.0 GiB / 10.0 GiB"


# -- The subscription's group, from the Customers Portal ------------------------------------------


def test_r4_change_linked_namespace_from_the_subscription_card(
    page: Any, gitlab_com: GitLabCom
) -> None:
    """The Customers Portal's subscription card → vertical ellipsis → *Change linked namespace*:
    the subscription moves to another top-level group, which GitLab.com applies at once."""
    acme = acme_group(gitlab_com)
    beta = group(gitlab_com.app, "beta")
    member(gitlab_com.app, "olga", "beta", "owner")
    name = gitlab_com.subscribe(acme, "acme")
    sign_in(page, gitlab_com.portal_url, BUYER, PORTAL_PASSWORD)
    page.get_by_role("tab", name="GitLab SaaS").click()
    card = page.get_by_test_id("subscription-card").filter(has=page.get_by_text(name, exact=True))
    card.get_by_role("button", name=f"Actions for {name}").click()
    click_to_page(page, card.get_by_role("link", name="Change linked namespace"))
    assert page.get_by_test_id("linked-group").inner_text().startswith("Linked to acme")
    # The groups offered are those olga's GitLab.com account owns: link it first.
    _link_gitlab_com_account(page, gitlab_com, "olga")
    page.get_by_label("GitLab.com group").select_option(label="beta")
    assert page.get_by_label("GitLab.com group").input_value() == str(beta)
    page.get_by_role("button", name="Change linked namespace").click()
    page.get_by_text(f"{name} is now linked to beta").wait_for()
    gitlab_com.run_due_jobs()
    page.goto(f"{gitlab_com.url}/groups/beta/-/billings")
    expect(page.get_by_text("Beta is currently using the Premium Plan")).to_be_visible()
    page.goto(f"{gitlab_com.url}/groups/acme/-/billings")
    expect(page.get_by_text("Acme is currently using the Free Plan")).to_be_visible()


# -- Purchase GitLab Duo seats, and a plan, for a group ------------------------------------------


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
    assert _duo_seats(gitlab_com, acme) == ("duo_pro", 5, False)
    page.goto(f"{gitlab_com.url}/users/sign_in")
    sign_in(page, gitlab_com.url, "olga", PASSWORD)
    _find_your_group(page, "Acme")
    _select_settings(page, "Usage Quotas")
    _duo_tab(page)
    assert page.get_by_test_id("seats-used").inner_text() == "0 / 5"


def test_upgrade_a_free_group_to_premium_from_its_billing_page(
    page: Any, gitlab_com: GitLabCom
) -> None:
    """A Free group's *Settings → Billing* → *Upgrade to Premium* leads to the Customers
    Portal's purchase for that group (its ID and path carried over); once bought, GitLab.com
    applies the plan at once and offers the GitLab Duo Pro trial (R25's paid subscription)."""
    acme = acme_group(gitlab_com)
    make_account(gitlab_com.portal, BUYER)
    sign_in(page, gitlab_com.url, "olga", PASSWORD)
    _find_your_group(page, "Acme")
    _select_settings(page, "Billing")
    expect(page.get_by_text("Acme is currently using the Free Plan")).to_be_visible()
    page.get_by_role("link", name="Upgrade to Premium").click()
    _customers_portal_sign_in(page)
    page.get_by_role("heading", name="Buy a subscription for a group").wait_for()
    # The portal offers the groups olga's GitLab.com account owns: link it (signed in there).
    _link_gitlab_com_account(page, gitlab_com, "olga")
    assert page.get_by_label("GitLab.com group").input_value() == str(
        acme
    )  # the link's group, chosen
    assert page.get_by_role("radio", name="Premium").is_checked()
    page.get_by_label("Seats").fill("10")
    page.get_by_role("region", name="Billing information").get_by_label(
        "Payment method"
    ).select_option(label=CARD)
    page.get_by_role("button", name="Confirm purchase").click()
    page.get_by_text("Your Premium subscription for acme is active").wait_for()
    gitlab_com.run_due_jobs()
    page.goto(f"{gitlab_com.url}/groups/acme/-/billings")
    expect(page.get_by_text("Acme is currently using the Premium Plan")).to_be_visible()
    expect(page.get_by_role("link", name="Start a free GitLab Duo Pro trial")).to_be_visible()


def test_upgrade_a_group_on_its_ultimate_trial_from_its_billing_page(
    page: Any, gitlab_com: GitLabCom
) -> None:
    """During an Ultimate trial *Settings → Billing* shows the trial's end and the plans, as
    for a Free group; *Upgrade to Ultimate* leads to the portal's purchase for the group, which
    replaces the trial at once (gitlab-org/gitlab#12187): Ultimate, no longer a trial, and no
    second trial offered."""
    acme = acme_group(gitlab_com)
    make_account(gitlab_com.portal, BUYER)
    sign_in(page, gitlab_com.url, "olga", PASSWORD)
    _find_your_group(page, "Acme")
    _select_settings(page, "Billing")
    page.get_by_role("link", name="Start a free Ultimate trial").click()
    _complete_the_fields(page)
    page.get_by_role("button", name="Continue").click()  # only Acme may have it: no prompt
    page.get_by_text("Congratulations, your free trial is activated.").wait_for()
    _select_settings(page, "Billing")
    expect(page.get_by_text("Acme is currently using the Ultimate Plan (Trial)")).to_be_visible()
    assert "will expire on" in page.get_by_test_id("ultimate-trial").inner_text()
    page.get_by_role("link", name="Upgrade to Ultimate").click()
    _customers_portal_sign_in(page)
    page.get_by_role("heading", name="Buy a subscription for a group").wait_for()
    _link_gitlab_com_account(page, gitlab_com, "olga")
    assert page.get_by_label("GitLab.com group").input_value() == str(acme)
    assert page.get_by_role("radio", name="Ultimate").is_checked()
    page.get_by_label("Seats").fill("10")
    page.get_by_role("region", name="Billing information").get_by_label(
        "Payment method"
    ).select_option(label=CARD)
    page.get_by_role("button", name="Confirm purchase").click()
    page.get_by_text("Your Ultimate subscription for acme is active").wait_for()
    gitlab_com.run_due_jobs()
    with gitlab_com.app.app_context():
        plan = group_subscription(acme)
        assert plan is not None and (plan.plan_code, plan.trial, plan.seats) == (
            "ultimate",
            False,
            10,
        )
    page.goto(f"{gitlab_com.url}/groups/acme/-/billings")
    expect(page.get_by_text("Acme is currently using the Ultimate Plan")).to_be_visible()
    expect(page.get_by_text("(Trial)")).to_have_count(0)
    expect(page.get_by_role("link", name="Upgrade to Premium")).to_have_count(0)
    expect(page.get_by_role("link", name="Start a free Ultimate trial")).to_have_count(0)
