"""The seat, activation and menu doctors' reasoning on hand-made evidence: the branches the
scenario library does not reach cheaply (an expired purchase, an instance that never synced, a
contradiction between the parties, a bundle's clock), and that every finding carries its facts.
Test names carry no rule IDs: they prove the diagnosis, not that the apps enforce the rules."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from provlab.doctor_activation import ActivationCase, diagnose_activation
from provlab.doctor_gather import CodeEvidence, PurchaseEvidence, UserEvidence
from provlab.doctor_menu import diagnose_menu
from provlab.doctor_model import RUNNING, UNSTATED
from provlab.doctor_seat import diagnose_seat
from tests.provlab.evidence import instance_evidence, portal_evidence

NOW = dt.datetime(2026, 6, 5, 12, 0, tzinfo=dt.UTC)
BOUGHT = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)

PORTAL = portal_evidence(
    NOW,
    plan="premium",
    ends_on=dt.date(2027, 3, 2),
    activated_at=dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC),
)
INSTANCE = instance_evidence(
    NOW,
    duo_quantity=5,
    duo_ends_on=dt.date(2027, 3, 2),
    assigned_seats=1,
    instance_id="instance-1",
    version_source=RUNNING,
)
PURCHASE = PurchaseEvidence("duo_pro", 5, dt.date(2026, 3, 2), dt.date(2027, 3, 2), False, BOUGHT)
ALICE = UserEvidence(
    "alice",
    True,
    state="active",
    highest_role="Developer",
    plan="premium",
    billable=True,
    seat_assigned_at=BOUGHT,
)


def causes(verdict: object) -> list[str]:
    return [finding.cause for finding in verdict.findings]  # type: ignore[attr-defined]


def test_a_user_with_a_seat_on_a_live_add_on_is_healthy() -> None:
    verdict = diagnose_seat(ALICE, INSTANCE, PORTAL, (PURCHASE,))
    assert verdict.healthy and verdict.cause == "seat_active" and verdict.findings == ()


def test_an_expired_purchase_names_the_28_day_window() -> None:
    expired = replace(INSTANCE, duo_ends_on=dt.date(2026, 6, 1))
    ended = replace(PURCHASE, ends_on=dt.date(2026, 6, 1))
    verdict = diagnose_seat(ALICE, expired, PORTAL, (ended,))
    assert (verdict.cause, verdict.rule) == ("add_on_expired", "R1")
    assert "kept 28 days" in verdict.next_action
    assert "ended 2026-06-01" in verdict.facts[0]


def test_an_instance_that_never_synced_says_so_and_not_that_there_is_no_purchase() -> None:
    never = replace(INSTANCE, duo_tier=None, duo_ends_on=None, last_sync_at=None)
    verdict = diagnose_seat(replace(ALICE, seat_assigned_at=None), never, PORTAL, (PURCHASE,))
    assert causes(verdict) == ["never_synced", "no_seat"]
    assert verdict.rule == "R13"
    assert "instance: never synced" in verdict.facts


def test_a_sync_after_the_purchase_without_the_add_on_is_a_contradiction() -> None:
    lacking = replace(INSTANCE, duo_tier=None, duo_ends_on=None)
    seat = diagnose_seat(replace(ALICE, seat_assigned_at=None), lacking, PORTAL, (PURCHASE,))
    menu = diagnose_menu(PORTAL, lacking, (PURCHASE,))
    for verdict in (seat, menu):
        assert verdict.cause == "synced_without_add_on" and not verdict.healthy
        assert any(fact.startswith("portal: duo_pro purchase") for fact in verdict.facts)


def test_an_unknown_user_and_a_license_bound_elsewhere_are_both_named() -> None:
    moved = replace(PORTAL, activated_instance="instance-2")
    verdict = diagnose_seat(UserEvidence("nobody", False), INSTANCE, moved, (PURCHASE,))
    assert causes(verdict) == ["bound_to_other_instance", "unknown_user"]
    assert verdict.next_action.endswith("cloud activation code (Admin → Subscription).")
    assert "portal: A-S00012345 is bound to instance instance-2" in verdict.facts


def test_a_version_from_a_bundle_that_does_not_say_where_from_yields_to_the_portals() -> None:
    unstated = replace(INSTANCE, gitlab_version="17.5.0", version_source=UNSTATED)
    verdict = diagnose_seat(ALICE, unstated, replace(PORTAL, reported_version="16.7.0"))
    assert (verdict.cause, verdict.rule) == ("version_too_old", "R17")
    assert "portal: the instance reported GitLab 16.7.0" in verdict.facts


def test_a_menu_shown_is_healthy_even_when_a_newer_purchase_is_on_its_way() -> None:
    newer = replace(PURCHASE, created_at=NOW)
    verdict = diagnose_menu(PORTAL, INSTANCE, (PURCHASE, newer))
    assert verdict.healthy and verdict.cause == "menu_shown"


def test_an_add_on_this_version_does_not_know_is_named_as_the_instance_names_it() -> None:
    """An instance newer than Provision Lab may report a tier it has no label for: the menu and
    seat doctors name it as given instead of failing."""
    newer = replace(INSTANCE, duo_tier="duo_future")
    menu = diagnose_menu(PORTAL, newer, (PURCHASE,))
    assert menu.healthy and menu.headline.startswith("The instance knows duo_future,")
    seat = diagnose_seat(ALICE, newer, PORTAL, (PURCHASE,))
    assert seat.healthy and "holds a duo_future seat" in seat.headline


def test_clock_skew_is_judged_only_from_a_live_instance() -> None:
    ahead = replace(INSTANCE, now=NOW + dt.timedelta(minutes=20), license_type=None)
    code = CodeEvidence("…Ab12", "A-S00012345")
    portal = replace(PORTAL, activated_instance=None)
    live = ActivationCase("code …Ab12", code, portal, live=True)
    assert diagnose_activation(live, ahead).cause == "clock_skew"
    exported = ActivationCase("code …Ab12", code, portal, live=False)
    # A bundle's time is when it was exported: the doctor does not read skew into it.
    assert diagnose_activation(exported, ahead).cause == "connectivity"


def test_an_instance_the_portal_knows_is_not_called_unreachable() -> None:
    other = replace(INSTANCE, license_type=None, instance_id="instance-3")
    portal = replace(PORTAL, activated_instance=None)
    case = ActivationCase(
        "code …Ab12", CodeEvidence("…Ab12", "A-S00012345"), portal, instance_bound_to="A-S0009"
    )
    verdict = diagnose_activation(case, other)
    assert verdict.healthy and verdict.cause == "portal_accepts"
    assert any("its requests get through" in fact for fact in verdict.facts)


def test_every_finding_states_its_facts_and_next_action() -> None:
    blocked = replace(ALICE, state="blocked")
    offline = replace(INSTANCE, license_type="offline_cloud", gitlab_version="16.7.0")
    verdict = diagnose_seat(blocked, offline, PORTAL, (PURCHASE,))
    assert causes(verdict) == ["offline_cloud_license", "version_too_old", "user_not_active"]
    assert all(f.facts and f.next_action and f.rule for f in verdict.findings)
    assert verdict.to_dict()["findings"][2]["rule"] == "R29"
