"""GitLab.com's trial forms ask GitLab's lead fields (``TrialCreateLeadForm``): *Number of
employees*, *Telephone number*, and *State or province* for the United States and Canada only,
all required. A field at fault is a 400, the lead form again as filled in with GitLab's message,
and nothing is written on either side. A trial that starts sends them to the portal, which keeps
them with the trial's lead (support sees them); a request of an earlier GitLab.com without them
is still read."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from instance.gitlab_com.billable import group_subscription
from instance.gitlab_com.provisioning import group_duo_purchase
from portal.gitlab_com.ultimate_trials import start_namespace_ultimate_trial
from portal.models import AddOnPurchase, Lead, LeadStatus, Subscription, db
from protocol.provisioning import NamespacePlanTrialRequest
from tests.instance.conftest import csrf_token
from tests.instance.conftest import sign_in as sign_in_gitlab_com
from tests.portal.gitlab_com_pair import TRIAL_FORM, Pair
from tests.portal.helpers import customer_subscription, make_account, sign_in
from webcore.clock import app_clock

pytestmark = pytest.mark.all_backends

ULTIMATE, DUO_PRO = "/-/trials", "/-/trials/duo_pro"
IN_CALIFORNIA = {"country": "US", "state": "CA", "phone_number": "+1 23 456-78-90"}

# Each field at fault, and GitLab's message for it.
BAD_FIELDS = [
    ({"company_size": ""}, "Number of employees is required."),
    ({"company_size": "1-10"}, "Number of employees is required."),
    ({"country": ""}, "Country or region is required."),
    ({"country": "US"}, "State or province is required."),
    ({"country": "US", "state": "ON"}, "State or province is required."),  # Ontario: Canada's
    ({"phone_number": ""}, "Telephone number is required."),
    ({"phone_number": "+49 (30) 123"}, "Allowed characters: +, 0-9, -, and spaces."),
    ({"phone_number": "4" * 51}, "Telephone number is too long (maximum is 50 characters)."),
]


def _post(pair: Pair, path: str, **change: str) -> Any:
    client: FlaskClient = pair.gitlab_com.test_client()
    sign_in_gitlab_com(client, "owner")
    token = csrf_token(client, "/dashboard")
    data = {**TRIAL_FORM, "step": "lead", "namespace_id": str(pair.group_id), **change}
    return client.post(path, data={**data, "csrf_token": token}, follow_redirects=True)


def _refused(response: Any, message: str) -> bool:
    """A 400 that says ``message`` (flashed, above the form)."""
    page = response.get_data(as_text=True)
    return (
        response.status_code == 400
        and f'<div class="flash error" role="alert">{message}</div>' in page
    )


def _leads(pair: Pair) -> list[Lead]:
    with pair.portal.app_context():
        rows = list(db.session.execute(sa.select(Lead)).scalars())
        db.session.expunge_all()
        return rows


def _nothing_written(pair: Pair) -> None:
    with pair.portal.app_context():
        for table in (Lead, AddOnPurchase, Subscription):
            assert db.session.execute(sa.select(sa.func.count()).select_from(table)).scalar() == 0
    with pair.gitlab_com.app_context():
        assert group_subscription(pair.group_id) is None
        assert group_duo_purchase(pair.group_id) is None


@pytest.mark.parametrize(("change", "message"), BAD_FIELDS)
def test_a_lead_field_at_fault_is_a_400_with_gitlabs_message_and_nothing_is_written(
    pair: Pair, change: dict[str, str], message: str
) -> None:
    response = _post(pair, ULTIMATE, **change)
    assert _refused(response, message)
    page = response.get_data(as_text=True)
    assert 'data-testid="lead-form"' in page and 'value="Acme"' in page  # as filled in
    _nothing_written(pair)


def test_the_duo_pro_trial_form_checks_the_same_fields(pair: Pair) -> None:
    pair.link(customer_subscription(pair.portal, "buyer@example.com", seats=10))
    pair.run_jobs(minutes=0)  # GitLab.com knows the plan: the group may have the trial
    with pair.portal.app_context():
        subscriptions = db.session.execute(sa.select(sa.func.count(Subscription.id))).scalar()
    for change, message in BAD_FIELDS:
        assert _refused(_post(pair, DUO_PRO, **change), message)
    assert _leads(pair) == []
    with pair.portal.app_context():
        assert db.session.execute(sa.select(AddOnPurchase)).first() is None
        assert db.session.execute(sa.select(sa.func.count(Subscription.id))).scalar() == (
            subscriptions
        )
    with pair.gitlab_com.app_context():
        assert group_duo_purchase(pair.group_id) is None


def test_the_form_offers_gitlabs_choices_and_asks_a_state_for_the_us_and_canada_only(
    pair: Pair,
) -> None:
    client: FlaskClient = pair.gitlab_com.test_client()
    sign_in_gitlab_com(client, "owner")
    page = client.get(f"/-/trials/new?namespace_id={pair.group_id}").get_data(as_text=True)
    for label in ("Number of employees", "Telephone number", "State or province"):
        assert f">{label}</label>" in page
    sizes = ("1-99", "1 - 99"), ("500-1,999", "500 - 1,999"), ("10,000+", "10,000 +")
    for value, text in sizes:
        assert f'<option value="{value}" >{text}</option>' in page
    assert "Allowed characters: +, 0-9, -, and spaces." in page
    assert '<div data-testid="state-field" hidden>' in page  # no country chosen yet
    # A state posted for a country without states is dropped, as GitLab's form clears it.
    assert "your free trial is activated" in _post(pair, ULTIMATE, state="CA").get_data(
        as_text=True
    )
    [lead] = _leads(pair)
    assert (lead.country, lead.state) == ("DE", None)


def test_the_portal_keeps_the_lead_fields_with_the_ultimate_trial(pair: Pair) -> None:
    page = _post(pair, ULTIMATE, **IN_CALIFORNIA).get_data(as_text=True)
    assert "Congratulations, your free trial is activated." in page
    [lead] = _leads(pair)
    assert (lead.email, lead.first_name, lead.company) == ("owner@example.com", "Olga", "Acme")
    assert (lead.company_size, lead.phone_number) == ("1-99", "+1 23 456-78-90")
    assert (lead.country, lead.state, lead.namespace_id) == ("US", "CA", pair.group_id)
    assert (lead.status, lead.add_on, lead.add_on_purchase_id) == (
        LeadStatus.TRIAL_CREATED,
        None,
        None,
    )
    with pair.portal.app_context():
        subscription = db.session.execute(sa.select(Subscription)).scalar_one()
        assert (lead.subscription_id, lead.subscription_name) == (
            subscription.id,
            subscription.name,
        )
    make_account(pair.portal, "support@provlab.example", role="support")
    support = sign_in(pair.portal, "support@provlab.example", "/support/sign_in")
    console = support.get(f"/support/subscriptions/{lead.subscription_name}").get_data(as_text=True)
    assert '<span class="muted" data-testid="lead-company-size">1-99 employees</span>' in console
    assert '<span class="muted" data-testid="lead-phone-number">+1 23 456-78-90</span>' in console
    assert '<span data-testid="lead-state">(CA)</span>' in console


def test_the_portal_keeps_the_lead_fields_with_the_duo_pro_trial(pair: Pair) -> None:
    name = customer_subscription(pair.portal, "buyer@example.com", seats=10)
    pair.link(name)
    pair.run_jobs(minutes=0)
    change = {"company_size": "2,000-9,999", "country": "CA", "state": "ON"}
    page = _post(pair, DUO_PRO, **change).get_data(as_text=True)
    assert "successfully started a Duo Pro trial" in page
    [lead] = _leads(pair)
    assert (lead.company_size, lead.phone_number, lead.country, lead.state) == (
        "2,000-9,999",
        "+49 30 1234567",
        "CA",
        "ON",
    )
    assert (lead.subscription_name, lead.add_on, lead.status) == (
        name,
        "duo_pro",
        LeadStatus.TRIAL_CREATED,
    )
    with pair.portal.app_context():
        purchase = db.session.execute(sa.select(AddOnPurchase)).scalar_one()
        assert lead.add_on_purchase_id == purchase.id


def test_a_request_of_an_earlier_gitlab_com_without_the_lead_fields_is_kept_as_it_came(
    pair: Pair,
) -> None:
    earlier = NamespacePlanTrialRequest(
        pair.group_id, "acme", "o@example.com", "Olga", "Owner", "Acme", "DE"
    ).to_dict()
    assert not {"company_size", "phone_number", "state"} & set(earlier)  # the earlier message
    with pair.portal.app_context():
        request = NamespacePlanTrialRequest.from_dict(earlier)
        start_namespace_ultimate_trial(request, app_clock(pair.portal).now())
        db.session.commit()
    [lead] = _leads(pair)
    assert (lead.company, lead.company_size, lead.phone_number, lead.state) == (
        "Acme",
        None,
        None,
        None,
    )
