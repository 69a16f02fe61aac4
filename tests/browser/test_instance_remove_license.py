"""Admin → Subscription's *Remove license* in a real browser: the button, GitLab's confirmation
dialog (Cancel changes nothing), the flash after it and the page on the previous license, then
on none."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from protocol.license import LicenseType
from tests.browser.conftest import ServedInstance
from tests.browser.screens import activate_by_labels, axe_violations, click_to_page, sign_in
from tests.instance.conftest import PASSWORD
from tests.instance.fake_portal import FakePortal
from tests.instance.helpers import CODE, licenses

pytestmark = pytest.mark.browser


def _upload_license_file(page: Any, text: str) -> None:
    page.get_by_label("License file", exact=True).set_input_files(
        {"name": "offline.gitlab-license", "mimeType": "text/plain", "buffer": text.encode()}
    )
    click_to_page(page, page.get_by_role("button", name="Upload license"))
    page.get_by_text("The license was successfully uploaded and is now active.").wait_for()


def test_remove_license_confirmed_falls_back_on_the_previous_license_then_on_none(
    page: Any, served_instance: ServedInstance, fake_portal: FakePortal
) -> None:
    app, url = served_instance.app, served_instance.url
    fake_portal.add_subscription(CODE)
    offline = fake_portal.add_subscription("O" * 24, license_type=LicenseType.OFFLINE_CLOUD)
    sign_in(page, url, "root", PASSWORD)
    page.goto(f"{url}/admin/subscription")
    activate_by_labels(page, CODE)
    _upload_license_file(page, fake_portal.license_file(offline))
    details = page.get_by_role("region", name="Subscription details")
    expect(details.get_by_test_id("license-type")).to_have_text("Offline license")

    # In Subscription details, select Remove license: GitLab's confirmation.
    details.get_by_role("button", name="Remove license").click()
    dialog = page.get_by_role("dialog", name="Remove license")
    expect(dialog).to_contain_text("Are you sure you want to remove the license?")
    assert axe_violations(page) == []
    dialog.get_by_role("button", name="Cancel").click()  # dismissed: nothing happens
    expect(dialog).to_be_hidden()
    assert len(licenses(app)) == 2

    details.get_by_role("button", name="Remove license").click()
    click_to_page(page, dialog.get_by_role("button", name="Remove license"))
    expect(page.get_by_role("alert").filter(has_text="The license was removed.")).to_have_text(
        "The license was removed. GitLab has fallen back on the previous license."
    )
    expect(details.get_by_test_id("license-type")).to_have_text("Online license")
    assert [row.license_type for row in licenses(app)] == ["online_cloud"]

    details.get_by_role("button", name="Remove license").click()
    click_to_page(page, dialog.get_by_role("button", name="Remove license"))
    expect(page.get_by_role("alert").filter(has_text="The license was removed.")).to_have_text(
        "The license was removed. GitLab now no longer has a valid license."
    )
    expect(page.get_by_test_id("no-license")).to_be_visible()
    expect(page.get_by_role("button", name="Remove license")).to_have_count(0)
    assert licenses(app) == []
