"""Calls to GitLab.com with the linked account's token, refreshed when GitLab.com refuses it, as
the real Customers Portal does.

GitLab.com's access tokens live two hours. When GitLab.com answers 401 to the stored access
token and a refresh token is stored, the portal exchanges it (``POST /oauth/token``,
``grant_type=refresh_token``), keeps the new pair sealed and makes the call again, once. A
refused refresh (``invalid_grant``: revoked, used already) or a second 401 asks the customer to
link the account again, and leaves the stored pair as it was.

Where the new pair is written. GitLab.com revokes the old pair as it issues the new one, so the
new pair must be kept whatever the calling request does next: a GET never commits, a refused
POST rolls back. It is written in a unit of work of its own, a fresh application context (its
own session), committed at once. Before that, the request's session gives up its transaction
with ``outside_transaction``, the one sanctioned mid-request commit: on SQLite the request's
transaction took the write lock at its first read (``BEGIN IMMEDIATE``, ``webcore.db``), so the
second session would otherwise wait for it until the busy timeout; and the token call then holds
no transaction (``webcore.outbound``). That commit holds nothing of the request's: the views
ask for the groups before they write anything. Writing the pair with the request's own session
instead would need a second commit of the request's session inside the block, and tie the
pair to whatever that session holds.

Two requests refreshing the same pair: GitLab.com refuses the second's refresh (the refresh token
was used); it reads the identity again and, if another pair is stored by now, calls with that
instead of asking to link again. (Asked in the moment between the first's refresh and its
commit, it asks to link again this once; the first's pair is stored and the next page works.)
The new pair is written only over the pair it was refreshed from (the row locked and compared):
a link changed or removed meanwhile (*Change the linked account*, *Unlink*) is not overwritten;
the request calls with the stored pair instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import sqlalchemy as sa
from flask import Flask

from portal.gitlab_com.models import GitlabComIdentity
from portal.gitlab_com.oauth_client import (
    GitLabComUnavailable,
    GrantRefused,
    OwnedGroup,
    TokenRejected,
    Tokens,
    list_owned_groups,
    refresh_tokens,
    seal,
    unseal,
)
from portal.models import db
from webcore.outbound import outside_transaction
from webcore.transaction import unit_of_work

T = TypeVar("T")

UNLINKED = "The GitLab.com account is no longer linked"


@dataclass(frozen=True)
class _Pair:
    """The identity's sealed pair as the request read it: read before the request's transaction
    ends, since a lazy load after that would begin another one and hold it."""

    identity_id: int
    access_sealed: str
    refresh_sealed: str | None


def _pair(identity: GitlabComIdentity) -> _Pair:
    return _Pair(identity.id, identity.access_token_sealed, identity.refresh_token_sealed)


def owned_groups(app: Flask, identity: GitlabComIdentity) -> list[OwnedGroup]:
    """The top-level groups the linked account owns, as GitLab.com lists them now."""
    return with_linked_token(app, identity, lambda token: list_owned_groups(app, token))


def with_linked_token(app: Flask, identity: GitlabComIdentity, call: Callable[[str], T]) -> T:
    """``call(access_token)``; on ``TokenRejected`` with a refresh token stored, refresh the pair
    and call again, once. Raises ``GitLabComUnavailable`` when that is not enough."""
    seen = _pair(identity)
    try:
        return call(unseal(app, seen.access_sealed))
    except TokenRejected:
        if seen.refresh_sealed is None:
            raise
        refresh_sealed = seen.refresh_sealed
    # outside_transaction's commit expires ``identity``: the request reads the new pair if asked.
    return call(_refreshed_access_token(app, seen, refresh_sealed))


def _refreshed_access_token(app: Flask, seen: _Pair, refresh_sealed: str) -> str:
    with outside_transaction(db.session):
        try:
            tokens = refresh_tokens(app, unseal(app, refresh_sealed))
        except GrantRefused:
            # Another request may have used this refresh token first: call with its pair.
            stored = _stored_pair(app, seen.identity_id)
            if stored is None or stored.refresh_sealed == seen.refresh_sealed:
                raise
            return unseal(app, stored.access_sealed)
        return _keep(app, seen, tokens)


def _stored_pair(app: Flask, identity_id: int) -> _Pair | None:
    with unit_of_work(app) as session:
        row = session.get(GitlabComIdentity, identity_id)
        return _pair(row) if row is not None else None


def _keep(app: Flask, seen: _Pair, tokens: Tokens) -> str:
    """Store the new pair over the one it was refreshed from, committed now; the access token to
    call with."""
    with unit_of_work(app) as session:
        row = session.execute(
            sa.select(GitlabComIdentity)
            .where(GitlabComIdentity.id == seen.identity_id)
            .with_for_update()
        ).scalar_one_or_none()
        if row is None:
            raise GitLabComUnavailable(UNLINKED)
        if row.refresh_token_sealed != seen.refresh_sealed:
            # Linked again meanwhile: that link's pair is the one to use, and stays.
            return unseal(app, row.access_token_sealed)
        row.access_token_sealed = seal(app, tokens.access_token)
        row.refresh_token_sealed = seal(app, tokens.refresh_token) if tokens.refresh_token else None
        session.flush()
    return tokens.access_token
