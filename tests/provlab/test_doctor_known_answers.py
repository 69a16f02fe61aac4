"""The trial doctor answers early and follows ended trials (issue 12): a waiting request judged by
the rules sales will apply, a mistyped subscription name matched from the requester's email, a
second request after an ended trial, and sales' $0 extension on its way to the instance.

Hand-made evidence pins the reasoning; the portal-backed tests pin how the evidence is gathered.
End-to-end runs are in scenarios/doctor/ and scenarios/trials/.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest
from flask import Flask

from portal.leads import submit_trial_request
from portal.models import Account, db
from portal.orders import OrderTerms
from portal.purchases import extend_duo_trial
from portal.subscriptions import find_subscription
from provlab.doctor import DROP_REASONS, diagnose_trial
from provlab.doctor_evidence import closest_subscription, portal_evidence
from provlab.doctor_model import Candidate, LeadEvidence
from tests.portal.helpers import (
    customer_subscription,
    make_account,
    make_subscription,
    run_jobs_until,
)
from tests.provlab.test_doctor_engine import NOW, TRIAL, instance, lead, portal
from webcore.clock import app_clock
from webcore.transaction import unit_of_work

PROCESSING = dt.datetime(2026, 3, 6, 5, 0, tzinfo=dt.UTC)


def waiting(reason: str, detail: str = "the detail sales will record") -> LeadEvidence:
    return replace(
        lead("pending"), expected_reason=reason, expected_detail=detail, expected_at=PROCESSING
    )


# -- known answers early --------------------------------------------------------------------------


def test_a_waiting_request_from_an_embargoed_country_is_named_before_processing() -> None:
    detail = "The requester's country (IR) is embargoed: trials are not created (R22)."
    verdict = diagnose_trial(portal(leads=(waiting("embargoed_country", detail),)), None)
    assert (verdict.cause, verdict.rule) == ("embargoed_country", "R22")
    assert "lead processing will drop it silently" in verdict.headline
    assert "(lead processing at 2026-03-06T05:00:00Z)" in verdict.headline
    # The facts it rests on: the request as stored, and the rule sales will apply to it.
    assert verdict.facts[0].startswith("portal: trial request submitted 2026-03-03T09:00:00Z")
    assert verdict.facts[1] == (
        f"portal (lead processing at 2026-03-06T05:00:00Z, by today's rules): {detail}"
    )


@pytest.mark.parametrize("reason", sorted(DROP_REASONS))
def test_every_known_drop_reason_is_told_ahead_with_its_rule(reason: str) -> None:
    verdict = diagnose_trial(portal(leads=(waiting(reason),)), None)
    explained = DROP_REASONS[reason]
    assert (verdict.cause, verdict.rule) == (reason, explained.rule)
    assert explained.ahead and verdict.headline.startswith(explained.ahead)
    assert verdict.next_action == explained.action


def test_a_waiting_request_that_will_get_a_trial_is_simply_not_processed_yet() -> None:
    verdict = diagnose_trial(
        portal(leads=(replace(lead("pending"), expected_at=PROCESSING),)), None
    )
    assert (verdict.cause, verdict.rule) == ("lead_not_processed", "R21")
    assert "2026-03-06T05:00:00Z" in verdict.next_action


TYPO = replace(
    waiting("unknown_subscription", "No subscription is named A-S0004202O."),
    subscription_name="A-S0004202O",
    candidates=(
        Candidate("A-S00012345", "owner@example.com is its contact"),
        Candidate("A-S00042020", "owner@example.com is its contact"),
    ),
    close_match="A-S00042020",
)


def test_a_request_under_a_mistyped_name_is_found_from_the_contacts_email() -> None:
    verdict = diagnose_trial(portal(misnamed_leads=(TYPO,)), None)
    assert (verdict.cause, verdict.rule) == ("unknown_subscription", "R20")
    assert verdict.headline.startswith(
        "The trial request from owner@example.com named A-S0004202O, not A-S00012345"
    )
    assert "lead processing will drop it" in verdict.headline
    assert "portal: no subscription is named A-S0004202O" in verdict.facts
    assert (
        "portal: closest to A-S0004202O of the requester's subscriptions "
        "(A-S00012345, A-S00042020): A-S00042020" in verdict.facts
    )
    assert "subscription name A-S00042020" in verdict.next_action


def test_a_request_naming_this_subscription_outweighs_a_mistyped_one() -> None:
    verdict = diagnose_trial(portal(leads=(lead("pending"),), misnamed_leads=(TYPO,)), None)
    assert verdict.cause == "lead_not_processed"


def test_an_unknown_name_suggests_the_requesters_closest_subscription() -> None:
    asked = portal(
        subscription_name="A-S0004202O",
        found=False,
        leads=(TYPO,),
        candidates=TYPO.candidates,
        close_match="A-S00042020",
    )
    verdict = diagnose_trial(asked, None)
    assert (verdict.cause, verdict.rule) == ("unknown_subscription", "R20")
    assert "the requester's subscription A-S00042020 is the closest name" in verdict.headline
    assert "portal: A-S00042020: owner@example.com is its contact" in verdict.facts
    assert (
        "portal (lead processing at 2026-03-06T05:00:00Z): No subscription is named A-S0004202O."
        in verdict.facts
    )
    assert "`provlab doctor trial --subscription A-S00042020`" in verdict.next_action


def test_an_unknown_name_without_a_close_match_asks_for_the_badge() -> None:
    asked = portal(subscription_name="A-S00000001", found=False, candidates=TYPO.candidates)
    verdict = diagnose_trial(asked, None)
    assert "closest" not in verdict.headline
    assert "badge" in verdict.next_action
    assert any("none of the requester's subscriptions" in fact for fact in verdict.facts)


def test_look_alike_letters_read_as_digits_and_a_tie_suggests_nothing() -> None:
    theirs = [Candidate("A-S00042021", ""), Candidate("A-S00042020", "")]
    assert closest_subscription("A-S0004202O", theirs) == "A-S00042020"  # O for 0
    assert closest_subscription("A-S0004202I", theirs) == "A-S00042021"  # I for 1
    assert closest_subscription("A-S0004202", theirs) is None  # as close to both
    assert closest_subscription("B-X99999999", theirs) is None


# -- ended trials and extensions ------------------------------------------------------------------

ENDED = replace(TRIAL, ends_on=dt.date(2026, 3, 5))  # today is 2026-03-05: it has ended
AGAIN = replace(lead("pending"), submitted_at=NOW - dt.timedelta(hours=1))


def test_a_second_request_after_the_trial_ended_is_named_and_points_to_sales() -> None:
    dropped = replace(
        AGAIN,
        status="dropped",
        reason="duo_trial_ended",
        reason_detail="The subscription's GitLab Duo Pro trial ended on 2026-03-05 (R23).",
        processed_at=NOW,
    )
    verdict = diagnose_trial(portal(leads=(lead("trial_created"), dropped), trials=(ENDED,)), None)
    assert (verdict.cause, verdict.rule) == ("duo_trial_ended", "R23")
    assert "the new trial request was dropped" in verdict.headline
    assert "ask sales to extend the ended trial as a $0 order" in verdict.next_action
    assert any("duo_pro trial: 50 seats, 2026-03-04 to 2026-03-05" in f for f in verdict.facts)
    assert "portal (internal): The subscription's GitLab Duo Pro trial" in verdict.facts[1]


def test_a_second_request_is_named_before_processing_too() -> None:
    again = replace(AGAIN, expected_reason="duo_trial_ended", expected_detail="ended (R23).")
    verdict = diagnose_trial(portal(leads=(lead("trial_created"), again), trials=(ENDED,)), None)
    assert (verdict.cause, verdict.rule) == ("duo_trial_ended", "R23")
    assert "lead processing will drop the new trial request" in verdict.headline


def test_an_ended_trial_points_to_the_extension_and_the_next_sync() -> None:
    verdict = diagnose_trial(portal(leads=(lead("trial_created"),), trials=(ENDED,)), None)
    assert (verdict.cause, verdict.rule) == ("trial_ended", "R23")
    assert "ask sales to extend it as a $0 order" in verdict.next_action
    assert "next sync" in verdict.next_action
    assert "starts no second trial" in verdict.next_action


EXTENDED = replace(
    TRIAL, ends_on=dt.date(2026, 4, 4), extended_at=dt.datetime(2026, 3, 5, 10, 0, tzinfo=dt.UTC)
)


def test_an_extension_after_the_last_sync_has_not_reached_the_instance() -> None:
    created = portal(leads=(lead("trial_created"),), trials=(EXTENDED,))
    on_instance = instance(duo_ends_on=dt.date(2026, 3, 5))  # last sync 2026-03-05T03:41
    verdict = diagnose_trial(created, on_instance)
    assert (verdict.cause, verdict.rule) == ("not_yet_synced", "R13")
    assert verdict.headline.startswith(
        "Sales extended the trial to 2026-04-04 after the instance's last sync"
    )
    assert "extended by sales at 2026-03-05T10:00:00Z" in verdict.facts[0]
    # The portal alone sees the same: the instance's last sync came before the extension.
    assert diagnose_trial(created, None).cause == "not_yet_synced"


def test_an_instance_still_holding_the_ended_trial_is_not_healthy() -> None:
    created = portal(leads=(lead("trial_created"),), trials=(replace(EXTENDED, extended_at=None),))
    verdict = diagnose_trial(created, instance(duo_ends_on=dt.date(2026, 3, 5)))
    assert (verdict.cause, verdict.rule, verdict.healthy) == ("not_yet_synced", "R13", False)
    assert "ended 2026-03-05" in verdict.facts[-1]


def test_a_failing_sync_keeps_the_extension_away() -> None:
    created = portal(leads=(lead("trial_created"),), trials=(EXTENDED,))
    failing = instance(duo_ends_on=dt.date(2026, 3, 5), last_sync_error="connectivity issue")
    assert diagnose_trial(created, failing).cause == "sync_failing"


def test_an_extension_that_reached_the_instance_is_healthy() -> None:
    created = portal(leads=(lead("trial_created"),), trials=(EXTENDED,))
    synced = instance(
        duo_ends_on=dt.date(2026, 4, 4), last_sync_at=dt.datetime(2026, 3, 5, 11, tzinfo=dt.UTC)
    )
    assert diagnose_trial(created, synced).healthy


# -- gathering the evidence from the portal -------------------------------------------------------


def _request(app: Flask, name: str, email: str, country: str = "DE", company: str = "C") -> None:
    fields = {
        "subscription_name": name,
        "email": email,
        "first_name": "A",
        "last_name": "B",
        "company": company,
        "country": country,
        "add_on": "duo_pro",
    }
    with unit_of_work(app):
        submit_trial_request(fields, app_clock(app).now())


def test_evidence_judges_a_waiting_request_by_the_rules_sales_will_apply(portal_app: Flask) -> None:
    name = customer_subscription(portal_app, "owner@example.com", contact_email="owner@example.com")
    _request(portal_app, name, "owner@example.com", country="IR")
    (waiting_lead,) = portal_evidence(portal_app, name).leads
    assert waiting_lead.status == "pending"
    assert waiting_lead.expected_reason == "embargoed_country"
    assert "(IR)" in (waiting_lead.expected_detail or "")
    assert waiting_lead.expected_at == dt.datetime(2026, 3, 2, 5, 0, tzinfo=dt.UTC)


def test_evidence_finds_a_mistyped_request_through_the_email_and_the_company(
    portal_app: Flask,
) -> None:
    name = customer_subscription(portal_app, "buyer@example.com", contact_email="owner@example.com")
    other = make_account(portal_app, "someone@example.com")
    sibling = make_subscription(
        portal_app, other, contact_email="it@example.com", contact_company="Example Corp"
    )
    typo = name[:-1] + {"0": "O", "1": "I"}.get(name[-1], "X")
    _request(portal_app, typo, "owner@example.com", company="example corp")
    found = portal_evidence(portal_app, name)
    assert found.leads == ()
    (misnamed,) = found.misnamed_leads
    assert misnamed.subscription_name == typo
    assert misnamed.expected_reason == "unknown_subscription"
    assert {each.name: each.because for each in misnamed.candidates} == {
        name: "owner@example.com is its contact",
        sibling: "its contact's company is Example Corp",
    }
    asked = portal_evidence(portal_app, typo)
    assert not asked.found and [each.email for each in asked.leads] == ["owner@example.com"]
    assert [each.name for each in asked.candidates] == sorted([name, sibling])
    # Someone other than the contact asked: support names them with --email.
    _request(portal_app, "A-S9", "helper@example.com")
    assert len(portal_evidence(portal_app, name).misnamed_leads) == 1
    named = portal_evidence(portal_app, name, email="Helper@example.com").misnamed_leads
    assert [each.email for each in named] == ["owner@example.com", "helper@example.com"]


def test_evidence_carries_when_sales_extended_the_trial(portal_app: Flask) -> None:
    name = customer_subscription(portal_app, "owner@example.com", contact_email="owner@example.com")
    seller = make_account(portal_app, "sales@example.com", role="sales")
    _request(portal_app, name, "owner@example.com")
    run_jobs_until(portal_app, "2026-05-03T06:00:00Z")  # the trial ran 2026-03-02 to 05-01
    with unit_of_work(portal_app):
        subscription = find_subscription(name)
        assert subscription is not None
        now = app_clock(portal_app).now()
        extend_duo_trial(
            OrderTerms(
                subscription=subscription, placed_by=db.session.get(Account, seller), now=now
            ),
            10,
        )
    (trial,) = portal_evidence(portal_app, name).trials
    assert trial.ends_on == dt.date(2026, 5, 13)  # from today, 2026-05-03, + 10 days
    assert trial.extended_at == dt.datetime(2026, 5, 3, 6, 0, tzinfo=dt.UTC)
    assert trial.created_at == dt.datetime(2026, 3, 2, 5, 0, tzinfo=dt.UTC)  # unchanged
