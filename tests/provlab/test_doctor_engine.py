"""The trial doctor's reasoning, on hand-made evidence: one test per branch of seeds/003.

End-to-end doctor runs against real parties live in the scenario library; these pin down that
each broken link of the trial's path gives its own cause, rule and next action. The test names
carry no rule IDs on purpose: they prove the diagnosis, not that the apps enforce the rules.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from provlab.doctor import (
    DROP_REASONS,
    InstanceEvidence,
    LeadEvidence,
    PortalEvidence,
    TrialEvidence,
    diagnose_trial,
)
from provlab.doctor_facts import lead_fact
from tests.provlab.evidence import instance_evidence, portal_evidence

NOW = dt.datetime(2026, 3, 5, 12, 0, tzinfo=dt.UTC)
SUBMITTED = dt.datetime(2026, 3, 3, 9, 0, tzinfo=dt.UTC)
PROCESSED = dt.datetime(2026, 3, 4, 5, 0, tzinfo=dt.UTC)


def portal(**changes: object) -> PortalEvidence:
    # An ultimate subscription whose last sync the portal recorded the day before NOW.
    base = portal_evidence(
        NOW,
        plan="ultimate",
        ends_on=dt.date(2027, 1, 1),
        activated_at=dt.datetime(2026, 3, 1, tzinfo=dt.UTC),
        last_sync_at=dt.datetime(2026, 3, 4, 3, 41, tzinfo=dt.UTC),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def lead(status: str, reason: str | None = None) -> LeadEvidence:
    return LeadEvidence(
        SUBMITTED,
        "owner@example.com",
        "DE",
        "duo_pro",
        status,
        reason,
        None,
        PROCESSED if status != "pending" else None,
    )


TRIAL = TrialEvidence("duo_pro", 50, dt.date(2026, 3, 4), dt.date(2026, 5, 3), PROCESSED)


def instance(**changes: object) -> InstanceEvidence:
    base = instance_evidence(NOW, duo_quantity=50, duo_trial=True, assigned_seats=3)
    return replace(base, **changes)  # type: ignore[arg-type]


def test_doctor_no_lead_means_no_trial_request_received() -> None:
    verdict = diagnose_trial(portal(), None)
    assert (verdict.cause, verdict.rule) == ("no_trial_request", "R21")


def test_doctor_pending_lead_names_the_next_processing_time() -> None:
    next_run = dt.datetime(2026, 3, 6, 5, 0, tzinfo=dt.UTC)
    verdict = diagnose_trial(
        portal(leads=(lead("pending"),), next_lead_processing_at=next_run), None
    )
    assert (verdict.cause, verdict.rule) == ("lead_not_processed", "R21")
    assert "2026-03-06T05:00:00Z" in verdict.next_action


@pytest.mark.parametrize(
    ("reason", "rule"),
    [
        ("embargoed_country", "R22"),
        ("email_not_contact", "R20"),
        ("plan_trial_in_progress", "R11"),
        ("community_program", "R12"),
        ("free_plan", "R19"),
        ("not_paid", "R19"),
        ("subscription_expired", "R19"),
        ("already_has_duo", "R19"),
        ("already_had_duo_trial", "R19"),
    ],
)
def test_doctor_dropped_lead_names_its_reason_and_rule(reason: str, rule: str) -> None:
    verdict = diagnose_trial(portal(leads=(lead("dropped", reason),)), None)
    assert verdict.cause == reason
    assert verdict.rule == rule
    assert verdict.headline == DROP_REASONS[reason].headline
    assert not verdict.healthy


def test_doctor_embargo_verdict_says_the_failure_was_silent() -> None:
    verdict = diagnose_trial(portal(leads=(lead("dropped", "embargoed_country"),)), None)
    assert "silently" in verdict.headline


@pytest.mark.parametrize("license_type", ["offline_cloud", "legacy"])
def test_doctor_offline_or_legacy_license_blocks_duo_even_with_a_trial(license_type: str) -> None:
    created = portal(leads=(lead("trial_created"),), trials=(TRIAL,))
    verdict = diagnose_trial(created, instance(license_type=license_type))
    assert (verdict.cause, verdict.rule) == (f"{license_type}_license", "R10")
    assert "activation code" in verdict.next_action


def test_doctor_instance_without_license_was_never_activated() -> None:
    created = portal(leads=(lead("trial_created"),), trials=(TRIAL,))
    verdict = diagnose_trial(created, instance(license_type=None, last_sync_at=None))
    assert (verdict.cause, verdict.rule) == ("not_activated", "R8")


def test_doctor_old_version_is_named_before_sync_questions() -> None:
    created = portal(leads=(lead("trial_created"),), trials=(TRIAL,))
    verdict = diagnose_trial(created, instance(gitlab_version="16.7.2"))
    assert (verdict.cause, verdict.rule) == ("version_too_old", "R17")


def test_doctor_duo_enterprise_trial_needs_17_3() -> None:
    enterprise = replace(TRIAL, tier="duo_enterprise")
    created = portal(leads=(lead("trial_created"),), trials=(enterprise,))
    assert diagnose_trial(created, instance(gitlab_version="17.2.0")).cause == "version_too_old"
    on_instance = instance(gitlab_version="17.3.0", duo_tier="duo_enterprise")
    assert diagnose_trial(created, on_instance).cause == "trial_active"


def test_doctor_reads_r17_minimums_from_the_protocol_one_place(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from protocol import license as protocol_license
    from protocol.license import AddOnTier
    from protocol.versions import GitLabVersion

    created = portal(leads=(lead("trial_created"),), trials=(TRIAL,))
    assert diagnose_trial(created, instance(gitlab_version="16.9.0")).cause == "trial_active"
    monkeypatch.setitem(
        protocol_license._ADD_ON_TIER_MINIMUM_VERSIONS, AddOnTier.DUO_PRO, GitLabVersion(17, 0)
    )
    verdict = diagnose_trial(created, instance(gitlab_version="16.9.0"))
    assert (verdict.cause, verdict.rule) == ("version_too_old", "R17")
    assert "GitLab Duo Pro needs 17.0.0 or later" in verdict.headline
    assert "(17.2+ for the best experience)" in verdict.next_action


def test_doctor_trial_newer_than_last_sync_is_not_yet_synced() -> None:
    created = portal(leads=(lead("trial_created"),), trials=(TRIAL,))
    before = dt.datetime(2026, 3, 4, 3, 41, tzinfo=dt.UTC)  # an hour before the trial
    verdict = diagnose_trial(
        created, instance(last_sync_at=before, duo_tier=None, assigned_seats=0)
    )
    assert (verdict.cause, verdict.rule) == ("not_yet_synced", "R13")
    assert "2026-03-06T03:41:00Z" in verdict.next_action


def test_doctor_failing_sync_behind_a_proxy_is_named() -> None:
    created = portal(leads=(lead("trial_created"),), trials=(TRIAL,))
    verdict = diagnose_trial(
        created,
        instance(
            last_sync_at=None,
            last_sync_error="Cannot reach the portal: proxy refused",
            proxy="http://proxy.internal:3128",
            duo_tier=None,
            assigned_seats=0,
        ),
    )
    assert (verdict.cause, verdict.rule) == ("sync_failing", "R16")
    assert any("proxy" in line for line in verdict.evidence)


def test_doctor_portal_only_evidence_uses_the_portals_last_sync() -> None:
    created = portal(
        leads=(lead("trial_created"),),
        trials=(TRIAL,),
        last_sync_at=dt.datetime(2026, 3, 4, 3, 0, tzinfo=dt.UTC),
    )
    assert diagnose_trial(created, None).cause == "not_yet_synced"


def test_doctor_synced_trial_without_seats_asks_to_assign_them() -> None:
    created = portal(leads=(lead("trial_created"),), trials=(TRIAL,))
    verdict = diagnose_trial(created, instance(assigned_seats=0))
    assert (verdict.cause, verdict.rule) == ("no_seats_assigned", "R24")


def test_healthy_trial_is_reported_as_such() -> None:
    created = portal(leads=(lead("trial_created"),), trials=(TRIAL,))
    verdict = diagnose_trial(created, instance())
    assert verdict.healthy and verdict.cause == "trial_active"
    assert "VERDICT: The trial is active" in verdict.render()


def test_doctor_ended_trial_points_to_sales_zero_dollar_order() -> None:
    ended = replace(TRIAL, ends_on=dt.date(2026, 3, 5))
    verdict = diagnose_trial(portal(leads=(lead("trial_created"),), trials=(ended,)), instance())
    assert (verdict.cause, verdict.rule) == ("trial_ended", "R23")
    assert "$0" in verdict.next_action


def test_unknown_subscription() -> None:
    verdict = diagnose_trial(portal(found=False), None)
    assert verdict.cause == "unknown_subscription"


# -- issue 12: evidence that contradicts the verdict, every blocker, facts ------------------------

CREATED = portal(leads=(lead("trial_created"),), trials=(TRIAL,))


def test_instance_licensed_for_another_subscription_is_the_verdict_not_nothing_to_fix() -> None:
    verdict = diagnose_trial(CREATED, instance(subscription_name="A-S00099999"))
    assert (verdict.cause, verdict.rule, verdict.healthy) == ("other_subscription", "R8", False)
    assert "This instance runs subscription A-S00099999, not A-S00012345" in verdict.headline
    assert "--subscription A-S00099999" in verdict.next_action
    # The other subscription's synced add-on and seats say nothing about this one.
    assert [finding.cause for finding in verdict.also] == []


def test_instance_of_another_subscription_leaves_this_one_to_the_portals_evidence() -> None:
    never_activated = replace(
        CREATED, activated_instance=None, activated_at=None, last_sync_at=None
    )
    verdict = diagnose_trial(never_activated, instance(subscription_name="A-S00099999"))
    assert verdict.cause == "other_subscription"
    assert [finding.cause for finding in verdict.also] == ["not_activated"]
    assert "portal: no instance has activated A-S00012345" in verdict.also[0].facts


def test_unknown_subscription_names_the_one_the_instance_runs() -> None:
    verdict = diagnose_trial(portal(found=False, subscription_name="A-S0001234S"), instance())
    assert verdict.cause == "unknown_subscription"
    assert [finding.cause for finding in verdict.also] == ["other_subscription"]
    assert "A-S00012345" in verdict.also[0].headline


def test_instance_holding_the_license_but_not_the_binding_is_a_finding() -> None:
    verdict = diagnose_trial(CREATED, instance(instance_id="instance-2"))
    assert (verdict.cause, verdict.rule) == ("bound_to_other_instance", "R8")
    assert any("instance-1" in fact for fact in verdict.facts)
    # The trial doctor may be reading the wrong instance: it says so, as the others need not.
    assert verdict.next_action.endswith(
        "(Admin → Subscription); otherwise read the other instance's diagnostics."
    )


def test_instance_add_on_other_than_the_portals_trial_is_a_finding() -> None:
    verdict = diagnose_trial(CREATED, instance(duo_tier="duo_enterprise"))
    assert (verdict.cause, verdict.rule) == ("add_on_differs", "R13")


def test_old_version_and_failing_sync_are_both_named_first_on_the_path_first() -> None:
    stuck = instance(
        gitlab_version="16.7.0",
        last_sync_at=dt.datetime(2026, 3, 3, 3, 41, tzinfo=dt.UTC),
        last_sync_error="Connection refused by proxy 127.0.0.1:9",
        duo_tier=None,
        assigned_seats=0,
    )
    verdict = diagnose_trial(CREATED, stuck)
    assert (verdict.cause, verdict.rule) == ("version_too_old", "R17")
    assert [(f.cause, f.rule) for f in verdict.also] == [("sync_failing", "R16")]
    assert "proxy" in verdict.also[0].next_action
    rendered = verdict.render()
    assert rendered.index("VERDICT: The instance runs GitLab 16.7.0") < rendered.index(
        "ALSO:    The instance cannot sync"
    )


def test_embargo_and_offline_license_are_both_named() -> None:
    embargoed = portal(leads=(lead("dropped", "embargoed_country"),), license_type="offline_cloud")
    verdict = diagnose_trial(embargoed, None)
    assert verdict.cause == "embargoed_country"
    assert [(f.cause, f.rule) for f in verdict.also] == [("offline_cloud_license", "R10")]
    assert "activation code" in verdict.also[0].next_action


def test_offline_license_explains_its_own_sync_failure() -> None:
    offline = instance(
        license_type="offline_cloud", last_sync_error="not cloud licensed", duo_tier=None
    )
    verdict = diagnose_trial(CREATED, offline)
    assert verdict.cause == "offline_cloud_license"
    assert verdict.also == ()


def test_json_carries_every_finding() -> None:
    embargoed = portal(leads=(lead("dropped", "embargoed_country"),), license_type="offline_cloud")
    answer = diagnose_trial(embargoed, None).to_dict()
    assert [f["cause"] for f in answer["findings"]] == [
        "embargoed_country",
        "offline_cloud_license",
    ]
    assert [f["cause"] for f in answer["also"]] == ["offline_cloud_license"]
    assert all(f["rule"] and f["next_action"] and f["facts"] for f in answer["findings"])


def test_bundle_version_of_unstated_origin_is_cross_checked_with_the_portals() -> None:
    # A bundle written by an exporting process carried that process's version (17.5.0), while
    # the instance told the portal it runs 16.7.0.
    exported = instance(gitlab_version="17.5.0", version_source="unstated")
    verdict = diagnose_trial(replace(CREATED, reported_version="16.7.0"), exported)
    assert (verdict.cause, verdict.rule) == ("version_too_old", "R17")
    assert [f.cause for f in verdict.also] == ["versions_disagree"]
    assert "GitLab 17.5.0" in verdict.also[0].headline and "16.7.0" in verdict.also[0].headline


def test_running_instance_newer_than_its_last_report_is_believed() -> None:
    upgraded = instance(gitlab_version="17.5.0", version_source="running instance")
    verdict = diagnose_trial(replace(CREATED, reported_version="16.7.0"), upgraded)
    assert verdict.cause == "trial_active"
    assert any("reported GitLab 16.7.0" in line for line in verdict.evidence)


def test_bundle_without_a_version_uses_the_portals() -> None:
    unknown = instance(gitlab_version=None, version_source="unknown")
    verdict = diagnose_trial(replace(CREATED, reported_version="16.7.0"), unknown)
    assert verdict.cause == "version_too_old"
    assert any(
        fact.startswith("portal: the instance reported GitLab 16.7.0") for fact in verdict.facts
    )


@pytest.mark.parametrize(
    "case",
    [
        (portal(), None),
        (portal(leads=(lead("pending"),)), None),
        (portal(leads=(lead("dropped", "free_plan"),)), instance(license_type="legacy")),
        (CREATED, instance(gitlab_version="16.7.0", last_sync_error="refused", duo_tier=None)),
        (CREATED, instance(last_sync_at=SUBMITTED, duo_tier=None)),
        (CREATED, instance(assigned_seats=0)),
        (CREATED, instance(subscription_name="A-S00099999")),
        (CREATED, instance()),
        (CREATED, None),
        (portal(found=False), None),
    ],
)
def test_every_finding_states_the_facts_it_rests_on_naming_their_party(case: tuple) -> None:
    verdict = diagnose_trial(*case)
    for finding in (verdict.finding, *verdict.also):
        assert finding.facts, finding
        assert all(fact.startswith(("portal", "instance")) for fact in finding.facts), finding.facts
        assert "BECAUSE: " + finding.facts[0] in verdict.render()


def test_never_synced_instance_names_its_party_too() -> None:
    verdict = diagnose_trial(CREATED, instance(last_sync_at=None, duo_tier=None))
    assert verdict.cause == "not_yet_synced"
    assert "instance: no sync since activation" in verdict.facts


def test_healthy_verdict_names_what_it_rests_on() -> None:
    verdict = diagnose_trial(CREATED, instance())
    assert verdict.healthy and verdict.findings == ()
    assert "A-S00012345" in verdict.headline and "3 seats are assigned" in verdict.headline
    assert any(
        fact.startswith("instance") and "licensed for A-S00012345" in fact for fact in verdict.facts
    )


def test_gitlab_coms_lead_for_an_ultimate_trial_reads_as_one() -> None:
    """GitLab.com's lead for an Ultimate trial names no add-on: the fact says what it was for."""
    found = replace(lead("trial_created"), add_on=None)
    assert "(DE, Ultimate trial): trial_created" in lead_fact(found)
