"""GitLab's lead fields on GitLab.com's trial form, by role and label in a real browser against
GitLab.com and the Customers Portal as two live servers: *State or province* shows, with the
country's states, only once the United States or Canada is chosen (and goes again for another
country); the trial then starts and the portal keeps the state with the trial's lead."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from portal.models import Lead
from portal.models import db as portal_db
from tests.browser.conftest import GitLabCom, acme_group
from tests.browser.gitlab_com_paths import fill_the_lead_fields
from tests.browser.screens import axe_violations, click_to_page, sign_in
from tests.instance.conftest import PASSWORD

pytestmark = pytest.mark.browser


def test_the_state_is_asked_for_the_us_and_canada_only_and_kept_with_the_lead(
    page: Any, gitlab_com: GitLabCom
) -> None:
    acme_group(gitlab_com)  # Olga owns Acme, on Free: the Ultimate trial may go to it
    sign_in(page, gitlab_com.url, "olga", PASSWORD)
    page.goto(f"{gitlab_com.url}/groups/acme/-/billings")
    click_to_page(page, page.get_by_role("link", name="Start a free Ultimate trial"))
    fill_the_lead_fields(page, "Acme Inc.")
    state = page.get_by_label("State or province")
    expect(state).to_be_hidden()  # Germany has none to ask
    page.get_by_label("Country or region").select_option(label="Canada")
    expect(state).to_be_visible()
    expect(state.locator("option", has_text="Ontario")).to_have_count(1)
    page.get_by_label("Country or region").select_option(label="United States")
    expect(state.locator("option", has_text="Ontario")).to_have_count(0)
    assert axe_violations(page) == []
    # Required while shown: the browser keeps the form until a state is chosen.
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Start a Free Ultimate Trial")).to_be_visible()
    state.select_option(label="California")
    click_to_page(page, page.get_by_role("button", name="Continue"))
    expect(page.get_by_text("Congratulations, your free trial is activated.")).to_be_visible()
    with gitlab_com.portal.app_context():
        lead = portal_db.session.execute(sa.select(Lead)).scalar_one()
        assert (lead.country, lead.state, lead.company_size, lead.phone_number) == (
            "US",
            "CA",
            "1-99",
            "+49 30 1234567",
        )
