"""The portal's requests under the one transaction boundary: a GET writes nothing, refusals
answer through the one handler (JSON for APIs, flash for pages) and keep nothing."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask

from portal.models import IssuedLicense, Lead
from tests.conftest import scalar
from tests.portal.helpers import customer_subscription, flashes, make_account, post_form, sign_in


def test_r9_the_license_download_mints_only_on_post_and_a_get_writes_nothing(
    portal_app: Flask,
) -> None:
    offline = customer_subscription(portal_app, "owner@example.com", license_type="offline_cloud")
    owner = sign_in(portal_app, "owner@example.com")
    licenses = sa.select(sa.func.count(IssuedLicense.id))
    page = owner.get(f"/subscriptions/{offline}/license")  # an old link, a prefetch
    assert page.status_code == 302
    assert page.headers["Location"].endswith(f"/subscriptions/{offline}#license")
    assert scalar(portal_app, licenses) == 0
    card = owner.get(f"/subscriptions/{offline}").get_data(as_text=True)
    assert f'method="post" id="license" action="/subscriptions/{offline}/license"' in card
    download = post_form(
        owner, f"/subscriptions/{offline}/license", {}, page=f"/subscriptions/{offline}"
    )
    assert download.status_code == 200 and download.mimetype == "application/octet-stream"
    assert scalar(portal_app, licenses) == 1


def test_the_trial_api_answers_a_refusal_as_json_with_its_code_and_keeps_nothing(
    portal_app: Flask,
) -> None:
    client = portal_app.test_client()
    refused = client.post("/api/v1/trial_requests", json={"subscription_name": "A-S1"})
    assert refused.status_code == 422
    body = refused.get_json()
    assert set(body) == {"message", "code"} and body["code"] == "refused" and body["message"]
    malformed = client.post("/api/v1/trial_requests", data="nope")
    assert malformed.status_code == 400 and malformed.get_json()["code"] == "invalid_json"
    assert scalar(portal_app, sa.select(sa.func.count(Lead.id))) == 0


def test_a_refused_trial_form_re_renders_with_the_message_shown_once(portal_app: Flask) -> None:
    client = portal_app.test_client()
    response = post_form(client, "/trials/duo", {"subscription_name": "A-S1", "email": ""})
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    message = flashes(response)
    assert message and text.count('class="flash error"') == 1
    assert 'value="A-S1"' in text  # the form keeps what was typed
    assert scalar(portal_app, sa.select(sa.func.count(Lead.id))) == 0


def test_sales_refusal_redirects_back_with_the_message_flashed(portal_app: Flask) -> None:
    make_account(portal_app, "sales@example.com", role="sales")
    name = customer_subscription(portal_app, "owner@example.com")
    seller = sign_in(portal_app, "sales@example.com")
    page = f"/sales/subscriptions/{name}"
    response = post_form(seller, f"{page}/orders", {"kind": "nonsense"}, page=page)
    assert response.status_code == 302 and response.headers["Location"] == page
    assert "Choose a kind of order." in flashes(seller.get(page))
