"""The Customers Portal's access to a GitLab.com account, from the GitLab.com side: a customer
who linked the account sees the portal under *User settings → Applications* (*Authorized
applications*) and revokes it there; the portal, refused, asks to link the account again.
Followed by role and label in a real browser between the two live servers."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import BUYER, GitLabCom, acme_group
from tests.browser.gitlab_com_paths import (
    customers_portal_sign_in,
    link_gitlab_com_account,
    open_group_settings,
)
from tests.browser.screens import axe_violations, click_to_page
from tests.portal.helpers import make_account

pytestmark = pytest.mark.browser


def test_revoke_the_customers_portal_under_user_settings_applications(
    page: Any, gitlab_com: GitLabCom
) -> None:
    acme_group(gitlab_com)
    make_account(gitlab_com.portal, BUYER)
    open_group_settings(page, gitlab_com, "Billing")  # signed in on GitLab.com as olga
    page.get_by_role("link", name="Upgrade to Premium").click()
    customers_portal_sign_in(page)
    page.get_by_role("heading", name="Buy a subscription for a group").wait_for()
    link_gitlab_com_account(page, gitlab_com, "olga")
    purchase = page.url
    expect(page.get_by_label("GitLab.com group")).to_be_visible()

    page.goto(f"{gitlab_com.url}/-/user_settings/personal_access_tokens")
    click_to_page(page, page.get_by_role("link", name="Applications"))
    expect(page.get_by_role("heading", name="Applications", exact=True)).to_be_visible()
    authorized = page.get_by_test_id("oauth-authorized-applications")
    expect(authorized.get_by_test_id("crud-count")).to_have_text("1")
    assert axe_violations(page) == []
    row = authorized.get_by_role("row", name=re.compile("Customers Portal"))
    expect(row).to_contain_text("api")
    row.get_by_role("button", name="Revoke application").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Are you sure you want to revoke this application?")
    click_to_page(page, dialog.get_by_test_id("confirm-ok-button"))
    expect(page.get_by_text("The application was revoked access.")).to_be_visible()
    expect(authorized.get_by_test_id("crud-count")).to_have_text("0")
    expect(page.get_by_text("You don't have any authorized applications.")).to_be_visible()

    # The portal's call with the revoked token is refused, and so is its refresh: link again.
    page.goto(purchase)
    refused = page.get_by_test_id("groups-unavailable")
    expect(refused).to_contain_text("Your GitLab.com groups could not be read")
    expect(refused).to_contain_text("GitLab.com refused the token request (invalid_grant)")
    expect(refused.get_by_role("button", name="Link your GitLab.com account again")).to_be_visible()
