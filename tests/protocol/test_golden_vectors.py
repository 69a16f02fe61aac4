"""Golden vectors: fixed keys, documents, clock and nonce give these exact tokens.

If one of these changes, every license already issued and every instance already deployed
stops agreeing with the new code: change them only on purpose, with a new typ.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from protocol import (
    InvalidSignature,
    KeySet,
    MemoryNonceStore,
    SigningKey,
    SyncAnswer,
    SyncRequest,
    VerifyingKey,
    b64url_decode,
    license_file,
    open_request,
    open_response,
    parse_message,
    seal_request,
    seal_response,
    sign_license,
    verify,
    verify_license,
)
from tests.protocol.factories import (
    GOLDEN_NONCE,
    INSTANCE_KEY,
    INSTANCE_KEYS,
    PORTAL_KEY,
    PORTAL_KEYS,
    START,
    clock,
    make_license,
    make_sync_request,
)

PORTAL_KID = "1IG2tMH7J2wbJZnOf8LJzQitKf7LMvoAElsuDMVM54Y"
PORTAL_JWK = {
    "kty": "OKP",
    "crv": "Ed25519",
    "x": "A6EHv_POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg",
    "kid": PORTAL_KID,
}
INSTANCE_KID = "AkXIZFzonb59ZmGwyKgi3H3BwMi6amevqdKQiLZhdtc"

GOLDEN_LICENSE_TOKEN = (
    "eyJhbGciOiJFZERTQSIsImtpZCI6IjFJRzJ0TUg3SjJ3Ykpabk9mOExKelFpdEtmN0xNdm9BRWxzdURNVk01NFki"
    "LCJ0eXAiOiJwcm92bGFiLWxpY2Vuc2UrandzIn0.eyJhZGRfb25fcHJvZHVjdHMiOlt7ImVuZHNfb24iOiIyMDI3"
    "LTAxLTAxIiwicHVyY2hhc2VfaWQiOiJBLVMwMDAxMjM0NS1kdW8tcHJvLTEiLCJxdWFudGl0eSI6MjAsInN0YXJ0"
    "c19vbiI6IjIwMjYtMDEtMDEiLCJ0aWVyIjoiZHVvX3BybyIsInRyaWFsIjpmYWxzZX1dLCJlbmRzX29uIjoiMjAy"
    "Ny0wMS0wMSIsImluc3RhbmNlX2lkIjoiOWIxZGViNGQtM2I3ZC00YmFkLTliZGQtMmIwZDdiM2RjYjZkIiwiaXNz"
    "dWVkX2F0IjoiMjAyNi0wMS0wMVQwNTowMDowMFoiLCJsaWNlbnNlX2lkIjoibGljLTAwMDEiLCJsaWNlbnNlX3R5"
    "cGUiOiJvbmxpbmVfY2xvdWQiLCJsaWNlbnNlZSI6eyJjb21wYW55IjoiQW5hbHl0aWNhbCBFbmdpbmVzIEx0ZCIs"
    "ImVtYWlsIjoiYWRhQGV4YW1wbGUuY29tIiwibmFtZSI6IkFkYSBMb3ZlbGFjZSJ9LCJwbGFuIjoidWx0aW1hdGUi"
    "LCJzZWF0cyI6NTAsInN0YXJ0c19vbiI6IjIwMjYtMDEtMDEiLCJzdWJzY3JpcHRpb25fbmFtZSI6IkEtUzAwMDEy"
    "MzQ1IiwidHJpYWwiOmZhbHNlfQ.YJz1nU5GbEP2Vr0S50Nmj-r1q9acDZRry262exjMo-hZb96LnVHb3i7FETxbh"
    "j_JgiY6Cd_zkKlKAqjuXM8JAQ"
)
GOLDEN_REQUEST_TOKEN = (
    "eyJhbGciOiJFZERTQSIsImtpZCI6IkFrWElaRnpvbmI1OVptR3d5S2dpM0gzQndNaTZhbWV2cWRLUWlMWmhkdGMi"
    "LCJ0eXAiOiJwcm92bGFiLXJlcXVlc3QrandzIn0.eyJib2R5Ijp7ImFkZF9vbl91c2FnZSI6W3siYXNzaWduZWRf"
    "c2VhdHMiOjE3LCJwdXJjaGFzZWRfc2VhdHMiOjIwLCJ0aWVyIjoiZHVvX3BybyJ9XSwiYmlsbGFibGVfdXNlcnMi"
    "OjQyLCJkYWlseV91c2FnZSI6W3siYmlsbGFibGVfdXNlcnMiOjQxLCJkYXkiOiIyMDI2LTAzLTAxIn0seyJiaWxs"
    "YWJsZV91c2VycyI6NDIsImRheSI6IjIwMjYtMDMtMDIifV0sImdpdGxhYl92ZXJzaW9uIjoiMTcuMy4wLWVlIiwi"
    "aG9zdG5hbWUiOiJnaXRsYWIuZXhhbXBsZS5jb20iLCJpbnN0YW5jZV9pZCI6IjliMWRlYjRkLTNiN2QtNGJhZC05"
    "YmRkLTJiMGQ3YjNkY2I2ZCIsImxpY2Vuc2VfaWQiOiJsaWMtMDAwMSIsIm1heF9oaXN0b3JpY2FsX3VzZXJzIjo0"
    "NX0sIm5vbmNlIjoiWjI5c1pHVnVMVzV2Ym1ObExUQXdNUSIsInRpbWVzdGFtcCI6IjIwMjYtMDMtMDJUMDM6NDE6"
    "MDBaIiwidHlwZSI6InNlYXRfbGlua19yZXF1ZXN0In0.eLJ1XR4kt5L03Bp2O3zoUY-dw_NlnmTAHmth2gGGAR9Q"
    "chij6PChJjd5ENEXUa2qHKMYsDwr1obDiSLkUme5BA"
)
GOLDEN_RESPONSE_TOKEN = (
    "eyJhbGciOiJFZERTQSIsImtpZCI6IjFJRzJ0TUg3SjJ3Ykpabk9mOExKelFpdEtmN0xNdm9BRWxzdURNVk01NFki"
    "LCJ0eXAiOiJwcm92bGFiLXJlc3BvbnNlK2p3cyJ9.eyJib2R5Ijp7ImxpY2Vuc2VfdG9rZW4iOiJleUpoYkdjaU9"
    "pSkZaRVJUUVNJc0ltdHBaQ0k2SWpGSlJ6SjBUVWczU2pKM1lrcGFiazltT0V4S2VsRnBkRXRtTjB4TmRtOUJSV3h"
    "6ZFVSTlZrMDFORmtpTENKMGVYQWlPaUp3Y205MmJHRmlMV3hwWTJWdWMyVXJhbmR6SW4wLmV5SmhaR1JmYjI1ZmN"
    "ISnZaSFZqZEhNaU9sdDdJbVZ1WkhOZmIyNGlPaUl5TURJM0xUQXhMVEF4SWl3aWNIVnlZMmhoYzJWZmFXUWlPaUp"
    "CTFZNd01EQXhNak0wTlMxa2RXOHRjSEp2TFRFaUxDSnhkV0Z1ZEdsMGVTSTZNakFzSW5OMFlYSjBjMTl2YmlJNkl"
    "qSXdNall0TURFdE1ERWlMQ0owYVdWeUlqb2laSFZ2WDNCeWJ5SXNJblJ5YVdGc0lqcG1ZV3h6WlgxZExDSmxibVJ"
    "6WDI5dUlqb2lNakF5Tnkwd01TMHdNU0lzSW1sdWMzUmhibU5sWDJsa0lqb2lPV0l4WkdWaU5HUXRNMkkzWkMwMFl"
    "tRmtMVGxpWkdRdE1tSXdaRGRpTTJSallqWmtJaXdpYVhOemRXVmtYMkYwSWpvaU1qQXlOaTB3TVMwd01WUXdOVG9"
    "3TURvd01Gb2lMQ0pzYVdObGJuTmxYMmxrSWpvaWJHbGpMVEF3TURFaUxDSnNhV05sYm5ObFgzUjVjR1VpT2lKdmJ"
    "teHBibVZmWTJ4dmRXUWlMQ0pzYVdObGJuTmxaU0k2ZXlKamIyMXdZVzU1SWpvaVFXNWhiSGwwYVdOaGJDQkZibWR"
    "wYm1WeklFeDBaQ0lzSW1WdFlXbHNJam9pWVdSaFFHVjRZVzF3YkdVdVkyOXRJaXdpYm1GdFpTSTZJa0ZrWVNCTWI"
    "zWmxiR0ZqWlNKOUxDSndiR0Z1SWpvaWRXeDBhVzFoZEdVaUxDSnpaV0YwY3lJNk5UQXNJbk4wWVhKMGMxOXZiaUk"
    "2SWpJd01qWXRNREV0TURFaUxDSnpkV0p6WTNKcGNIUnBiMjVmYm1GdFpTSTZJa0V0VXpBd01ERXlNelExSWl3aWR"
    "ISnBZV3dpT21aaGJITmxmUS5ZSnoxblU1R2JFUDJWcjBTNTBObWotcjFxOWFjRFpScnkyNjJleGpNby1oWmI5Nkx"
    "uVkhiM2k3RkVUeGJoal9KZ2lZNkNkX3prS2xLQXFqdVhNOEpBUSJ9LCJub25jZSI6IloyOXNaR1Z1TFc1dmJtTmx"
    "MVEF3TVEiLCJ0aW1lc3RhbXAiOiIyMDI2LTAzLTAyVDAzOjQxOjAyWiIsInR5cGUiOiJzZWF0X2xpbmtfYW5zd2V"
    "yIn0.B_WSCmqZUyU6xowF_-tdVOkWhmqZ95pGkmXKj0C_muV6tQmRYK7h1DHYMTIeC8CYt-G3d6pYkq9-fh0jLIK"
    "KCw"
)

GOLDEN_LICENSE_FILE_HEAD = (
    "-----BEGIN PROVLAB LICENSE-----\n"
    "eyJhbGciOiJFZERTQSIsImtpZCI6IjFJRzJ0TUg3SjJ3Ykpabk9mOExKelFpdEtm\n"
)

# RFC 8037 appendix A: the Ed25519 key, its JWK thumbprint and a JWS signed with it.
RFC8037_D = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
RFC8037_X = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
RFC8037_THUMBPRINT = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
RFC8037_JWS = (
    "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc."
    "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"
)


def test_fixed_seed_gives_fixed_kid_and_jwk() -> None:
    assert PORTAL_KEY.kid == PORTAL_KID
    assert PORTAL_KEY.verifying_key().to_jwk() == PORTAL_JWK
    assert INSTANCE_KEY.kid == INSTANCE_KID


def test_fixed_license_signs_to_the_golden_token() -> None:
    assert sign_license(make_license(), PORTAL_KEY) == GOLDEN_LICENSE_TOKEN


def test_golden_license_token_verifies_to_the_fixed_license() -> None:
    assert verify_license(GOLDEN_LICENSE_TOKEN, PORTAL_KEYS) == make_license()


def test_fixed_license_file_starts_with_the_golden_lines() -> None:
    text = license_file(make_license(), PORTAL_KEY)
    assert text.startswith(GOLDEN_LICENSE_FILE_HEAD)
    assert (
        text.replace("\n", "")
        .removeprefix("-----BEGIN PROVLAB LICENSE-----")
        .removesuffix("-----END PROVLAB LICENSE-----")
        == GOLDEN_LICENSE_TOKEN
    )


def test_fixed_sync_request_seals_to_the_golden_token() -> None:
    token, nonce = seal_request(make_sync_request(), INSTANCE_KEY, clock(), nonce=GOLDEN_NONCE)
    assert (token, nonce) == (GOLDEN_REQUEST_TOKEN, GOLDEN_NONCE)


def test_golden_request_token_opens_to_the_fixed_sync_request() -> None:
    opened = open_request(GOLDEN_REQUEST_TOKEN, INSTANCE_KEYS, clock(), MemoryNonceStore())
    assert (opened.nonce, opened.timestamp, opened.kid) == (GOLDEN_NONCE, START, INSTANCE_KID)
    assert parse_message(opened, SyncRequest) == make_sync_request()


def test_fixed_sync_answer_seals_to_the_golden_token() -> None:
    answer_clock = clock(START + timedelta(seconds=2))
    token = seal_response(SyncAnswer(GOLDEN_LICENSE_TOKEN), PORTAL_KEY, answer_clock, GOLDEN_NONCE)
    assert token == GOLDEN_RESPONSE_TOKEN


def test_golden_response_token_opens_to_the_golden_license() -> None:
    opened = open_response(GOLDEN_RESPONSE_TOKEN, PORTAL_KEYS, clock(), GOLDEN_NONCE)
    assert parse_message(opened, SyncAnswer).license_token == GOLDEN_LICENSE_TOKEN


def test_rfc8037_key_has_the_rfc_public_key_and_rfc7638_thumbprint() -> None:
    key = SigningKey.from_seed(b64url_decode(RFC8037_D))
    assert key.verifying_key().to_jwk()["x"] == RFC8037_X
    assert key.kid == key.verifying_key().thumbprint() == RFC8037_THUMBPRINT


def test_rfc8037_token_is_a_valid_signature_yet_refused_without_kid_and_typ() -> None:
    header, payload, signature = RFC8037_JWS.split(".")
    public_key = Ed25519PublicKey.from_public_bytes(b64url_decode(RFC8037_X))
    public_key.verify(b64url_decode(signature), f"{header}.{payload}".encode())  # valid EdDSA
    keys = KeySet((VerifyingKey(RFC8037_THUMBPRINT, public_key),))
    with pytest.raises(InvalidSignature):
        verify(RFC8037_JWS, keys, "JWT")
