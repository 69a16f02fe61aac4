"""GitLab as an OAuth 2 provider (Doorkeeper, as GitLab configures it): the authorization code
grant, with ``state``, PKCE and refresh tokens, for registered applications.

Rules, as Doorkeeper has them:
- An application is identified by its client id (``uid``); its redirect URI must match the one
  asked for exactly. An unknown client or a redirect URI that does not match is never redirected
  to (the authorize page shows the error); any other error is sent back to the redirect URI.
- A code is single use and valid ten minutes, for the application, redirect URI and PKCE
  challenge it was issued with; exchanging it revokes it. An access token lives two hours and
  comes with a refresh token, which works after the access token expired, once.
- Refreshing revokes the old access token and its refresh token at once, in the transaction
  that issues the new pair, as GitLab does: its ``oauth_access_tokens`` has no
  ``previous_refresh_token`` column, so Doorkeeper's ``refresh_token_revoked_on_use?`` is false
  (``RefreshTokenRequest`` revokes the old token under its row lock) and
  ``revoke_previous_refresh_token!``, which GitLab calls on each OAuth token its API reads, does
  nothing. From then on the old access token is "revoked" to the API and its refresh token
  ``invalid_grant``, a second refresh racing the first included (Doorkeeper's
  ``InvalidGrantReuse``). A refresh may narrow the scopes (``scope``), never widen them.
- Scopes asked for must all be the application's; none asked means GitLab's default, ``api``.
- A user who authorized a confidential application for the same scopes before (a token that
  is not revoked) is not asked again: the code is issued at once, as GitLab does.
- Errors carry Doorkeeper's codes and descriptions (``OAuthError``): ``invalid_client`` is 401,
  the rest 400.
- Secrets, codes and tokens are stored as SHA-256 digests; each is seen once, when issued.
- A user sees the applications they authorized (those holding a token not revoked, expired or
  not: Doorkeeper's ``authorized_for``) and revokes one: every token and code of it issued to
  them, so its refresh token is refused too and the application must ask again.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa

from instance.gitlab_com.oauth_models import (
    IssuedToApplication,
    OauthAccessGrant,
    OauthAccessToken,
    OauthApplication,
)
from instance.models import User, db
from instance.tokens import Scope

CODE_LIFETIME_SECONDS = 600  # Doorkeeper's authorization_code_expires_in, as GitLab sets it
TOKEN_LIFETIME_SECONDS = 7200  # GitLab's access_token_expires_in
DEFAULT_SCOPES = (Scope.API,)  # Gitlab::Auth::DEFAULT_SCOPES
APPLICATION_SCOPES = (Scope.API, Scope.READ_API, Scope.READ_USER)
APPLICATION_SECRET_PREFIX = "gloas-"  # GitLab's prefix of an application's secret

# Doorkeeper's error descriptions (config/locales/en.yml).
DESCRIPTIONS = {
    "invalid_client": (
        "Client authentication failed due to unknown client, no client authentication "
        "included, or unsupported authentication method."
    ),
    "invalid_redirect_uri": (
        "The requested redirect uri is malformed or doesn't match client redirect URI."
    ),
    "invalid_grant": (
        "The provided authorization grant is invalid, expired, revoked, does not match the "
        "redirection URI used in the authorization request, or was issued to another client."
    ),
    "invalid_scope": "The requested scope is invalid, unknown, or malformed.",
    "access_denied": "The resource owner or authorization server denied the request.",
    "unsupported_response_type": "The authorization server does not support this response type.",
    "unsupported_grant_type": (
        "The authorization grant type is not supported by the authorization server."
    ),
    "invalid_code_challenge_method": "The code challenge method must be plain or S256.",
}


class OAuthError(Exception):
    """A refused OAuth request: Doorkeeper's ``error`` code and ``error_description``."""

    def __init__(self, error: str, description: str | None = None) -> None:
        self.error = error
        self.description = description or DESCRIPTIONS[error]
        super().__init__(f"{error}: {self.description}")

    @property
    def status(self) -> int:
        return 401 if self.error == "invalid_client" else 400

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


def missing(parameter: str) -> OAuthError:
    return OAuthError("invalid_request", f"Missing required parameter: {parameter}.")


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


# -- applications ---------------------------------------------------------------------------------


def register_application(
    name: str,
    redirect_uri: str,
    scopes: tuple[str, ...],
    now: dt.datetime,
    *,
    uid: str | None = None,
    secret: str | None = None,
) -> tuple[OauthApplication, str]:
    """Register (or, for a known ``uid``, update) an application; returns it and its secret.
    ``uid`` and ``secret`` are given when both parties are configured with them."""
    parts = urlsplit(redirect_uri)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.fragment:
        raise ValueError("The redirect URI must be an absolute http(s) URI without a fragment.")
    if not scopes or any(scope not in APPLICATION_SCOPES for scope in scopes):
        raise ValueError(f"Scopes must be some of {', '.join(APPLICATION_SCOPES)}.")
    secret = secret or APPLICATION_SECRET_PREFIX + secrets.token_hex(32)
    app = None
    if uid is not None:
        app = db.find(OauthApplication, OauthApplication.uid == uid)
    if app is None:
        app = OauthApplication(uid=uid or secrets.token_hex(32), created_at=now)
        db.session.add(app)
    app.name, app.redirect_uri, app.scopes = name, redirect_uri, " ".join(scopes)
    app.secret_digest, app.confidential = digest(secret), True
    db.session.flush()
    return app, secret


def find_application(client_id: str | None) -> OauthApplication | None:
    if not client_id:
        return None
    return db.find(OauthApplication, OauthApplication.uid == client_id[:255])


def authenticate_client(client_id: str | None, client_secret: str | None) -> OauthApplication:
    app = find_application(client_id)
    if app is None or not client_secret:
        raise OAuthError("invalid_client")
    if not hmac.compare_digest(app.secret_digest, digest(client_secret)):
        raise OAuthError("invalid_client")
    return app


# -- the authorization request -------------------------------------------------------------------


@dataclass(frozen=True)
class PreAuthorization:
    """A checked authorization request: what the consent page shows and the form sends back."""

    application: OauthApplication
    redirect_uri: str
    scopes: tuple[str, ...]
    state: str | None
    code_challenge: str | None
    code_challenge_method: str | None


class RedirectableError(Exception):
    """An authorization request error sent back to the (verified) redirect URI."""

    def __init__(self, error: OAuthError, redirect_uri: str, state: str | None) -> None:
        super().__init__(str(error))
        self.error, self.redirect_uri, self.state = error, redirect_uri, state


def pre_authorize(params: dict[str, str]) -> PreAuthorization:
    """Doorkeeper's pre-authorization checks, in its order: the client and redirect URI
    (``OAuthError``, shown on the page), then the response type, scopes and PKCE method
    (``RedirectableError``, sent back to the client)."""
    app = find_application(params.get("client_id"))
    if app is None:
        raise OAuthError("invalid_client")
    redirect_uri = params.get("redirect_uri", "")
    if not redirect_uri:
        raise missing("redirect_uri")
    if redirect_uri != app.redirect_uri:
        raise OAuthError("invalid_redirect_uri")
    state = params.get("state") or None

    def refuse(error: OAuthError) -> RedirectableError:
        return RedirectableError(error, redirect_uri, state)

    response_type = params.get("response_type", "")
    if not response_type:
        raise refuse(missing("response_type"))
    if response_type != "code":
        raise refuse(OAuthError("unsupported_response_type"))
    asked = tuple(dict.fromkeys(params.get("scope", "").split())) or DEFAULT_SCOPES
    if not set(asked) <= set(app.scopes.split()):
        raise refuse(OAuthError("invalid_scope"))
    challenge = params.get("code_challenge") or None
    method = params.get("code_challenge_method") or None
    if challenge is not None:
        method = method or "plain"
        if method not in ("plain", "S256"):
            raise refuse(OAuthError("invalid_code_challenge_method"))
        if len(challenge) > 128:
            raise refuse(OAuthError("invalid_request", "The code challenge is invalid."))
    return PreAuthorization(app, redirect_uri, asked, state, challenge, challenge and method)


def already_authorized(pre: PreAuthorization, user: User) -> bool:
    """The user authorized this confidential application for these scopes before and the token
    stands (Doorkeeper's ``matching_token?``): GitLab skips the consent page then."""
    if not pre.application.confidential:
        return False
    tokens = db.session.execute(
        sa.select(OauthAccessToken.scopes).where(
            OauthAccessToken.application_id == pre.application.id,
            OauthAccessToken.resource_owner_id == user.id,
            OauthAccessToken.revoked_at.is_(None),
        )
    ).scalars()
    return any(set(scopes.split()) == set(pre.scopes) for scopes in tokens)


def issue_code(pre: PreAuthorization, user: User, now: dt.datetime) -> str:
    """The user authorized the application: a code for it (seen once, in the redirect)."""
    code = secrets.token_hex(32)
    db.inserted(
        OauthAccessGrant(
            resource_owner_id=user.id,
            application_id=pre.application.id,
            token_digest=digest(code),
            expires_in=CODE_LIFETIME_SECONDS,
            redirect_uri=pre.redirect_uri,
            scopes=" ".join(pre.scopes),
            code_challenge=pre.code_challenge,
            code_challenge_method=pre.code_challenge_method,
            created_at=now,
        )
    )
    return code


# -- the token endpoint ---------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedToken:
    row: OauthAccessToken
    access_token: str
    refresh_token: str

    def body(self) -> dict[str, object]:
        """Doorkeeper's token response."""
        return {
            "access_token": self.access_token,
            "token_type": "Bearer",
            "expires_in": self.row.expires_in,
            "refresh_token": self.refresh_token,
            "scope": self.row.scopes,
            "created_at": int(self.row.created_at.timestamp()),
        }


def _issue_token(
    app: OauthApplication, owner_id: int, scopes: str, now: dt.datetime
) -> IssuedToken:
    access, refresh = secrets.token_hex(32), secrets.token_hex(32)
    row = db.inserted(
        OauthAccessToken(
            resource_owner_id=owner_id,
            application_id=app.id,
            token_digest=digest(access),
            refresh_token_digest=digest(refresh),
            expires_in=TOKEN_LIFETIME_SECONDS,
            scopes=scopes,
            created_at=now,
        )
    )
    return IssuedToken(row, access, refresh)


def _verifier_matches(grant: OauthAccessGrant, verifier: str) -> bool:
    if grant.code_challenge_method == "S256":
        hashed = hashlib.sha256(verifier.encode()).digest()
        verifier = base64.urlsafe_b64encode(hashed).rstrip(b"=").decode()
    return hmac.compare_digest(verifier, grant.code_challenge or "")


def exchange_code(app: OauthApplication, params: dict[str, str], now: dt.datetime) -> IssuedToken:
    """``grant_type=authorization_code``: the code, once, for a token."""
    code = params.get("code", "")
    if not code:
        raise missing("code")
    grant = _locked_by_digest(OauthAccessGrant.token_digest, code)
    if (
        grant is None
        or grant.application_id != app.id
        or grant.revoked_at is not None
        or now >= grant.created_at + dt.timedelta(seconds=grant.expires_in)
        or params.get("redirect_uri", "") != grant.redirect_uri
    ):
        raise OAuthError("invalid_grant")
    if grant.code_challenge is not None:
        verifier = params.get("code_verifier", "")
        if not verifier:
            raise missing("code_verifier")
        if not _verifier_matches(grant, verifier[:200]):
            raise OAuthError("invalid_grant")
    grant.revoked_at = now
    return _issue_token(app, grant.resource_owner_id, grant.scopes, now)


def _locked_by_digest(column: Any, secret: str) -> Any:
    """The code or token whose digest column holds ``secret``'s digest, locked: it is spent or
    revoked in this transaction, so two requests can't both use it."""
    return db.find(column.class_, column == digest(secret[:200]), lock=True)


def refresh_token(
    params: dict[str, str], credentials: tuple[str | None, str | None], now: dt.datetime
) -> IssuedToken:
    """``grant_type=refresh_token``, checked in the order of Doorkeeper's ``RefreshTokenRequest``:
    the refresh token given (``invalid_request``), known and not revoked (``invalid_grant``),
    then the client (``invalid_client``, only for a client that tried to authenticate), issued
    to that client (``invalid_grant``, no client included), then ``scope``. The old token and
    its refresh token are revoked as the new pair is issued (see the module docstring)."""
    refresh = params.get("refresh_token", "")
    if not refresh:
        raise missing("refresh_token")
    old = _locked_by_digest(OauthAccessToken.refresh_token_digest, refresh)
    if old is None or old.revoked_at is not None:
        raise OAuthError("invalid_grant")
    client_id, client_secret = credentials
    app = authenticate_client(client_id, client_secret) if client_id else None
    if app is None or old.application_id != app.id:
        raise OAuthError("invalid_grant")
    scopes = _refreshed_scopes(old.scopes, app.scopes, params.get("scope", ""))
    old.revoked_at = now
    return _issue_token(app, old.resource_owner_id, scopes, now)


def _refreshed_scopes(granted: str, application: str, asked: str) -> str:
    """The new token's scopes: those asked for, all among the old token's (Doorkeeper's
    ``ScopeChecker``: no tab or line break either), else the old token's that the application
    still has. A ``scope`` of blanks counts as none, as Rails' ``present?`` reads it."""
    if not asked.strip():
        kept = application.split()
        return " ".join(scope for scope in granted.split() if scope in kept)
    wanted = list(dict.fromkeys(asked.split()))
    if any(mark in asked for mark in "\n\r\t") or not set(wanted) <= set(granted.split()):
        raise OAuthError("invalid_scope")
    return " ".join(wanted)


def find_access_token(secret: str) -> OauthAccessToken | None:
    """The access token this secret is, revoked or expired included (the API says which)."""
    if len(secret) > 200:
        return None
    return db.find(OauthAccessToken, OauthAccessToken.token_digest == digest(secret))


# -- a user's authorized applications (User settings → Applications) ----------------------------


@dataclass(frozen=True)
class Authorization:
    """An application the user authorized, as GitLab lists it: its newest token's time and
    scopes (an application refreshing its token keeps one row)."""

    application: OauthApplication
    authorized_at: dt.datetime
    scopes: str


def authorizations(user: User) -> list[Authorization]:
    """The applications holding a token of ``user`` that is not revoked, newest first."""
    tokens = db.session.execute(
        sa.select(OauthAccessToken)
        .where(
            OauthAccessToken.resource_owner_id == user.id,
            OauthAccessToken.revoked_at.is_(None),
        )
        .order_by(OauthAccessToken.created_at.desc(), OauthAccessToken.id.desc())
    ).scalars()
    newest: dict[int, Authorization] = {}
    for token in tokens:
        newest.setdefault(
            token.application_id,
            Authorization(token.application, token.created_at, token.scopes),
        )
    return list(newest.values())


def revoke_authorization(user: User, application_id: int, now: dt.datetime) -> bool:
    """Revoke every token and code of the application issued to ``user`` (Doorkeeper's
    ``revoke_tokens_and_grants_for``); False, with nothing changed, when none was in force."""
    issued: list[IssuedToApplication] = []
    for model in (OauthAccessToken, OauthAccessGrant):
        issued += db.session.execute(
            sa.select(model).where(
                model.resource_owner_id == user.id,
                model.application_id == application_id,
                model.revoked_at.is_(None),
            )
        ).scalars()
    for row in issued:
        row.revoked_at = now
    return bool(issued)
