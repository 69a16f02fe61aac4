"""`doctor trial --namespace`'s diagnosis over evidence the scenarios cannot easily reach (a push
GitLab.com refused, a group that does not exist, a trial the portal holds and GitLab.com does
not), and its command line's usage errors (R25)."""

from __future__ import annotations

import datetime as dt

from click.testing import CliRunner

from provlab.cli import main
from provlab.doctor_namespace import diagnose_namespace_trial
from provlab.doctor_namespace_evidence import DuoEvidence, GroupEvidence, LinkEvidence

NOW = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)


def _group(**fields: object) -> GroupEvidence:
    base: dict[str, object] = {
        "group_id": 7,
        "root_id": 7,
        "root_path": "acme",
        "owners": ("olga",),
        "requester": "olga",
        "requester_found": True,
        "requester_role": "Owner",
    }
    return GroupEvidence(NOW, "acme", True, **{**base, **fields})  # type: ignore[arg-type]


def _link(**fields: object) -> LinkEvidence:
    base: dict[str, object] = {
        "namespace_id": 7,
        "namespace_path": "acme",
        "subscription_name": "A-S00000001",
        "plan": "premium",
        "kind": "paid",
        "starts_on": dt.date(2026, 3, 1),
        "ends_on": dt.date(2027, 3, 1),
        "linked_at": NOW,
    }
    return LinkEvidence(NOW, True, **{**base, **fields})  # type: ignore[arg-type]


def test_a_push_gitlab_com_refused_is_the_cause_and_the_group_is_still_free_there() -> None:
    verdict = diagnose_namespace_trial(
        _group(), _link(refused="Must be root namespace! (not_root_namespace)")
    )
    assert (verdict.cause, verdict.rule, verdict.healthy) == ("push_refused", "R25", False)
    assert "gitlab.com: acme is on the Free plan" in verdict.facts
    assert [finding.cause for finding in verdict.also] == []


def test_an_unknown_group_is_named_and_nothing_else_is_guessed() -> None:
    verdict = diagnose_namespace_trial(GroupEvidence(NOW, "acme/nope", False), None)
    assert (verdict.cause, verdict.rule, verdict.also) == ("group_not_found", None, ())


def test_a_trial_the_portal_created_but_gitlab_com_does_not_hold_is_not_healthy() -> None:
    trial = DuoEvidence("duo_pro", True, dt.date(2026, 3, 2), dt.date(2026, 5, 1), 5)
    verdict = diagnose_namespace_trial(
        _group(plan="premium", plan_active=True), _link(duo=(trial,), last_provisioned_at=NOW)
    )
    assert verdict.cause == "trial_not_applied" and not verdict.healthy
    held = diagnose_namespace_trial(
        _group(plan="premium", plan_active=True, duo=trial), _link(duo=(trial,))
    )
    assert (held.cause, held.healthy, held.findings) == ("trial_active", True, ())


def test_namespace_and_subscription_are_one_or_the_other() -> None:
    runner = CliRunner()
    neither = runner.invoke(main, ["doctor", "trial"])
    both = runner.invoke(main, ["doctor", "trial", "--namespace", "acme", "--subscription", "A-S1"])
    stray = runner.invoke(main, ["doctor", "trial", "--subscription", "A-S1", "--user", "olga"])
    assert neither.exit_code == both.exit_code == stray.exit_code == 2
    assert "--namespace GROUP" in neither.output and "go with --namespace" in stray.output
