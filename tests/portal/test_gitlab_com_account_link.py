"""Linking a portal account to a GitLab.com account over OAuth (GitLab.com's authorize page and
token endpoint, both apps in one process): the link, its tokens kept sealed, *Change the linked
account*, *Unlink*, and the refusals that write nothing (a forged callback, a denied
authorization, a GitLab.com account linked to another portal account, a token GitLab.com no
longer accepts)."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from instance.gitlab_com.oauth_models import OauthAccessToken
from instance.models import db as instance_db
from portal.gitlab_com import oauth_client
from portal.gitlab_com.models import GitlabComIdentity
from portal.models import db
from tests.instance.conftest import sign_in as sign_in_gitlab_com
from tests.portal.gitlab_com_pair import GITLAB_COM_URL, Pair, _local
from tests.portal.helpers import csrf_token, make_account, payment_method_ids, sign_in
from webcore.clock import app_clock

pytestmark = pytest.mark.all_backends


def _identities(pair: Pair) -> list[tuple[int, str]]:
    with pair.portal.app_context():
        rows = db.session.execute(
            sa.select(GitlabComIdentity.account_id, GitlabComIdentity.gitlab_username).order_by(
                GitlabComIdentity.id
            )
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


def test_linking_stores_the_account_and_a_sealed_token_then_change_and_unlink(pair: Pair) -> None:
    customer = make_account(pair.portal, "buyer@example.com")
    client = sign_in(pair.portal, "buyer@example.com")
    tab = client.get("/subscriptions?tab=gitlab_saas").text
    assert "Link a GitLab.com account" in tab
    back = pair.link_account(client, "owner")
    assert back.endswith("/subscriptions?tab=gitlab_saas")
    assert _identities(pair) == [(customer, "owner")]
    with pair.portal.app_context():
        sealed = db.session.execute(sa.select(GitlabComIdentity.access_token_sealed)).scalar_one()
    with pair.gitlab_com.app_context():
        # GitLab.com keeps only the token's digest; the portal keeps it sealed, never plain.
        token = instance_db.session.execute(sa.select(OauthAccessToken)).scalar_one()
        assert len(token.token_digest) == 64 and token.token_digest not in sealed
    tab = client.get("/subscriptions?tab=gitlab_saas").text
    assert "Linked to <strong>@owner</strong>" in tab and "Change the linked account" in tab
    pair.link_account(client, "dev")  # Change the linked account
    assert _identities(pair) == [(customer, "dev")]
    unlinked = client.post(
        "/customers/gitlab_account/unlink",
        data={"csrf_token": csrf_token(client, "/subscriptions?tab=gitlab_saas")},
    )
    assert unlinked.status_code == 302 and _identities(pair) == []


def _start(pair: Pair, client: FlaskClient) -> str:
    start = client.post(
        "/customers/auth/gitlab",
        data={"csrf_token": csrf_token(client, "/subscriptions?tab=gitlab_saas")},
    )
    assert start.location.startswith(GITLAB_COM_URL)
    return str(start.location)


def test_forged_or_denied_callbacks_write_nothing(pair: Pair) -> None:
    make_account(pair.portal, "buyer@example.com")
    client = sign_in(pair.portal, "buyer@example.com")
    authorize = _start(pair, client)
    state = parse_qs(urlsplit(authorize).query)["state"][0]
    # A callback whose state this session did not send (a link planted by someone else).
    forged = client.get("/customers/auth/gitlab/callback?code=abc&state=not-mine")
    assert forged.status_code == 302
    page = client.get(forged.location).text
    assert "did not come from this session" in page
    # The state is single use: the real one no longer works either.
    again = client.get(f"/customers/auth/gitlab/callback?code=abc&state={state}")
    assert "did not come from this session" in client.get(again.location).text
    # Deny on GitLab.com's consent page.
    authorize = _start(pair, client)
    browser = pair.gitlab_com.test_client()
    sign_in_gitlab_com(browser, "owner")
    consent = browser.get(_local(authorize)).text
    fields = dict(
        re.findall(
            r'name="([^"]+)" value="([^"]*)"',
            consent.split('action="/oauth/authorize"', 1)[1].split("</form>")[0],
        )
    )
    denied = browser.post("/oauth/authorize", data=fields | {"_method": "delete"})
    assert "error=access_denied" in denied.location
    back = client.get(_local(denied.location))
    assert "the authorization was denied" in client.get(back.location).text
    assert _identities(pair) == []


def test_a_gitlab_com_account_linked_to_another_portal_account_is_refused(pair: Pair) -> None:
    first = make_account(pair.portal, "first@example.com")
    pair.link_account(sign_in(pair.portal, "first@example.com"), "owner")
    make_account(pair.portal, "second@example.com")
    second = sign_in(pair.portal, "second@example.com")
    back = pair.link_account(second, "owner")
    assert "already been linked to another Customers Portal account" in second.get(back).text
    assert _identities(pair) == [(first, "owner")]


def test_a_token_gitlab_com_no_longer_accepts_asks_to_link_again(pair: Pair) -> None:
    make_account(pair.portal, "buyer@example.com")
    client = sign_in(pair.portal, "buyer@example.com")
    pair.link_account(client, "owner")
    assert "group-select" in client.get("/subscriptions/new").text
    with pair.gitlab_com.app_context():
        token = instance_db.session.execute(sa.select(OauthAccessToken)).scalar_one()
        token.revoked_at = app_clock(pair.gitlab_com).now()
        instance_db.session.commit()
    page = client.get("/subscriptions/new").text
    assert "Your GitLab.com groups could not be read" in page and "group-select" not in page
    refused = client.post(
        "/subscriptions/new",
        data={
            "csrf_token": csrf_token(client, "/subscriptions/new"),
            "gl_namespace_id": str(pair.group_id),
            "plan_id": "premium",
            "seats": "3",
        },
    )
    assert refused.status_code == 422 and "Link your GitLab.com account again" in refused.text


def test_every_page_of_the_owned_groups_is_offered(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    from instance.gitlab_com.groups import add_member, create_group, role_level
    from instance.models import User

    monkeypatch.setattr(oauth_client, "PER_PAGE", 2)
    with pair.gitlab_com.app_context():
        now = app_clock(pair.gitlab_com).now()
        owner = instance_db.session.execute(
            sa.select(User).where(User.username == "owner")
        ).scalar_one()
        for number in range(4):
            made = create_group(f"Team {number}", f"team-{number}", now)
            add_member(made, owner, role_level("owner"), now)
        instance_db.session.commit()
    make_account(pair.portal, "buyer@example.com")
    client = sign_in(pair.portal, "buyer@example.com")
    pair.link_account(client, "owner")
    page = client.get("/subscriptions/new").text
    offered = re.findall(r'<option value="\d+"[^>]*>([^<]+)</option>', page)
    # Three pages of two: every group is offered.
    assert [name for name in offered if name == "acme" or name.startswith("team-")] == [
        "acme",
        "team-0",
        "team-1",
        "team-2",
        "team-3",
    ]


def test_only_groups_the_linked_account_owns_are_offered_or_accepted(pair: Pair) -> None:
    """A Maintainer's group, a subgroup the account owns and another user's group are neither
    offered nor accepted (403), and nothing is bought or linked."""
    from instance.gitlab_com.groups import add_member, create_group, role_level
    from instance.models import User
    from instance.namespace_models import Namespace
    from portal.gitlab_com.models import NamespaceLink
    from portal.models import Order

    with pair.gitlab_com.app_context():
        now = app_clock(pair.gitlab_com).now()
        users = {user.username: user for user in instance_db.session.scalars(sa.select(User))}
        acme = instance_db.session.get(Namespace, pair.group_id)
        maintained = create_group("Maintained", "maintained", now)
        add_member(maintained, users["owner"], role_level("maintainer"), now)
        add_member(maintained, users["dev"], role_level("owner"), now)
        theirs = create_group("Theirs", "theirs", now)
        add_member(theirs, users["guest"], role_level("owner"), now)
        subgroup = create_group("Sub", "sub", now, parent=acme)
        instance_db.session.commit()
        refused_ids = [maintained.id, theirs.id, subgroup.id]
    customer = make_account(pair.portal, "buyer@example.com")
    client = sign_in(pair.portal, "buyer@example.com")
    pair.link_account(client, "owner")
    page = client.get("/subscriptions/new").text
    assert re.findall(
        r'<option value="(\d+)"[^>]*>[^<]*</option>', page.split("payment_method")[0]
    ) == [str(pair.group_id)]
    card, _ = payment_method_ids(pair.portal, customer)
    token = csrf_token(client, "/subscriptions/new")
    for group_id in refused_ids:
        refused = client.post(
            "/subscriptions/new",
            data={
                "csrf_token": token,
                "gl_namespace_id": str(group_id),
                "plan_id": "premium",
                "seats": "3",
                "payment_method": str(card),
            },
        )
        assert refused.status_code == 403, group_id
        assert "Choose one of the top-level groups your GitLab.com account @owner owns" in (
            refused.text
        )
    with pair.portal.app_context():
        assert db.session.execute(sa.select(Order.id)).first() is None
        assert db.session.execute(sa.select(NamespaceLink.id)).first() is None


def test_a_token_sealed_under_another_secret_key_asks_to_link_again(pair: Pair) -> None:
    make_account(pair.portal, "buyer@example.com")
    client = sign_in(pair.portal, "buyer@example.com")
    pair.link_account(client, "owner")
    with pair.portal.app_context():
        sealed = db.session.execute(sa.select(GitlabComIdentity.access_token_sealed)).scalar_one()
        assert oauth_client.unseal(pair.portal, sealed)  # opens under the key it was sealed with
    pair.portal.config["SECRET_KEY"] = "another-key-" + "x" * 40
    client = sign_in(pair.portal, "buyer@example.com")  # the old session cookie is void too
    page = client.get("/subscriptions/new").text
    assert "can no longer read the linked account&#39;s token" in page
    assert "Link your GitLab.com account again" in page
