"""The linked GitLab.com account's token refreshed when GitLab.com refuses it (both apps in one
process, both clocks moved past the token's two hours): the groups are still offered, the new
pair is kept whatever the request does next (a GET, a refused POST), the old pair is revoked on
GitLab.com; a refused refresh asks to link again and changes nothing; two requests refreshing
the same pair both get the groups."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from instance.gitlab_com.oauth_models import OauthAccessToken
from instance.models import db as instance_db
from portal.gitlab_com import linked_token, oauth_client
from portal.gitlab_com.models import GitlabComIdentity
from portal.models import Order, db
from tests.portal.gitlab_com_pair import Pair
from tests.portal.helpers import csrf_token, make_account, sign_in
from webcore.clock import app_clock

pytestmark = pytest.mark.all_backends

PAST_THE_TOKEN = 2 * 60 + 1  # minutes: GitLab.com's access token lives two hours
LINK_AGAIN = "Your GitLab.com groups could not be read"


def _sealed(pair: Pair) -> tuple[str, str | None]:
    with pair.portal.app_context():
        row = db.session.execute(sa.select(GitlabComIdentity)).scalar_one()
        return row.access_token_sealed, row.refresh_token_sealed


def _plain(pair: Pair, sealed: str) -> str:
    return oauth_client.unseal(pair.portal, sealed)


def _namespaces_status(pair: Pair, access_token: str) -> int:
    """What GitLab.com answers the token at ``GET /api/v4/namespaces``."""
    answer = pair.gitlab_com.test_client().get(
        "/api/v4/namespaces", headers={"Authorization": f"Bearer {access_token}"}
    )
    return answer.status_code


def _gitlab_com_tokens(pair: Pair) -> list[bool]:
    """GitLab.com's tokens for the portal, oldest first: revoked or not."""
    with pair.gitlab_com.app_context():
        revoked = instance_db.session.execute(
            sa.select(OauthAccessToken.revoked_at).order_by(OauthAccessToken.id)
        ).scalars()
        return [when is not None for when in revoked]


def _linked_customer(pair: Pair) -> FlaskClient:
    make_account(pair.portal, "buyer@example.com")
    client = sign_in(pair.portal, "buyer@example.com")
    pair.link_account(client, "owner")
    return client


def test_an_expired_token_is_refreshed_on_a_get_and_the_new_pair_kept(pair: Pair) -> None:
    client = _linked_customer(pair)
    before = _sealed(pair)
    old_access = _plain(pair, before[0])
    assert _namespaces_status(pair, old_access) == 200
    pair.run_jobs(minutes=PAST_THE_TOKEN)
    assert _namespaces_status(pair, old_access) == 401  # expired
    page = client.get("/subscriptions/new").text
    assert "group-select" in page and LINK_AGAIN not in page
    # The GET committed nothing of its own, yet the new pair is stored; the old one is revoked.
    after = _sealed(pair)
    assert after[0] != before[0] and after[1] is not None and after[1] != before[1]
    assert _namespaces_status(pair, _plain(pair, after[0])) == 200
    assert _gitlab_com_tokens(pair) == [True, False]
    # The next page uses the stored pair: no second refresh.
    assert "group-select" in client.get("/subscriptions/new").text
    assert _sealed(pair) == after and _gitlab_com_tokens(pair) == [True, False]


def test_a_refused_post_keeps_the_refreshed_pair(pair: Pair) -> None:
    client = _linked_customer(pair)
    before = _sealed(pair)
    token = csrf_token(client, "/subscriptions/new")
    pair.run_jobs(minutes=PAST_THE_TOKEN)
    refused = client.post(
        "/subscriptions/new",
        data={
            "csrf_token": token,
            "gl_namespace_id": str(pair.group_id),
            "plan_id": "premium",
            "seats": "",  # refused after the groups were read: the request rolls back
        },
    )
    assert refused.status_code == 422 and "Enter a number of seats" in refused.text
    assert "Link your GitLab.com account again" not in refused.text
    after = _sealed(pair)
    assert after[0] != before[0] and _namespaces_status(pair, _plain(pair, after[0])) == 200
    with pair.portal.app_context():
        assert db.session.execute(sa.select(Order.id)).first() is None


def test_a_revoked_refresh_token_asks_to_link_again_and_changes_nothing(pair: Pair) -> None:
    client = _linked_customer(pair)
    before = _sealed(pair)
    pair.run_jobs(minutes=PAST_THE_TOKEN)
    with pair.gitlab_com.app_context():
        # Revoked on GitLab.com (the user revoked the application): the refresh token with it.
        row = instance_db.session.execute(sa.select(OauthAccessToken)).scalar_one()
        row.revoked_at = app_clock(pair.gitlab_com).now()
        instance_db.session.commit()
    page = client.get("/subscriptions/new").text
    assert LINK_AGAIN in page and "invalid_grant" in page and "group-select" not in page
    assert _sealed(pair) == before and _gitlab_com_tokens(pair) == [True]


def test_without_a_refresh_token_an_expired_token_asks_to_link_again(pair: Pair) -> None:
    client = _linked_customer(pair)
    with pair.portal.app_context():
        row = db.session.execute(sa.select(GitlabComIdentity)).scalar_one()
        row.refresh_token_sealed = None
        db.session.commit()
    pair.run_jobs(minutes=PAST_THE_TOKEN)
    page = client.get("/subscriptions/new").text
    assert LINK_AGAIN in page and "group-select" not in page
    assert _gitlab_com_tokens(pair) == [False]  # expired, not refreshed


def test_two_requests_refreshing_the_same_pair_both_list_the_groups(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second request's refresh is refused (the first used the refresh token): it calls
    with the first one's pair instead of asking to link again."""
    first = _linked_customer(pair)
    second = sign_in(pair.portal, "buyer@example.com")
    pair.run_jobs(minutes=PAST_THE_TOKEN)
    refresh = oauth_client.refresh_tokens
    pages: list[str] = []
    calls: list[str] = []

    def refreshed_meanwhile(app: Any, refresh_token: str) -> oauth_client.Tokens:
        # The first request, about to refresh, has released its transaction: the second one
        # runs start to end now, refreshing the same pair and storing its new one.
        calls.append(refresh_token)
        if len(calls) == 1:
            pages.append(second.get("/subscriptions/new").text)
        return refresh(app, refresh_token)

    monkeypatch.setattr(linked_token, "refresh_tokens", refreshed_meanwhile)
    page = first.get("/subscriptions/new").text
    assert "group-select" in pages[0] and LINK_AGAIN not in pages[0]
    assert "group-select" in page and LINK_AGAIN not in page
    # Both refreshed the same pair; one went through (the second request's), its pair stored.
    assert len(calls) == 2 and calls[0] == calls[1]
    assert _gitlab_com_tokens(pair) == [True, False]
    assert _namespaces_status(pair, _plain(pair, _sealed(pair)[0])) == 200


def test_a_pair_refreshed_from_a_link_changed_meanwhile_is_not_stored(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    """*Change the linked account* while a request refreshes the old link's pair: the new link
    stays, and the request lists the new account's groups."""
    client = _linked_customer(pair)
    pair.run_jobs(minutes=PAST_THE_TOKEN)
    refresh = oauth_client.refresh_tokens
    changed: list[tuple[str, str | None]] = []

    def relinked_meanwhile(app: Any, refresh_token: str) -> oauth_client.Tokens:
        if not changed:
            changed.append(("", None))  # once: the link below refreshes nothing, but be sure
            pair.link_account(sign_in(pair.portal, "buyer@example.com"), "dev")
            changed[0] = _sealed(pair)
        return refresh(app, refresh_token)

    monkeypatch.setattr(linked_token, "refresh_tokens", relinked_meanwhile)
    page = client.get("/subscriptions/new").text
    assert _sealed(pair) == changed[0]
    with pair.portal.app_context():
        assert db.session.execute(sa.select(GitlabComIdentity.gitlab_username)).scalar() == "dev"
    # "dev" is a Developer of acme, owns no group: nothing offered, but no "link again".
    assert LINK_AGAIN not in page and "group-select" not in page
