"""GitLab's Ultimate trial on GitLab.com applied to a new group (``Trials::CreateService``'s create
group flow), followed by role and label in a real browser against GitLab.com and the Customers
Portal as two live servers: the group step offers *Create group* beside the owner's groups, and
*New group name* shows once it is chosen; a user with no group is asked for one's name alone."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from instance.gitlab_com.billable import group_subscription
from instance.gitlab_com.groups import find_group, is_owner
from instance.models import User
from instance.models import db as instance_db
from tests.browser.conftest import GitLabCom, acme_group
from tests.browser.gitlab_com_paths import fill_the_lead_fields
from tests.browser.screens import NARROW, axe_violations, click_to_page, overflows, shoot, sign_in
from tests.instance.conftest import PASSWORD, add_user

pytestmark = pytest.mark.browser


def _complete_the_fields(page: Any) -> None:
    fill_the_lead_fields(page, "Olga Labs Inc.")
    click_to_page(page, page.get_by_role("button", name="Continue"))


def _trial_of(gitlab_com: GitLabCom, path: str) -> tuple[str, bool] | None:
    with gitlab_com.app.app_context():
        group = find_group(path)
        assert group is not None
        subscription = group_subscription(group.id)
        return None if subscription is None else (subscription.plan_code, subscription.trial)


def test_an_owner_applies_the_ultimate_trial_to_a_group_created_on_the_group_step(
    page: Any, gitlab_com: GitLabCom
) -> None:
    acme_group(gitlab_com)  # Olga owns Acme, on Free: a group she could choose instead
    sign_in(page, gitlab_com.url, "olga", PASSWORD)
    page.goto(f"{gitlab_com.url}/-/trials/new")
    _complete_the_fields(page)
    expect(
        page.get_by_role("heading", name="Apply your trial to a new or existing group")
    ).to_be_visible()
    expect(
        page.get_by_text("You can apply your trial to a new group or an existing group.")
    ).to_be_visible()
    expect(page.get_by_label("New group name")).to_be_hidden()
    page.get_by_label("This trial is for").select_option(label="Create group")
    expect(page.get_by_label("New group name")).to_be_visible()
    assert axe_violations(page) == []
    shoot(page, "gitlab-com-trial-create-group")
    page.set_viewport_size({"width": NARROW, "height": 900})
    assert overflows(page) == [] and axe_violations(page) == []
    page.get_by_label("New group name").fill("Olga Labs")
    click_to_page(page, page.get_by_role("button", name="Activate my trial"))
    expect(page.get_by_text("Congratulations, your free trial is activated.")).to_be_visible()
    expect(page.get_by_role("heading", name="Olga Labs", exact=True)).to_be_visible()
    assert _trial_of(gitlab_com, "olga-labs") == ("ultimate", True)
    assert _trial_of(gitlab_com, "acme") is None  # the group she did not choose: still Free
    with gitlab_com.app.app_context():
        created = find_group("olga-labs")
        olga = instance_db.session.query(User).filter_by(username="olga").one()
        assert created is not None and is_owner(created, olga)


def test_a_user_with_no_group_names_a_new_one_and_a_blank_name_is_refused(
    page: Any, gitlab_com: GitLabCom
) -> None:
    add_user(gitlab_com.app, "nora", name="Nora New")
    sign_in(page, gitlab_com.url, "nora", PASSWORD)
    page.goto(f"{gitlab_com.url}/-/trials/new")
    _complete_the_fields(page)
    expect(page.get_by_role("heading", name="Apply your trial to a new group")).to_be_visible()
    expect(
        page.get_by_text("Create a new group to start your GitLab Ultimate trial.")
    ).to_be_visible()
    expect(page.get_by_label("This trial is for")).to_have_count(0)
    shoot(page, "gitlab-com-trial-new-group")
    name = page.get_by_label("New group name")
    name.fill("   ")  # passes the browser's required check, not GitLab's
    click_to_page(page, page.get_by_role("button", name="Activate my trial"))
    expect(page.get_by_role("alert").filter(has_text="Name can't be blank")).to_be_visible()
    page.get_by_label("New group name").fill("Nora's Team")
    click_to_page(page, page.get_by_role("button", name="Activate my trial"))
    expect(page.get_by_text("Congratulations, your free trial is activated.")).to_be_visible()
    assert _trial_of(gitlab_com, "nora-s-team") == ("ultimate", True)
