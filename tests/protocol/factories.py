"""Fixed keys, sample documents and hypothesis strategies for the protocol tests."""

from __future__ import annotations

import dataclasses
import string
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from protocol import (
    ActivationRequest,
    AddOnProduct,
    AddOnTier,
    AddOnUsage,
    DailyUsage,
    KeySet,
    License,
    Licensee,
    LicenseType,
    Plan,
    RemoteProtocolError,
    SigningKey,
    SimulatedClock,
    SyncRequest,
)

# Modest and deadline-free: signing inside a property must not make the suite slow or flaky.
PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

PORTAL_KEY = SigningKey.from_seed(bytes(range(32)))
PORTAL_KEYS = KeySet((PORTAL_KEY.verifying_key(),))
INSTANCE_KEY = SigningKey.from_seed(bytes(range(32, 64)))
INSTANCE_KEYS = KeySet((INSTANCE_KEY.verifying_key(),))
OTHER_KEY = SigningKey.from_seed(bytes(range(64, 96)))

START = datetime(2026, 3, 2, 3, 41, tzinfo=UTC)
GOLDEN_NONCE = "Z29sZGVuLW5vbmNlLTAwMQ"


def clock(at: datetime = START) -> SimulatedClock:
    return SimulatedClock(at)


def replace(obj: Any, **changes: Any) -> Any:
    return dataclasses.replace(obj, **changes)


# The valid sample documents that the make_* factories change.
SAMPLE_ADD_ON = AddOnProduct(
    tier=AddOnTier.DUO_PRO,
    quantity=20,
    starts_on=date(2026, 1, 1),
    ends_on=date(2027, 1, 1),
    trial=False,
    purchase_id="A-S00012345-duo-pro-1",
)


def make_add_on(**changes: Any) -> AddOnProduct:
    return replace(SAMPLE_ADD_ON, **changes)


SAMPLE_LICENSE = License(
    license_id="lic-0001",
    subscription_name="A-S00012345",
    licensee=Licensee("Ada Lovelace", "ada@example.com", "Analytical Engines Ltd"),
    plan=Plan.ULTIMATE,
    seats=50,
    starts_on=date(2026, 1, 1),
    ends_on=date(2027, 1, 1),
    trial=False,
    license_type=LicenseType.ONLINE_CLOUD,
    issued_at=datetime(2026, 1, 1, 5, 0, tzinfo=UTC),
    add_on_products=(SAMPLE_ADD_ON,),
    instance_id="9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d",
)


def make_license(**changes: Any) -> License:
    return replace(SAMPLE_LICENSE, **changes)


SAMPLE_SYNC_REQUEST = SyncRequest(
    instance_id=SAMPLE_LICENSE.instance_id,
    license_id=SAMPLE_LICENSE.license_id,
    gitlab_version="17.3.0-ee",
    hostname="gitlab.example.com",
    billable_users=42,
    max_historical_users=45,
    add_on_usage=(AddOnUsage(AddOnTier.DUO_PRO, 20, 17),),
    daily_usage=(
        DailyUsage(date(2026, 3, 1), 41),
        DailyUsage(date(2026, 3, 2), 42),
    ),
)


def make_sync_request(**changes: Any) -> SyncRequest:
    return replace(SAMPLE_SYNC_REQUEST, **changes)


SAMPLE_ACTIVATION_REQUEST = ActivationRequest(
    activation_code="Abcdefghijklmnopqrstuvw0",
    instance_id=SAMPLE_SYNC_REQUEST.instance_id,
    gitlab_version=SAMPLE_SYNC_REQUEST.gitlab_version,
    hostname=SAMPLE_SYNC_REQUEST.hostname,
    instance_public_key=INSTANCE_KEY.verifying_key().to_jwk(),
)


def make_activation_request(**changes: Any) -> ActivationRequest:
    return replace(SAMPLE_ACTIVATION_REQUEST, **changes)


# --- hypothesis strategies -------------------------------------------------------------

# Printable text: control characters are refused by design, surrogates cannot be UTF-8.
texts = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cc", "Cs")),
    min_size=1,
    max_size=30,
).filter(lambda s: s.strip() != "")
identifiers = st.text(
    alphabet=string.ascii_letters + string.digits + "-_.", min_size=1, max_size=40
)
days = st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1))
instants = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
emails = st.builds(
    lambda local, domain: f"{local}@{domain}.example",
    st.text(alphabet=string.ascii_lowercase + string.digits + ".+", min_size=1, max_size=12),
    st.text(alphabet=string.ascii_lowercase, min_size=1, max_size=12),
)
versions = st.builds(
    lambda major, minor, patch, suffix: f"{major}.{minor}.{patch}{suffix}",
    st.integers(0, 99),
    st.integers(0, 99),
    st.integers(0, 99),
    st.sampled_from(["", "-ee", "-pre", "-rc42-ee"]),
)


@st.composite
def licenses(draw: st.DrawFn) -> License:
    plan = draw(st.sampled_from(Plan))
    seats = draw(st.integers(1, 100_000))
    starts_on = draw(days)
    ends_on = starts_on + timedelta(days=draw(st.integers(1, 1500)))
    trial = draw(st.booleans())
    license_type = LicenseType.LEGACY if trial else draw(st.sampled_from(LicenseType))
    instance_id = None if license_type is LicenseType.LEGACY else draw(st.none() | identifiers)
    products: list[AddOnProduct] = []
    if plan.allows_add_ons:
        tier = draw(st.sampled_from(AddOnTier))
        product_start = starts_on
        for index in range(draw(st.integers(0, 3))):
            product_end = product_start + timedelta(days=draw(st.integers(1, 400)))
            products.append(
                AddOnProduct(
                    tier=tier,
                    quantity=draw(st.integers(1, seats)),
                    starts_on=product_start,
                    ends_on=product_end,
                    trial=draw(st.booleans()),
                    purchase_id=f"{draw(identifiers)}-{index}",
                )
            )
            product_start = product_end
    return License(
        license_id=draw(identifiers),
        subscription_name=draw(texts),
        licensee=Licensee(draw(texts), draw(emails), draw(st.just("") | texts)),
        plan=plan,
        seats=seats,
        starts_on=starts_on,
        ends_on=ends_on,
        trial=trial,
        license_type=license_type,
        issued_at=draw(instants),
        add_on_products=tuple(products),
        instance_id=instance_id,
    )


@st.composite
def sync_requests(draw: st.DrawFn) -> SyncRequest:
    tiers = draw(st.lists(st.sampled_from(AddOnTier), unique=True, max_size=2))
    usage_days = draw(st.lists(days, unique=True, max_size=10))
    return SyncRequest(
        instance_id=draw(identifiers),
        license_id=draw(identifiers),
        gitlab_version=draw(versions),
        hostname=draw(texts),
        billable_users=draw(st.integers(0, 2**31 - 1)),
        max_historical_users=draw(st.integers(0, 2**31 - 1)),
        add_on_usage=tuple(
            AddOnUsage(tier, draw(st.integers(0, 10_000)), draw(st.integers(0, 10_000)))
            for tier in tiers
        ),
        daily_usage=tuple(DailyUsage(day, draw(st.integers(0, 10**6))) for day in usage_days),
    )


# Any text UTF-8 can carry (lone surrogates cannot be encoded, so cannot be sent).
unicode_text = st.text(alphabet=st.characters(codec="utf-8"))
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | unicode_text,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(unicode_text, children, max_size=5)
    ),
    max_leaves=20,
)

# Strings shaped like compact JWS, so fuzzing gets past the cheapest checks.
jws_shaped = st.from_regex(r"\A[A-Za-z0-9_-]{2,120}\.[A-Za-z0-9_-]{2,200}\.[A-Za-z0-9_-]{2,100}\Z")


def refused(message_type: Any, data: object) -> RemoteProtocolError:
    """What ``message_type.from_dict(data)`` must raise: the error of a remote party's message."""
    with pytest.raises(RemoteProtocolError) as caught:
        message_type.from_dict(data)
    return caught.value
