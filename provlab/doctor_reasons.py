"""Why sales dropped a trial request, as the support engineer needs to hear it: the headline, the
rule and the next action for each ``portal.leads.Reason``, and the headline said ahead of lead
processing when the portal already knows the answer (``ahead``)."""

from __future__ import annotations

from dataclasses import dataclass

from portal.leads import Reason


@dataclass(frozen=True)
class Explanation:
    headline: str
    rule: str
    action: str
    ahead: str = ""  # the headline before lead processing has dropped the request


# Why sales dropped a lead, as the support engineer needs to hear it.
DROP_REASONS: dict[str, Explanation] = {
    Reason.EMBARGOED_COUNTRY: Explanation(
        headline=(
            "The trial request came from an embargoed country: the form showed success, but the "
            "application failed silently and no trial was created"
        ),
        rule="R22",
        action=(
            "No trial can be created for this requester. Ask in #duo-pro-trial-requests for clarification; "
            "do not tell the customer more than policy allows."
        ),
        ahead=(
            "The trial request comes from an embargoed country: the form showed success, but lead processing will drop it silently and create no trial"
        ),
    ),
    Reason.EMAIL_NOT_CONTACT: Explanation(
        headline=("The email on the trial request is not the subscription contact's email"),
        rule="R20",
        action=(
            "Ask the customer to submit the trial form again with the subscription contact's email "
            "(or change the subscription contact first)."
        ),
        ahead=(
            "The email on the trial request is not the subscription contact's email: lead processing will drop it"
        ),
    ),
    Reason.PLAN_TRIAL_IN_PROGRESS: Explanation(
        headline=(
            "The subscription is a self-managed Ultimate plan trial (a legacy license): Duo cannot be "
            "trialled at the same time"
        ),
        rule="R11",
        action=(
            "The customer must finish the Ultimate trial, then request the Duo trial separately."
        ),
        ahead=(
            "The subscription is a self-managed Ultimate plan trial (a legacy license): lead processing will drop the Duo trial request"
        ),
    ),
    Reason.COMMUNITY_PROGRAM: Explanation(
        headline=(
            "Community-program subscriptions (legacy licenses) are not eligible for a Duo trial"
        ),
        rule="R12",
        action=("No Duo trial is possible on a community-program subscription."),
        ahead=(
            "Community-program subscriptions (legacy licenses) are not eligible for a Duo trial: lead processing will drop the request"
        ),
    ),
    Reason.FREE_PLAN: Explanation(
        headline=(
            "The subscription is on the Free plan: Duo trials need an active paid Premium or Ultimate "
            "subscription"
        ),
        rule="R19",
        action=("The customer needs a paid Premium or Ultimate subscription first."),
        ahead=(
            "The subscription is on the Free plan: lead processing will drop the trial request (Duo trials need an active paid Premium or Ultimate subscription)"
        ),
    ),
    Reason.NOT_PAID: Explanation(
        headline=("The subscription is not a paid subscription"),
        rule="R19",
        action=("The customer needs an active paid Premium or Ultimate subscription."),
        ahead=(
            "The subscription is not a paid subscription: lead processing will drop the trial request"
        ),
    ),
    Reason.EXPIRED: Explanation(
        headline=("The subscription is not active (expired or not started)"),
        rule="R19",
        action=("Renew the subscription, then request the trial again."),
        ahead=(
            "The subscription is not active (expired or not started): lead processing will drop the trial request"
        ),
    ),
    Reason.ALREADY_HAS_DUO: Explanation(
        headline=("The subscription already has GitLab Duo (a purchase or an earlier trial)"),
        rule="R19",
        action=("No new trial is needed; to extend a trial, sales books a $0 order (R23)."),
        ahead=(
            "The subscription already has GitLab Duo: lead processing will drop the trial request"
        ),
    ),
    Reason.ALREADY_HAD_DUO_TRIAL: Explanation(
        headline="The subscription already has a GitLab Duo trial",
        rule="R19",
        action=(
            "Support cannot extend Duo trials (R23); sales can extend one as a $0 order on the "
            "subscription."
        ),
        ahead=(
            "The subscription already has a GitLab Duo trial: lead processing will drop the new request"
        ),
    ),
    Reason.DUO_TRIAL_ENDED: Explanation(
        headline=(
            "The subscription's GitLab Duo trial has ended, and a subscription gets one free "
            "trial: the new trial request was dropped"
        ),
        rule="R23",
        action=(
            "Support cannot extend Duo trials: ask sales to extend the ended trial as a $0 order "
            "on the subscription; it reaches the instance at its next sync (or at once with "
            "Synchronize subscription in Admin → Subscription)."
        ),
        ahead=(
            "The subscription's GitLab Duo trial has ended, and a subscription gets one free "
            "trial: lead processing will drop the new trial request"
        ),
    ),
    Reason.UNKNOWN_SUBSCRIPTION: Explanation(
        headline=("The trial request named a subscription the portal does not know"),
        rule="R20",
        action=(
            "Ask the customer for the subscription name shown as a badge on the subscription page."
        ),
        ahead=(
            "The trial request names a subscription the portal does not know: lead processing will drop it"
        ),
    ),
}
