"""GitLab.com provisioning messages: the portal's push of a group's plan and add-on purchases,
GitLab.com's answer with seat usage, both inside the sync's sealed envelopes."""

from __future__ import annotations

from datetime import date

import pytest

from protocol import (
    AddOnTier,
    LocalProtocolError,
    MemoryNonceStore,
    NonceMismatch,
    Plan,
    RemoteProtocolError,
    ReplayedMessage,
    SimulatedClock,
    open_request,
    open_response,
    parse_message,
    seal_request,
    seal_response,
)
from protocol.provisioning import (
    COUNTRIES_WITH_STATES,
    CompanySize,
    MainPlan,
    NamespaceAddOnPurchase,
    NamespacePlanTrialRequest,
    NamespaceProvision,
    NamespaceTrialRequest,
    ProvisionAnswer,
)
from tests.protocol.factories import INSTANCE_KEY, INSTANCE_KEYS, PORTAL_KEY, PORTAL_KEYS, START
from webcore.countries import STATES

PREMIUM = MainPlan(Plan.PREMIUM, date(2026, 3, 1), date(2027, 3, 1), 10, auto_renew=True)
DUO_PRO = NamespaceAddOnPurchase(
    AddOnTier.DUO_PRO, 5, date(2026, 3, 1), date(2027, 3, 1), "A-S00000001"
)


def test_a_provision_round_trips_with_gitlab_field_names() -> None:
    provision = NamespaceProvision(42, PREMIUM, (DUO_PRO,))
    data = provision.to_dict()
    assert data["main_plan"]["plan_code"] == "premium"
    assert data["add_on_purchases"] == {
        "duo_pro": [
            {
                "quantity": 5,
                "started_on": "2026-03-01",
                "expires_on": "2027-03-01",
                "purchase_xid": "A-S00000001",
                "trial": False,
            }
        ]
    }
    assert NamespaceProvision.from_dict(data) == provision


def test_add_ons_are_refused_on_free_r4() -> None:
    free = MainPlan(Plan.FREE, date(2026, 3, 1), date(2027, 3, 1), 0)
    with pytest.raises(LocalProtocolError, match="Premium or Ultimate"):
        NamespaceProvision(42, free, (DUO_PRO,))


def test_add_on_seats_never_exceed_the_plan_seats_r5() -> None:
    too_many = NamespaceAddOnPurchase(
        AddOnTier.DUO_PRO, 11, date(2026, 3, 1), date(2027, 3, 1), "A-S00000001"
    )
    with pytest.raises(LocalProtocolError, match="exceeds the plan's seats"):
        NamespaceProvision(42, PREMIUM, (too_many,))


def test_one_purchase_per_add_on() -> None:
    with pytest.raises(LocalProtocolError, match="one purchase per add-on"):
        NamespaceProvision(42, PREMIUM, (DUO_PRO, DUO_PRO))


def test_r4_r25_a_duo_trial_outlives_the_ended_ultimate_trial_on_free_only() -> None:
    """GitLab.com: the Ultimate trial ended, the group is Free again with its trial's dates kept;
    the Duo Pro trial started on it runs to its own end. A paid add-on on Free stays refused."""
    ended = MainPlan(
        Plan.FREE,
        date(2026, 3, 31),
        date(2027, 3, 31),
        5,
        trial_starts_on=date(2026, 3, 1),
        trial_ends_on=date(2026, 3, 31),
    )
    duo_trial = NamespaceAddOnPurchase(
        AddOnTier.DUO_PRO, 5, date(2026, 3, 2), date(2026, 5, 1), "A-S00000001", trial=True
    )
    provision = NamespaceProvision(42, ended, (duo_trial,))
    assert ended.had_trial and not ended.trial
    assert NamespaceProvision.from_dict(provision.to_dict()) == provision
    with pytest.raises(LocalProtocolError, match="Premium or Ultimate"):
        NamespaceProvision(42, ended, (DUO_PRO,))
    never = MainPlan(Plan.FREE, date(2026, 3, 1), date(2027, 3, 1), 5)
    with pytest.raises(LocalProtocolError, match="Premium or Ultimate"):
        NamespaceProvision(42, never, (duo_trial,))


def test_an_ultimate_trial_request_round_trips_and_refuses_a_blank_path() -> None:
    request = NamespacePlanTrialRequest(42, "acme", "olga@example.com", "Olga", "O", "Acme", "DE")
    assert NamespacePlanTrialRequest.from_dict(request.to_dict()) == request
    with pytest.raises(LocalProtocolError):
        NamespacePlanTrialRequest(42, "", "olga@example.com", "Olga", "O", "Acme", "DE")


REQUESTER = ("olga@example.com", "Olga", "O", "Acme")


def test_the_trial_requests_carry_gitlabs_lead_fields_absent_when_not_given() -> None:
    lead = {"company_size": "2,000-9,999", "phone_number": "+1 23 456-78-90", "state": "NY"}
    duo = NamespaceTrialRequest(42, AddOnTier.DUO_PRO, *REQUESTER, "US", **lead)
    assert duo.company_size is CompanySize.UP_TO_9999
    assert duo.to_dict() | lead == duo.to_dict()
    assert NamespaceTrialRequest.from_dict(duo.to_dict()) == duo
    ultimate = NamespacePlanTrialRequest(42, "acme", *REQUESTER, "DE")
    # As a GitLab.com of the earlier version sends it, and reads back the same.
    assert set(ultimate.to_dict()) == {
        "namespace_id",
        "namespace_path",
        "email",
        "first_name",
        "last_name",
        "company_name",
        "country",
    }
    assert NamespacePlanTrialRequest.from_dict(ultimate.to_dict()) == ultimate
    assert [size.label for size in CompanySize] == [
        "1 - 99",
        "100 - 499",
        "500 - 1,999",
        "2,000 - 9,999",
        "10,000 +",
    ]


@pytest.mark.parametrize(
    ("lead", "country", "field", "problem"),
    [
        ({"phone_number": "+1 (555) 0100"}, "US", "phone_number", "allowed characters"),
        ({"phone_number": "1" * 51}, "US", "phone_number", "at most 50"),
        ({"state": "BY"}, "DE", "state", "only for a country with states"),
        ({"company_size": "1-10"}, "US", "company_size", "expected one of"),
    ],
)
def test_a_lead_field_gitlab_would_not_send_is_refused_on_both_sides(
    lead: dict[str, str], country: str, field: str, problem: str
) -> None:
    where = "namespace_plan_trial_request"
    with pytest.raises(LocalProtocolError, match=problem) as local:
        NamespacePlanTrialRequest(42, "acme", *REQUESTER, country, **lead)
    assert local.value.field == f"{where}.{field}"
    sent = NamespacePlanTrialRequest(42, "acme", *REQUESTER, country).to_dict() | lead
    with pytest.raises(RemoteProtocolError, match=problem) as remote:
        NamespacePlanTrialRequest.from_dict(sent)
    assert remote.value.field == f"{where}.{field}"


def test_the_countries_asked_a_state_are_those_the_forms_list_states_of() -> None:
    assert set(STATES) == set(COUNTRIES_WITH_STATES) == {"US", "CA"}


def test_a_trial_plan_carries_both_trial_dates() -> None:
    with pytest.raises(LocalProtocolError, match="both trial dates"):
        MainPlan(Plan.ULTIMATE, date(2026, 3, 1), date(2026, 3, 31), 0, trial=True)
    with pytest.raises(LocalProtocolError, match="both trial dates"):
        MainPlan(Plan.FREE, date(2026, 3, 1), date(2026, 3, 31), 0, trial_ends_on=date(2026, 3, 31))
    trial = MainPlan(
        Plan.ULTIMATE,
        date(2026, 3, 1),
        date(2026, 3, 31),
        0,
        trial=True,
        trial_starts_on=date(2026, 3, 1),
        trial_ends_on=date(2026, 3, 31),
    )
    assert MainPlan.from_dict(trial.to_dict()) == trial


@pytest.mark.parametrize(
    "change",
    [
        {"namespace_id": 0},
        {"add_on_purchases": {"duo_max": []}},
        {"add_on_purchases": {"duo_pro": {}}},
        {"extra": 1},
    ],
)
def test_a_malformed_provision_is_the_peers_error(change: dict[str, object]) -> None:
    data = NamespaceProvision(42, PREMIUM, (DUO_PRO,)).to_dict() | change
    with pytest.raises(RemoteProtocolError):
        NamespaceProvision.from_dict(data)


def test_the_push_is_sealed_fresh_replay_proof_and_its_answer_bound_to_it() -> None:
    clock = SimulatedClock(START)
    store = MemoryNonceStore(clock)
    # The portal signs the push; GitLab.com pins the portal's keys.
    token, nonce = seal_request(NamespaceProvision(42, PREMIUM, (DUO_PRO,)), PORTAL_KEY, clock)
    opened = open_request(token, PORTAL_KEYS, clock, store)
    assert parse_message(opened, NamespaceProvision).namespace_id == 42
    with pytest.raises(ReplayedMessage):
        open_request(token, PORTAL_KEYS, clock, store)
    # GitLab.com signs its answer with its own key; the portal pins it.
    answer = seal_response(ProvisionAnswer(42, 7, 9), INSTANCE_KEY, clock, nonce)
    usage = parse_message(open_response(answer, INSTANCE_KEYS, clock, nonce), ProvisionAnswer)
    assert (usage.seats_in_use, usage.max_seats_used) == (7, 9)
    _, other_nonce = seal_request(NamespaceProvision(42, PREMIUM), PORTAL_KEY, clock)
    with pytest.raises(NonceMismatch):
        open_response(answer, INSTANCE_KEYS, clock, other_nonce)
