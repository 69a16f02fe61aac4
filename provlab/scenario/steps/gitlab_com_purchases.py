"""What a GitLab.com customer buys in the portal for a group, through its pages as a browser
would: *Add seats* from the group's *Usage Quotas → GitLab Duo* tab leads to the portal's *Add
additional seats*, the Privacy Policy and Terms of Service checkbox, *Purchase seats*, then the
*GitLab SaaS* tab (seeds/000 "For GitLab.com"; R5); *Upgrade to Premium/Ultimate* on the
group's *Settings → Billing* leads to the portal's purchase for the group, which replaces an
Ultimate trial (R4, R7)."""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import urlsplit

import requests

from portal.setup import add_payment_method
from provlab.scenario.drivers import csrf_token, flash_messages
from provlab.scenario.drivers.portal import CUSTOMER_EMAIL
from provlab.scenario.vocabulary import StepContext, action

CUSTOMER_PASSWORD = "scenario-customer"  # as setup.portal creates the account
_ADD_SEATS = re.compile(r'href="([^"]+)" data-testid="add-seats"')
_FIELD = re.compile(r'name="idempotency_key" value="([^"]+)"')
_METHOD = re.compile(r'<option value="(\d+)">[^<]*4242')


def _signed_in_portal(context: StepContext) -> requests.Session:
    portal = context.portal
    browser = portal.browser()
    page = browser.get(f"{portal.url}/users/sign_in")
    if "/users/sign_in" not in page.url:
        return browser  # signed in already
    response = browser.post(
        f"{portal.url}/users/sign_in",
        data={
            "login": CUSTOMER_EMAIL,
            "password": CUSTOMER_PASSWORD,
            "csrf_token": csrf_token(page.text),
        },
        allow_redirects=False,
    )
    if response.status_code != 302:
        context.fail("the customer could not sign in to the portal")
    return browser


@action(
    "add_group_seats",
    "- add_group_seats: {group: acme, by: olga, seats: 3, accept_terms: false, expect_refusal: Privacy Policy}",
)
def add_group_seats(context: StepContext, args: Any) -> None:
    """The group's owner selects *Add seats* on *Usage Quotas → GitLab Duo*; in the portal the
    customer enters *Add additional seats*, picks the payment method, selects the Privacy Policy
    and Terms of Service checkbox (unless ``accept_terms: false``) and *Purchase seats*, then
    the *GitLab SaaS* tab. The purchase is pushed to the group at once."""
    fields = context.mapping(args, {"group", "by", "seats"}, {"accept_terms", "expect_refusal"})
    gitlab_com, portal = context.gitlab_com, context.portal
    _ = context.world.gitlab_com
    quotas = gitlab_com.browser_of(str(fields["by"])).get(
        f"{gitlab_com.url}/groups/{fields['group']}/-/usage_quotas?tab=gitlab_duo"
    )
    link = _ADD_SEATS.search(quotas.text)
    if link is None:
        context.fail(f"{fields['group']}'s Usage Quotas → GitLab Duo tab shows no Add seats")
    with portal.transaction():
        add_payment_method(portal.customer(), "Visa", "4242")
    browser = _signed_in_portal(context)
    page = browser.get(link.group(1).replace("&amp;", "&"))
    key, method = _FIELD.search(page.text), _METHOD.search(page.text)
    if page.status_code != 200 or "Add additional seats" not in page.text or not key or not method:
        context.fail(
            f"the portal's Add additional seats page did not open: {flash_messages(page.text)}"
        )
    form = {
        "csrf_token": csrf_token(page.text),
        "idempotency_key": key.group(1),
        "payment_method": method.group(1),
        "seats": str(fields["seats"]),
    }
    if fields.get("accept_terms", True):
        form["accept_terms"] = "1"
    response = browser.post(page.url, data=form)
    shown = flash_messages(response.text)
    context.world.timeline.add(context.world.now(), "portal", "purchase", shown[:160])
    if not _bought(context, fields, shown, "Your purchase of" in shown, "the seats were"):
        return
    saas = browser.get(f"{portal.url}/subscriptions?tab=gitlab_saas")
    if str(fields["group"]) not in saas.text:
        context.fail(f"the GitLab SaaS tab does not show {fields['group']}")
    context.world.travel_to(context.world.now())  # the push is due at once


_UPGRADE = re.compile(r'href="([^"]+)">Upgrade to (Premium|Ultimate)</a>')
_GROUP_ID = re.compile(r'<option value="(\d+)" selected>')
_LINK_FORM = re.compile(r'<form method="post" action="/customers/auth/gitlab".*?</form>', re.S)
_AUTHORIZE_FORM = re.compile(
    r'<form method="post" action="/oauth/authorize"[^>]*>(.*?)</form>', re.S
)
_HIDDEN = re.compile(r'name="([^"]+)" value="([^"]*)"')


def _hidden_fields(form: str) -> dict[str, str]:
    return {name: html.unescape(value) for name, value in _HIDDEN.findall(form)}


def _local(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def _link_gitlab_com_account(
    context: StepContext, browser: requests.Session, page: requests.Response, username: str
) -> requests.Response:
    """*Link a GitLab.com account* on ``page``: the portal sends the browser to GitLab.com's
    authorize page, ``username`` (signed in there) selects *Authorize*, and GitLab.com sends
    the browser back to the portal's callback; returns the page the portal then shows."""
    portal, gitlab_com = context.portal, context.gitlab_com
    form = _LINK_FORM.search(page.text)
    if form is None:
        context.fail(
            f"the portal's page offers no Link a GitLab.com account: {flash_messages(page.text)}"
        )
    fields = _hidden_fields(form.group(0))
    start = browser.post(f"{portal.url}/customers/auth/gitlab", data=fields, allow_redirects=False)
    location = start.headers.get("Location", "")
    if not location.startswith(gitlab_com.url):
        context.fail(f"linking did not lead to GitLab.com ({start.status_code} {location[:80]})")
    there = gitlab_com.browser_of(username)
    answer = there.get(f"{gitlab_com.url}{_local(location)}", allow_redirects=False)
    if answer.status_code == 200:  # the consent page (skipped when authorized before)
        authorize = _AUTHORIZE_FORM.search(answer.text)
        if authorize is None:
            context.fail("GitLab.com showed no Authorize form")
        answer = there.post(
            f"{gitlab_com.url}/oauth/authorize",
            data=_hidden_fields(authorize.group(1)),
            allow_redirects=False,
        )
    back = answer.headers.get("Location", "")
    return browser.get(f"{portal.url}{_local(back)}")


@action(
    "upgrade_group",
    "- upgrade_group: {group: acme, by: olga, plan: premium, seats: 5, expect_refusal: already}",
)
def upgrade_group(context: StepContext, args: Any) -> None:
    """The group's owner selects *Upgrade to Premium* (or Ultimate) on *Settings → Billing*; in
    the portal the customer links the owner's GitLab.com account if none is linked yet
    (GitLab.com's *Authorize* page), enters the seats, picks the payment method and confirms. The plan
    is bought for the group (replacing its Ultimate trial) and pushed there at once."""
    fields = context.mapping(args, {"group", "by", "plan", "seats"}, {"expect_refusal"})
    gitlab_com, portal = context.gitlab_com, context.portal
    _ = context.world.gitlab_com
    billing = gitlab_com.browser_of(str(fields["by"])).get(
        f"{gitlab_com.url}/groups/{fields['group']}/-/billings"
    )
    links = {plan.lower(): href for href, plan in _UPGRADE.findall(billing.text)}
    plan = str(fields["plan"])
    if plan not in links:
        context.fail(f"{fields['group']}'s Settings → Billing shows no Upgrade to {plan}")
    with portal.transaction():
        add_payment_method(portal.customer(), "Visa", "4242")
    browser = _signed_in_portal(context)
    page = browser.get(links[plan].replace("&amp;", "&"))
    if "Link your GitLab.com account first" in page.text:
        # The customer links the owner's GitLab.com account; the portal returns to this page.
        page = _link_gitlab_com_account(context, browser, page, str(fields["by"]))
    method, group_id = _METHOD.search(page.text), _GROUP_ID.search(page.text)
    if page.status_code != 200 or not method or not group_id:
        context.fail(f"the portal's purchase page did not open: {flash_messages(page.text)}")
    # The group the Upgrade link preselected among the account's own, the seats and the
    # payment method.
    form = {
        "csrf_token": csrf_token(page.text),
        "plan_id": plan,
        "gl_namespace_id": group_id.group(1),
        "payment_method": method.group(1),
        "seats": str(fields["seats"]),
    }
    response = browser.post(f"{portal.url}/subscriptions/new", data=form)
    shown = flash_messages(response.text)
    context.world.timeline.add(context.world.now(), "portal", "purchase", shown[:160])
    bought = "subscription for" in shown and "is active" in shown
    if not _bought(context, fields, shown, bought, "the plan was"):
        return
    context.world.travel_to(context.world.now())  # the push is due at once


def _bought(
    context: StepContext, fields: dict[str, Any], shown: str, bought: bool, what: str
) -> bool:
    """The portal page's answer (``shown``, its flashes) as the step expects it: True when the
    purchase went through; False when the ``expect_refusal`` it names was shown; else the step
    fails."""
    expected = fields.get("expect_refusal")
    if expected is not None:
        if bought or str(expected).lower() not in shown.lower():
            context.fail(f"expected a refusal containing {expected!r}, the page said: {shown}")
        return False
    if not bought:
        context.fail(f"{what} not bought: {shown}")
    return True
