"""The portal as an OAuth application of GitLab.com: the customer's linked GitLab.com account
and the top-level groups it owns.

- Linking is the authorization code grant with ``state`` and PKCE (S256): the customer is sent
  to ``{GITLAB_COM_URL}/oauth/authorize``, comes back to ``CALLBACK_PATH`` with a code, and the
  portal exchanges it at ``/oauth/token`` with its client secret, then reads ``/api/v4/user``.
- The groups offered are ``GET /api/v4/namespaces?owned_only=true&top_level_only=true`` with
  the account's token: the top-level groups it is a direct Owner of.
- An access token lives two hours. When GitLab.com refuses it (401: expired, revoked) the portal
  exchanges the refresh token (``grant_type=refresh_token``), keeps the new pair and asks again,
  once (``portal.gitlab_com.linked_token``, which also says why the new pair is written in a
  transaction of its own). Only a refused refresh (``invalid_grant``: revoked, used already)
  asks the customer to link the account again, one click: GitLab.com skips its consent page for
  an application authorized before.
- The tokens are stored sealed (AES-GCM, a key derived from the portal's SECRET_KEY) and are
  never logged or shown; a token that cannot be opened (the key changed) asks for a new link.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import requests
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import Flask

from portal.gitlab_com.client import gitlab_com_session
from webcore.params import loads_bounded

CALLBACK_PATH = "/customers/auth/gitlab/callback"
SCOPE = "api"
OWNED_GROUPS_PATH = "/api/v4/namespaces"


class GitLabComUnavailable(Exception):
    """GitLab.com could not be asked, or refused the portal's token: link the account again."""


class TokenRejected(GitLabComUnavailable):
    """GitLab.com answered 401 to the access token (expired, revoked): refresh it if we can."""


class GrantRefused(GitLabComUnavailable):
    """The token endpoint refused the grant (``invalid_grant``): a code or refresh token that is
    revoked, expired or used already."""


@dataclass(frozen=True)
class OwnedGroup:
    """A top-level group the linked account owns, as ``GET /namespaces`` answers it."""

    id: int
    name: str
    full_path: str
    plan: str
    trial: bool


@dataclass(frozen=True)
class Tokens:
    access_token: str
    refresh_token: str | None


def _base(app: Flask) -> str:
    return str(app.config["GITLAB_COM_URL"]).rstrip("/")


def _timeout(app: Flask) -> float:
    return float(app.config.get("GITLAB_COM_TIMEOUT_SECONDS") or 10.0)


def redirect_uri(app: Flask) -> str:
    return str(app.config["BASE_URL"]).rstrip("/") + CALLBACK_PATH


def is_configured(app: Flask) -> bool:
    return bool(
        app.config.get("GITLAB_COM_CLIENT_ID") and app.config.get("GITLAB_COM_CLIENT_SECRET")
    )


# -- sealing the tokens ---------------------------------------------------------------------------


def _key(app: Flask) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"provlab gitlab.com oauth tokens"
    ).derive(str(app.config["SECRET_KEY"]).encode())


def seal(app: Flask, token: str) -> str:
    nonce = os.urandom(12)
    sealed = AESGCM(_key(app)).encrypt(nonce, token.encode(), b"gitlab_com_identities")
    return base64.urlsafe_b64encode(nonce + sealed).decode()


def unseal(app: Flask, sealed: str) -> str:
    try:
        raw = base64.urlsafe_b64decode(sealed.encode())
        return AESGCM(_key(app)).decrypt(raw[:12], raw[12:], b"gitlab_com_identities").decode()
    except (ValueError, InvalidTag):
        raise GitLabComUnavailable(
            "The portal can no longer read the linked account's token"
        ) from None


# -- the authorization code grant -----------------------------------------------------------------


def pkce_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def authorize_url(app: Flask, state: str, verifier: str) -> str:
    query = {
        "client_id": app.config["GITLAB_COM_CLIENT_ID"],
        "redirect_uri": redirect_uri(app),
        "response_type": "code",
        "state": state,
        "scope": SCOPE,
        "code_challenge": pkce_challenge(verifier),
        "code_challenge_method": "S256",
    }
    return f"{_base(app)}/oauth/authorize?{urlencode(query)}"


def _json(response: requests.Response) -> Any:
    try:
        return loads_bounded(response.content)
    except ValueError:
        return None


def _token_call(app: Flask, form: dict[str, str]) -> Tokens:
    form = form | {
        "client_id": str(app.config["GITLAB_COM_CLIENT_ID"]),
        "client_secret": str(app.config["GITLAB_COM_CLIENT_SECRET"]),
    }
    try:
        response = gitlab_com_session(app).post(
            f"{_base(app)}/oauth/token", data=form, timeout=_timeout(app), allow_redirects=False
        )
    except requests.RequestException as exc:
        raise GitLabComUnavailable(f"GitLab.com is unreachable ({type(exc).__name__})") from None
    body = _json(response)
    if response.status_code != 200 or not isinstance(body, dict):
        error = body.get("error") if isinstance(body, dict) else None
        refused = GrantRefused if error == "invalid_grant" else GitLabComUnavailable
        raise refused(f"GitLab.com refused the token request ({error or response.status_code})")
    access, refresh = body.get("access_token"), body.get("refresh_token")
    if not isinstance(access, str) or not access:
        raise GitLabComUnavailable("GitLab.com answered without an access token")
    return Tokens(access, refresh if isinstance(refresh, str) else None)


def exchange_code(app: Flask, code: str, verifier: str) -> Tokens:
    return _token_call(
        app,
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri(app),
            "code_verifier": verifier,
        },
    )


def refresh_tokens(app: Flask, refresh_token: str) -> Tokens:
    """``grant_type=refresh_token``: a new pair. GitLab.com revokes the old access token and its
    refresh token as it answers, so the new pair must be kept (``linked_token``)."""
    return _token_call(app, {"grant_type": "refresh_token", "refresh_token": refresh_token})


def _get(
    app: Flask, path: str, token: str, params: dict[str, str] | None = None
) -> requests.Response:
    try:
        return gitlab_com_session(app).get(
            f"{_base(app)}{path}",
            params=params,
            headers={"Authorization": f"Bearer {token}"},
            timeout=_timeout(app),
            allow_redirects=False,
        )
    except requests.RequestException as exc:
        raise GitLabComUnavailable(f"GitLab.com is unreachable ({type(exc).__name__})") from None


def gitlab_user(app: Flask, token: str) -> tuple[int, str]:
    """The GitLab.com user the token is for: its id and username (``GET /api/v4/user``)."""
    response = _get(app, "/api/v4/user", token)
    body = _json(response)
    if response.status_code != 200 or not isinstance(body, dict):
        raise GitLabComUnavailable(
            f"GitLab.com did not say who the user is ({response.status_code})"
        )
    user_id, username = body.get("id"), body.get("username")
    if not isinstance(user_id, int) or not isinstance(username, str):
        raise GitLabComUnavailable("GitLab.com's user answer lacks an id or username")
    return user_id, username


# -- the linked account's groups ------------------------------------------------------------------


PER_PAGE = 100  # GitLab's largest page
MAX_PAGES = 20  # 2,000 groups: far more than anyone owns; the rest would not be offered


def _group(item: Any) -> OwnedGroup | None:
    if not isinstance(item, dict) or item.get("kind") != "group" or item.get("parent_id"):
        return None
    group_id, full_path = item.get("id"), item.get("full_path")
    if not isinstance(group_id, int) or not isinstance(full_path, str):
        return None
    return OwnedGroup(
        group_id,
        str(item.get("name") or full_path),
        full_path,
        str(item.get("plan") or "free"),
        bool(item.get("trial")),
    )


def list_owned_groups(app: Flask, token: str) -> list[OwnedGroup]:
    """The top-level groups the token's account owns, as GitLab.com lists them now (every page,
    following ``X-Next-Page``). ``linked_token.owned_groups`` calls it with the linked account's
    token, refreshed when GitLab.com refuses it (``TokenRejected``)."""
    groups: list[OwnedGroup] = []
    page = "1"
    for _ in range(MAX_PAGES):
        params = {
            "owned_only": "true",
            "top_level_only": "true",
            "per_page": str(PER_PAGE),
            "page": page,
        }
        response = _get(app, OWNED_GROUPS_PATH, token, params)
        if response.status_code == 401:
            raise TokenRejected("GitLab.com no longer accepts the portal's access")
        body = _json(response)
        if response.status_code != 200 or not isinstance(body, list):
            raise GitLabComUnavailable(
                f"GitLab.com did not list the groups ({response.status_code})"
            )
        groups += [group for group in map(_group, body) if group is not None]
        page = response.headers.get("X-Next-Page", "")
        if not page.isdigit():
            break
    return groups
