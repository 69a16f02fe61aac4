"""The GitLab.com click paths of a group's plan, its Ultimate trial and its consumable packs,
followed by role and label in a real browser between GitLab.com and the Customers Portal as two
live servers (``tests/browser/conftest.py``); the GitLab Duo paths of seeds 000 and 001 are in
``test_click_paths_gitlab_com.py``, the steps both share in ``gitlab_com_paths.py``.

The consumable packs (R6) are not in the seeds; their path follows GitLab's documentation
("Purchase additional compute minutes", "Purchase more storage"): *Settings → Usage Quotas →
Pipelines / Storage → Buy additional compute minutes / Buy storage*.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from instance.gitlab_com.billable import group_subscription
from tests.browser.conftest import BUYER, GitLabCom, acme_group
from tests.browser.gitlab_com_paths import (
    buy_a_plan_for_acme,
    buy_packs,
    duo_seats,
    link_gitlab_com_account,
    open_group_settings,
    orders,
    select_settings,
    start_a_trial,
    usage_quotas_tab,
)
from tests.browser.screens import click_to_page, sign_in, subscription_card
from tests.instance.gitlab_com.conftest import group, member
from tests.portal.helpers import PASSWORD as PORTAL_PASSWORD
from tests.portal.helpers import make_account

pytestmark = pytest.mark.browser


# -- The Ultimate trial --------------------------------------------------------------------------


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
    open_group_settings(page, gitlab_com, "Billing")
    expect(page.get_by_text("Acme is currently using the Free Plan")).to_be_visible()
    start_a_trial(page, "Start a free Ultimate trial", heading="Start a Free Ultimate Trial")
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
    select_settings(page, "Billing")
    expect(page.get_by_text("Acme is currently using the Ultimate Plan (Trial)")).to_be_visible()
    assert "will expire on" in page.get_by_test_id("ultimate-trial").inner_text()
    assert (
        ends_on is not None
        and str(ends_on.year) in page.get_by_test_id("ultimate-trial").inner_text()
    )
    expect(page.get_by_role("link", name="Start a free Ultimate trial")).to_have_count(0)
    start_a_trial(page, "Start a free GitLab Duo Pro trial")  # only Acme may have it: no prompt
    page.get_by_text("You have successfully started a Duo Pro trial that will expire on").wait_for()
    assert duo_seats(gitlab_com, acme) == ("duo_pro", 100, True)


# -- Consumables: compute minutes and storage (R6) -------------------------------------------------


@pytest.mark.parametrize(
    ("tab", "link", "packs", "complete", "order", "shown", "before", "after"),
    [
        pytest.param(
            "Pipelines",
            "Buy additional compute minutes",
            "2",
            "Your purchase of 2,000 compute minutes is complete",
            ("compute_minutes", 2),
            "additional-usage",
            "0 / 0",
            "0 / 2,000",
            id="compute-minutes",
        ),
        pytest.param(
            "Storage",
            "Buy storage",
            "1",
            "is complete",
            ("storage", 1),
            "purchased-storage",
            "0.0 GiB / 0.0 GiB",
            "0.0 GiB / 10.0 GiB",
            id="storage",
        ),
    ],
)
def test_r6_buy_compute_minutes_or_storage_from_their_usage_quotas_tab(
    page: Any,
    gitlab_com: GitLabCom,
    tab: str,
    link: str,
    packs: str,
    complete: str,
    order: tuple[str, int],
    shown: str,
    before: str,
    after: str,
) -> None:
    """GitLab's "Purchase additional compute minutes" / "Purchase more storage": "On the left
    sidebar, select Search or go to and find your group. Select Settings > Usage Quotas. Select
    the Pipelines / Storage tab. Select Buy additional compute minutes / Buy storage." — then,
    in the Customers Portal, the packs, the purchase summary and the payment method. R6: the
    pack is pushed to the group and shows on its tab."""
    acme = acme_group(gitlab_com)
    gitlab_com.subscribe(acme, "acme")
    usage_quotas_tab(page, gitlab_com, tab)
    assert page.get_by_test_id(shown).inner_text() == before
    buy_packs(page, link, packs)
    page.get_by_text(complete, exact=False).wait_for()
    assert orders(gitlab_com)[-1] == order
    gitlab_com.run_due_jobs()
    page.goto(f"{gitlab_com.url}/groups/acme/-/usage_quotas/{tab.lower()}")
    assert page.get_by_test_id(shown).inner_text() == after


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
    card = subscription_card(page, name)
    card.get_by_role("button", name=f"Actions for {name}").click()
    click_to_page(page, card.get_by_role("link", name="Change linked namespace"))
    assert page.get_by_test_id("linked-group").inner_text().startswith("Linked to acme")
    # The groups offered are those olga's GitLab.com account owns: link it first.
    link_gitlab_com_account(page, gitlab_com, "olga")
    page.get_by_label("GitLab.com group").select_option(label="beta")
    assert page.get_by_label("GitLab.com group").input_value() == str(beta)
    page.get_by_role("button", name="Change linked namespace").click()
    page.get_by_text(f"{name} is now linked to beta").wait_for()
    gitlab_com.run_due_jobs()
    page.goto(f"{gitlab_com.url}/groups/beta/-/billings")
    expect(page.get_by_text("Beta is currently using the Premium Plan")).to_be_visible()
    page.goto(f"{gitlab_com.url}/groups/acme/-/billings")
    expect(page.get_by_text("Acme is currently using the Free Plan")).to_be_visible()


# -- A plan for a group, from its Billing page ---------------------------------------------------


def test_upgrade_a_free_group_to_premium_from_its_billing_page(
    page: Any, gitlab_com: GitLabCom
) -> None:
    """A Free group's *Settings → Billing* → *Upgrade to Premium* leads to the Customers
    Portal's purchase for that group (its ID and path carried over); once bought, GitLab.com
    applies the plan at once and offers the GitLab Duo Pro trial (R25's paid subscription)."""
    acme = acme_group(gitlab_com)
    make_account(gitlab_com.portal, BUYER)
    open_group_settings(page, gitlab_com, "Billing")
    expect(page.get_by_text("Acme is currently using the Free Plan")).to_be_visible()
    # The portal offers the groups olga's GitLab.com account owns: link it (signed in there);
    # the link's group is chosen.
    buy_a_plan_for_acme(page, gitlab_com, acme, "Premium")
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
    open_group_settings(page, gitlab_com, "Billing")
    start_a_trial(page, "Start a free Ultimate trial")  # only Acme may have it: no prompt
    page.get_by_text("Congratulations, your free trial is activated.").wait_for()
    select_settings(page, "Billing")
    expect(page.get_by_text("Acme is currently using the Ultimate Plan (Trial)")).to_be_visible()
    assert "will expire on" in page.get_by_test_id("ultimate-trial").inner_text()
    buy_a_plan_for_acme(page, gitlab_com, acme, "Ultimate")
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
