"""``provlab up`` runs GitLab.com as a third real server: its demo group's subscription is pushed
there by the portal as it starts, and ``provlab clock`` moves the three parties in lockstep."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from provlab.scenario.drivers.pages import csrf_token
from tests.e2e.test_provlab_up import (
    START,
    Up,
    _clock,
    _session,
    _start,
    _stop_with_ctrl_c,
    port_open,
)

pytestmark = pytest.mark.e2e


@pytest.fixture
def three_up(tmp_path: Path) -> Iterator[Up]:
    up = _start(tmp_path, "--simulated-time", START)
    yield up
    if up.process.poll() is None:
        _stop_with_ctrl_c(up)


def _link_the_owners_account(up: Up, gitlab_com_url: str, gitlab_com: requests.Session) -> None:
    """The demo customer links the owner's GitLab.com account (the portal's OAuth application,
    registered on GitLab.com by ``provlab up``): the portal's button, GitLab.com's Authorize,
    the callback; the portal then offers the owner's group."""
    portal_url = re.search(r"Customers Portal\s+(http://127\.0\.0\.1:\d+)", up.banner)
    customer = re.search(r"customer\s+(\S+@\S+) / (\S+)", up.banner)
    assert portal_url and customer, up.banner
    portal, base = _session(), portal_url.group(1)
    page = portal.get(f"{base}/users/sign_in", timeout=10).text
    portal.post(
        f"{base}/users/sign_in",
        data={
            "login": customer.group(1),
            "password": customer.group(2),
            "csrf_token": csrf_token(page),
        },
        timeout=10,
    )
    tab = portal.get(f"{base}/subscriptions?tab=gitlab_saas", timeout=10).text
    assert "Link a GitLab.com account" in tab
    start = portal.post(
        f"{base}/customers/auth/gitlab",
        data={"csrf_token": csrf_token(tab)},
        allow_redirects=False,
        timeout=10,
    )
    assert start.headers["Location"].startswith(f"{gitlab_com_url}/oauth/authorize?")
    consent = gitlab_com.get(start.headers["Location"], timeout=10).text
    assert "Authorize Customers Portal to use your account?" in consent
    form = consent.split('action="/oauth/authorize"', 1)[1].split("</form>")[0]
    fields = {name: html.unescape(value) for name, value in _HIDDEN.findall(form)}
    answer = gitlab_com.post(
        f"{gitlab_com_url}/oauth/authorize", data=fields, allow_redirects=False, timeout=10
    )
    assert answer.headers["Location"].startswith(f"{base}/customers/auth/gitlab/callback?code=")
    linked = portal.get(answer.headers["Location"], timeout=10)
    assert "is linked" in linked.text, linked.text[:500]
    offered = portal.get(f"{base}/subscriptions/new", timeout=10).text
    assert re.search(r'<option value="\d+"[^>]*>acme</option>', offered), offered[:2000]


_HIDDEN = re.compile(r'name="([^"]+)" value="([^"]*)"')


def test_provlab_up_starts_gitlab_com_with_a_provisioned_demo_group_and_moves_three_clocks(
    three_up: Up,
) -> None:
    """R31: the demo group's billable members (owner, Maintainer, Developer; not the Guest on
    Ultimate, not GitLab's support bot) come back to the portal in GitLab.com's answer."""
    up = three_up
    gitlab_com = re.search(r"GitLab\.com\s+(http://127\.0\.0\.1:(\d+))", up.banner)
    assert gitlab_com, up.banner
    url, port = gitlab_com.group(1), int(gitlab_com.group(2))
    owner = re.search(r"owner\s+(\S+) / (\S+)", up.banner)
    assert owner, up.banner
    assert re.search(
        r"group acme \(id \d+\) on subscription A-S\d{8}\s+ultimate: provisioned, 3 seat", up.banner
    ), up.banner
    assert "NOT provisioned" not in up.banner

    session = _session()
    health = session.get(f"{url}/-/health", timeout=10).json()
    assert health["clock"] == "simulated" and health["now"] == START

    # The owner signs in to GitLab.com and sees the plan the portal pushed on Settings → Billing.
    page = session.get(f"{url}/users/sign_in", timeout=10).text
    signed_in = session.post(
        f"{url}/users/sign_in",
        data={"login": owner.group(1), "password": owner.group(2), "csrf_token": csrf_token(page)},
        allow_redirects=False,
        timeout=10,
    )
    assert signed_in.status_code == 302
    billing = session.get(f"{url}/groups/acme/-/billings", timeout=10)
    assert billing.status_code == 200
    assert "Acme is currently using the Ultimate Plan" in billing.text
    assert "Seats in subscription: 10" in billing.text and "Seats in use: 3" in billing.text
    _link_the_owners_account(up, url, session)

    advanced = _clock(up.var, "advance", "1d", "--json")
    assert advanced.returncode == 0, advanced.stderr
    journey = json.loads(advanced.stdout)
    assert journey["to"] == "2026-03-03T00:00:00Z"
    # The portal's daily push of the group ran, at midnight, as did GitLab.com's own jobs.
    names = {(run["app"], run["name"]) for run in journey["ran"]}
    assert ("portal", "provision_namespace") in names, names
    shown = _clock(up.var, "show", "--json")
    assert shown.returncode == 0, shown.stderr
    clocks = json.loads(shown.stdout)
    assert set(clocks) == {"portal", "instance", "gitlab_com"}
    assert {clock["now"] for clock in clocks.values()} == {"2026-03-03T00:00:00Z"}
    assert session.get(f"{url}/-/health", timeout=10).json()["now"] == "2026-03-03T00:00:00Z"

    assert _stop_with_ctrl_c(up) == 0
    assert not port_open(port)
