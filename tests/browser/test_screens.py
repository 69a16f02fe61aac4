"""Every page of both apps in chromium: a screenshot of each at 1280 and 390 pixels wide for review
(under ``var/screenshots/`` or ``$PROVLAB_SCREENSHOTS``), no sideways scrolling at 390 pixels, the
simulated-time badge on every page, and no serious or critical axe-core finding."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from tests.browser.conftest import BUYER, GitLabCom, ServedInstance, acme_group
from tests.browser.gitlab_com_paths import fill_the_lead_fields
from tests.browser.screens import (
    NARROW,
    WIDE,
    activate_by_labels,
    axe_violations,
    click_to_page,
    overflows,
    shoot,
    sign_in,
)
from tests.instance.conftest import PASSWORD, add_user
from tests.instance.fake_portal import FakePortal
from tests.instance.gitlab_com.conftest import group, member
from tests.instance.helpers import CODE
from tests.portal.helpers import PASSWORD as PORTAL_PASSWORD
from tests.portal.helpers import make_account, make_subscription

pytestmark = pytest.mark.browser


def _review(page: Any, name: str) -> list[str]:
    """Screenshot, then the checks; returns what is wrong with the page."""
    page.set_viewport_size({"width": WIDE, "height": 900})
    problems = [f"{name}: axe {v}" for v in axe_violations(page)]
    if page.get_by_test_id("simulated-time").count() != 1:
        problems.append(f"{name}: no simulated-time badge")
    shoot(page, name)
    page.set_viewport_size({"width": NARROW, "height": 900})
    if wide := overflows(page):
        problems.append(f"{name}: scrolls sideways at {NARROW}px: {wide}")
    problems += [f"{name} at {NARROW}px: axe {v}" for v in axe_violations(page)]
    page.set_viewport_size({"width": WIDE, "height": 900})
    return problems


def _shoot_the_assign_dialog(page: Any, name: str) -> None:
    """A GitLab Duo seat table's *Select all*, *Assign seat*: a screenshot of the confirmation
    dialog, then *Cancel*."""
    page.get_by_role("checkbox", name="Select all").check()
    page.get_by_role("button", name="Assign seat", exact=True).click()
    page.get_by_role("dialog").wait_for()
    shoot(page, name)
    page.get_by_role("dialog").get_by_role("button", name="Cancel").click()


def test_instance_pages(
    page: Any, served_instance: ServedInstance, fake_portal: FakePortal
) -> None:
    app, url = served_instance.app, served_instance.url
    add_user(app, "alice", name="Alice Ng")
    add_user(app, "blocked_bob", name="Bob Blocked", state="blocked")
    add_user(app, "gone", name="Dee Activated", state="deactivated")
    add_user(app, "svc", name="Build Service", bot_type="service_account")
    problems: list[str] = []
    page.goto(f"{url}/users/sign_in")
    problems += _review(page, "instance-sign-in")
    sign_in(page, url, "root", PASSWORD)
    problems += _review(page, "instance-profile")
    page.goto(f"{url}/admin/subscription")
    problems += _review(page, "instance-subscription-empty")
    page.goto(f"{url}/admin/gitlab_duo")
    problems += _review(page, "instance-gitlab-duo-missing")
    subscription = fake_portal.add_subscription(CODE)
    fake_portal.duo(subscription, 5)
    page.goto(f"{url}/admin/subscription")
    activate_by_labels(page, CODE)
    problems += _review(page, "instance-subscription")
    page.get_by_role("button", name="Remove license").click()  # its confirmation, then Cancel
    problems += _review(page, "instance-subscription-remove-license-modal")
    page.get_by_role("dialog").get_by_role("button", name="Cancel").click()
    click_to_page(page, page.get_by_role("link", name="GitLab Duo", exact=True))
    page.get_by_role("row", name="Alice Ng").get_by_role("switch").click()
    page.get_by_text("1 user assigned a seat.").wait_for()
    problems += _review(page, "instance-gitlab-duo")
    _shoot_the_assign_dialog(page, "instance-gitlab-duo-modal")
    click_to_page(page, page.get_by_role("link", name="Users", exact=True))
    problems += _review(page, "instance-admin-users")
    for state in ("Blocked", "Deactivated"):
        assert page.get_by_test_id("state-badge").filter(has_text=state).count() == 1
    assert page.get_by_test_id("bot-badge").count() >= 1
    click_to_page(page, page.get_by_role("link", name="New user"))
    problems += _review(page, "instance-new-user")
    click_to_page(page, page.get_by_role("link", name="Settings", exact=True))
    problems += _review(page, "instance-settings")
    assert not problems, "\n".join(problems)


def test_portal_pages(portal_app: Flask, live_server: Any, page: Any) -> None:
    owner = make_account(portal_app, "owner@example.com")
    name = make_subscription(portal_app, owner, seats=20)
    make_subscription(portal_app, owner, plan="ultimate", seats=50, license_type="offline_cloud")
    url = live_server(portal_app).url
    problems: list[str] = []
    page.goto(f"{url}/users/sign_in")
    problems += _review(page, "portal-sign-in")
    page.goto(f"{url}/trials/duo")
    problems += _review(page, "portal-trial-form")
    sign_in(page, url, "owner@example.com", PORTAL_PASSWORD)
    problems += _review(page, "portal-subscriptions")
    card = page.get_by_test_id("subscription-card").filter(has=page.get_by_text(name, exact=True))
    card.get_by_role("button", name=f"Actions for {name}").click()
    shoot(page, "portal-subscription-menu")
    click_to_page(page, card.get_by_role("link", name="Buy GitLab Duo Pro"))
    problems += _review(page, "portal-buy-duo-pro")
    page.get_by_label("Number of seats").fill("5")
    click_to_page(page, page.get_by_role("button", name="Continue"))
    problems += _review(page, "portal-purchase-summary")
    page.get_by_role("button", name="Purchase seats").click()
    page.get_by_text("purchase of 5 seats is complete").wait_for()
    click_to_page(page, page.get_by_role("button", name="Generate activation code"))
    problems += _review(page, "portal-subscription")
    page.goto(f"{url}/subscriptions")
    problems += _review(page, "portal-subscriptions-with-duo")
    assert not problems, "\n".join(problems)


def test_gitlab_com_pages(page: Any, gitlab_com: GitLabCom) -> None:
    """GitLab.com's group pages (overview, Search or go to, Settings → GitLab Duo, Usage Quotas'
    four tabs, Billing, the two trial steps) and the Customers Portal's pages for groups (the
    GitLab SaaS tab, Add additional seats, compute minutes and storage, Change linked
    namespace, a subscription for a group before and after linking a GitLab.com account, and
    GitLab.com's OAuth Authorize page between them)."""
    acme = acme_group(gitlab_com)
    name = gitlab_com.subscribe(acme, "acme", duo=5, plan="ultimate")
    for path in ("beta", "gamma"):  # two groups to trial on: the trial prompts for one
        made = group(gitlab_com.app, path)
        member(gitlab_com.app, "olga", path, "owner")
        gitlab_com.subscribe(made, path)
    url = gitlab_com.url
    problems: list[str] = []
    sign_in(page, url, "olga", PASSWORD)
    page.get_by_role("button", name="Search or go to").click()
    page.get_by_role("searchbox", name="Search GitLab").fill("ac")
    shoot(page, "gitlab-com-search")
    page.get_by_role("dialog").get_by_role("link", name="Acme", exact=True).click()
    page.get_by_role("heading", name="Acme", exact=True).wait_for()
    problems += _review(page, "gitlab-com-group")
    page.goto(f"{url}/groups/acme/-/settings/gitlab_duo")
    page.get_by_role("row", name="Dev Developer").get_by_role("switch").click()
    page.get_by_text("1 user assigned a seat.").wait_for()
    problems += _review(page, "gitlab-com-settings-gitlab-duo")
    page.goto(f"{url}/groups/acme/-/usage_quotas")
    problems += _review(page, "gitlab-com-usage-quotas-seats")
    page.get_by_role("tab", name="GitLab Duo").click()
    problems += _review(page, "gitlab-com-usage-quotas-gitlab-duo")
    _shoot_the_assign_dialog(page, "gitlab-com-usage-quotas-assign-modal")
    for tab in ("Pipelines", "Storage"):
        click_to_page(page, page.get_by_role("tab", name=tab))
        problems += _review(page, f"gitlab-com-usage-quotas-{tab.lower()}")
    group(gitlab_com.app, "delta")
    member(gitlab_com.app, "olga", "delta", "owner")
    page.goto(f"{url}/groups/delta/-/billings")
    problems += _review(page, "gitlab-com-billing-free")
    page.goto(f"{url}/groups/beta/-/billings")
    problems += _review(page, "gitlab-com-billing")
    click_to_page(page, page.get_by_role("link", name="Start a free GitLab Duo Pro trial"))
    problems += _review(page, "gitlab-com-trial-form")
    fill_the_lead_fields(page, "Acme Inc.")
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("This trial is for").wait_for()
    problems += _review(page, "gitlab-com-trial-group")

    portal = gitlab_com.portal_url
    page.goto(f"{portal}/gitlab/namespaces/{acme}/extra_seats")
    page.get_by_label("Username or email").fill(BUYER)
    page.get_by_label("Password").fill(PORTAL_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Add additional seats").wait_for()
    problems += _review(page, "portal-add-additional-seats")
    page.get_by_label("Add additional seats").fill("3")
    page.get_by_role("button", name="Purchase seats").click()  # no checkbox: refused
    page.get_by_role("alert").filter(has_text="Accept the Privacy Policy").wait_for()
    problems += _review(page, "portal-add-additional-seats-refused")
    page.goto(f"{portal}/gitlab/namespaces/{acme}/buy_compute_minutes")
    problems += _review(page, "portal-buy-compute-minutes")
    click_to_page(page, page.get_by_role("button", name="Continue"))
    problems += _review(page, "portal-buy-compute-minutes-summary")
    page.goto(f"{portal}/gitlab/namespaces/{acme}/buy_storage")
    problems += _review(page, "portal-buy-storage")
    page.goto(f"{portal}/subscriptions?tab=gitlab_saas")
    problems += _review(page, "portal-subscriptions-gitlab-saas")
    page.goto(f"{portal}/subscriptions/new")
    problems += _review(page, "portal-subscription-for-a-group-link-first")
    # Link a GitLab.com account: GitLab.com's Authorize page (olga is signed in there), back.
    click_to_page(page, page.get_by_role("button", name="Link a GitLab.com account"))
    page.get_by_role("heading", name="Authorize Customers Portal to use your account?").wait_for()
    problems += _review(page, "gitlab-com-oauth-authorize")
    click_to_page(page, page.get_by_role("button", name="Authorize Customers Portal"))
    page.get_by_label("GitLab.com group").wait_for()
    problems += _review(page, "portal-subscription-for-a-group")
    page.goto(f"{portal}/subscriptions/{name}/change_linked_namespace")
    problems += _review(page, "portal-change-linked-namespace")
    page.goto(f"{portal}/subscriptions?tab=gitlab_saas")
    page.get_by_test_id("linked-gitlab-com-account").wait_for()
    problems += _review(page, "portal-subscriptions-gitlab-saas-linked-account")
    assert not problems, "\n".join(problems)
