"""The steps GitLab's documents repeat across the GitLab.com click paths (``test_click_paths_
gitlab_com*.py``), by role and label: signing in and opening a group's *Settings* page, starting
a trial, buying packs or a plan in the Customers Portal; and what the tests read back from the
two servers."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from playwright.sync_api import expect

from instance.gitlab_com.provisioning import group_duo_purchase
from portal.models import Order
from portal.models import db as portal_db
from tests.browser.conftest import BUYER, GitLabCom
from tests.browser.screens import click_to_page, sign_in
from tests.instance.conftest import PASSWORD
from tests.instance.gitlab_com.conftest import group_seat_holders
from tests.portal.helpers import PASSWORD as PORTAL_PASSWORD
from webcore.clock import app_clock

CARD = "Visa ending in 4242"


# -- what the two servers hold -------------------------------------------------------------------


def now(gitlab_com: GitLabCom) -> Any:
    return app_clock(gitlab_com.portal).now()


def assigned(gitlab_com: GitLabCom, group_id: int) -> set[str]:
    return set(group_seat_holders(gitlab_com.app, group_id))


def duo_seats(gitlab_com: GitLabCom, group_id: int) -> tuple[str, int, bool] | None:
    with gitlab_com.app.app_context():
        purchase = group_duo_purchase(group_id)
        return (purchase.tier, purchase.quantity, purchase.trial) if purchase else None


def orders(gitlab_com: GitLabCom) -> list[tuple[str, int]]:
    with gitlab_com.portal.app_context():
        rows = portal_db.session.execute(sa.select(Order).order_by(Order.id)).scalars()
        return [(row.kind, row.quantity) for row in rows]


# -- the steps every GitLab.com path starts with ------------------------------------------------


def find_your_group(page: Any, name: str) -> None:
    """On the left sidebar, select **Search or go to** and find your group."""
    sidebar = page.get_by_role("complementary", name="Sidebar")
    sidebar.get_by_role("button", name="Search or go to").click()
    search = page.get_by_role("dialog", name="Search or go to")
    search.get_by_role("searchbox", name="Search GitLab").fill(name[:3].lower())
    expect(search.get_by_role("link", name="Beta", exact=True)).to_have_count(0)  # not typed
    search.get_by_role("link", name=name, exact=True).click()
    page.get_by_role("heading", name=name, exact=True).wait_for()


def select_settings(page: Any, item: str) -> None:
    """Select **Settings > {item}**."""
    sidebar = page.get_by_role("complementary", name="Sidebar")
    settings = sidebar.get_by_role("button", name="Settings", exact=True)
    if settings.get_attribute("aria-expanded") != "true":
        settings.click()
    # Wait for the new page itself: wait_for_load_state() alone can return for the page being
    # left, and the next check would then read the old page.
    with page.expect_navigation():
        sidebar.get_by_role("link", name=item, exact=True).click()


def open_group_settings(page: Any, gitlab_com: GitLabCom, item: str) -> None:
    """Olga signs in to GitLab.com; "On the left sidebar, select Search or go to and find your
    group" (Acme); "Select Settings > {item}"."""
    sign_in(page, gitlab_com.url, "olga", PASSWORD)
    find_your_group(page, "Acme")
    select_settings(page, item)


def duo_tab(page: Any) -> None:
    """Select the **GitLab Duo** tab."""
    page.get_by_role("tab", name="GitLab Duo", exact=True).click()
    # The tab switches on the fragment's hashchange, after the click returns: wait for it.
    expect(page.get_by_role("tab", name="GitLab Duo")).to_have_attribute("aria-selected", "true")
    page.get_by_role("tabpanel", name="GitLab Duo").wait_for()


def usage_quotas_tab(page: Any, gitlab_com: GitLabCom, tab: str) -> None:
    """Olga opens Acme's *Settings > Usage Quotas* and selects the tab ``tab``."""
    open_group_settings(page, gitlab_com, "Usage Quotas")
    page.get_by_role("tab", name=tab).click()
    expect(page.get_by_role("tab", name=tab)).to_have_attribute("aria-selected", "true")


def switch(page: Any, name: str) -> Any:
    return page.get_by_role("row", name=name).get_by_role("switch")


def sign_in_as_another(page: Any, gitlab_com: GitLabCom, username: str) -> None:
    """Sign out of GitLab.com and sign in again as ``username``."""
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, gitlab_com.url, username, PASSWORD)


# -- trials ------------------------------------------------------------------------------------


def fill_the_lead_fields(page: Any, company: str) -> None:
    """GitLab's lead fields after the names (those come from the account), all required."""
    page.get_by_label("Company name").fill(company)
    page.get_by_label("Number of employees").select_option(label="1 - 99")
    page.get_by_label("Country or region").select_option(label="Germany")
    page.get_by_label("Telephone number").fill("+49 30 1234567")


def complete_the_fields(page: Any) -> None:
    """4. Complete the fields."""
    assert page.get_by_label("First name").input_value() == "Olga"
    assert page.get_by_label("Last name").input_value() == "Owner"
    fill_the_lead_fields(page, "Acme Inc.")


def start_a_trial(page: Any, link: str, heading: str | None = None) -> None:
    """Select the Billing page's trial ``link`` (its form's ``heading`` checked when given),
    complete the fields, select *Continue*."""
    page.get_by_role("link", name=link).click()
    if heading is not None:
        expect(page.get_by_role("heading", name=heading)).to_be_visible()
    complete_the_fields(page)
    page.get_by_role("button", name="Continue").click()


# -- the Customers Portal ----------------------------------------------------------------------


def customers_portal_sign_in(page: Any) -> None:
    """The Customers Portal's sign-in, as the customer who buys for the groups."""
    page.get_by_label("Username or email").fill(BUYER)
    page.get_by_label("Password").fill(PORTAL_PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def pay_with_the_card(page: Any) -> None:
    """In the Billing information section, select the payment method."""
    page.get_by_role("region", name="Billing information").get_by_label(
        "Payment method"
    ).select_option(label=CARD)


def buy_packs(page: Any, link: str, packs: str) -> None:
    """Select ``link`` on the Usage Quotas tab; in the Customers Portal (signed in), whose page
    is headed as the link, the packs, the purchase summary, the payment method, *Purchase*."""
    page.get_by_role("link", name=link).click()
    customers_portal_sign_in(page)
    expect(page.get_by_role("heading", name=link)).to_be_visible()
    page.get_by_label("Number of packs").fill(packs)
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("region", name="Purchase summary")).to_be_visible()
    pay_with_the_card(page)
    page.get_by_role("button", name="Purchase").click()


def link_gitlab_com_account(page: Any, gitlab_com: GitLabCom, username: str = "olga") -> None:
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


def buy_a_plan_for_acme(page: Any, gitlab_com: GitLabCom, acme: int, plan: str) -> None:
    """From Acme's Billing page, *Upgrade to {plan}*: the Customers Portal's purchase for the
    group, after its sign-in and linking olga's GitLab.com account (whose groups it offers);
    the link's group and plan chosen, 10 seats, the card, *Confirm purchase*."""
    page.get_by_role("link", name=f"Upgrade to {plan}").click()
    customers_portal_sign_in(page)
    page.get_by_role("heading", name="Buy a subscription for a group").wait_for()
    link_gitlab_com_account(page, gitlab_com, "olga")
    assert page.get_by_label("GitLab.com group").input_value() == str(acme)
    assert page.get_by_role("radio", name=plan).is_checked()
    page.get_by_label("Seats").fill("10")
    pay_with_the_card(page)
    page.get_by_role("button", name="Confirm purchase").click()
    page.get_by_text(f"Your {plan} subscription for acme is active").wait_for()
