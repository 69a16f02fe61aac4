"""License documents: the rules they enforce, their wire form, signing and term checks."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given

from protocol import (
    LICENSE_TYP,
    AddOnTier,
    GitLabVersion,
    InvalidSignature,
    License,
    Licensee,
    LicenseExpired,
    LicenseNotYetValid,
    LicenseType,
    LocalProtocolError,
    Plan,
    RemoteProtocolError,
    b64url_decode,
    b64url_encode,
    canonical_json,
    license_file,
    read_license_file,
    sign,
    sign_license,
    verify_license,
)
from tests.protocol.factories import (
    OTHER_KEY,
    PORTAL_KEY,
    PORTAL_KEYS,
    PROPERTY,
    licenses,
    make_add_on,
    make_license,
    refused,
)

# --- rules ---------------------------------------------------------------------------


def test_r4_license_refuses_add_on_on_free_plan() -> None:
    """R4: add-ons are sold on Premium and Ultimate only, never on Free."""
    with pytest.raises(LocalProtocolError) as caught:
        make_license(plan=Plan.FREE)
    assert caught.value.field == "license.add_on_products"
    assert make_license(plan=Plan.FREE, add_on_products=()).plan is Plan.FREE


@pytest.mark.parametrize("plan", [Plan.PREMIUM, Plan.ULTIMATE])
def test_r4_license_allows_add_ons_on_premium_and_ultimate(plan: Plan) -> None:
    """R4: Premium and Ultimate may carry add-ons."""
    assert make_license(plan=plan).add_on_products


def test_r5_add_on_quantity_never_above_seats() -> None:
    """R5: an add-on's seats can never exceed the subscription's own seat count."""
    assert make_license(seats=20, add_on_products=(make_add_on(quantity=20),))
    with pytest.raises(LocalProtocolError) as caught:
        make_license(seats=20, add_on_products=(make_add_on(quantity=21),))
    assert caught.value.field == "license.add_on_products[0].quantity"


def test_r6_one_duo_tier_per_license() -> None:
    """R6: a subscription holds at most one GitLab Duo tier at a time."""
    pro = make_add_on(tier=AddOnTier.DUO_PRO, ends_on=date(2026, 6, 1))
    enterprise = make_add_on(
        tier=AddOnTier.DUO_ENTERPRISE, starts_on=date(2026, 6, 1), purchase_id="ent-1"
    )
    with pytest.raises(LocalProtocolError) as caught:
        make_license(add_on_products=(pro, enterprise))
    assert caught.value.field == "license.add_on_products[1].tier"


def test_r6_add_on_terms_never_overlap() -> None:
    """R6: at most one Duo add-on in force on any day, even of the same tier."""
    first = make_add_on(ends_on=date(2026, 7, 1))
    overlapping = make_add_on(starts_on=date(2026, 6, 30), purchase_id="second")
    with pytest.raises(LocalProtocolError, match="overlaps"):
        make_license(add_on_products=(first, overlapping))


def test_r6_agile_planning_runs_beside_a_duo_tier_and_round_trips() -> None:
    """R6: Enterprise Agile Planning is not a GitLab Duo tier: it overlaps the Duo term freely,
    but two of its own terms may not overlap."""
    duo = make_add_on(tier=AddOnTier.DUO_ENTERPRISE)
    eap = make_add_on(tier=AddOnTier.ENTERPRISE_AGILE_PLANNING, purchase_id="eap-1")
    license = make_license(add_on_products=(duo, eap))
    assert License.from_dict(license.to_dict()) == license
    assert license.to_dict()["add_on_products"][1]["tier"] == "enterprise_agile_planning"
    assert not AddOnTier.ENTERPRISE_AGILE_PLANNING.is_duo and AddOnTier.DUO_PRO.is_duo
    again = make_add_on(tier=AddOnTier.ENTERPRISE_AGILE_PLANNING, purchase_id="eap-2")
    with pytest.raises(LocalProtocolError, match="overlaps"):
        make_license(add_on_products=(duo, eap, again))


def test_r6_consecutive_terms_of_one_tier_are_allowed() -> None:
    """R6: a renewal that starts the day the previous term ends is not an overlap."""
    first = make_add_on(ends_on=date(2026, 7, 1))
    renewal = make_add_on(starts_on=date(2026, 7, 1), purchase_id="renewal")
    license = make_license(add_on_products=(first, renewal))
    assert license.active_add_on_products(date(2026, 6, 30)) == (first,)
    assert license.active_add_on_products(date(2026, 7, 1)) == (renewal,)


def test_r9_plan_trial_is_a_legacy_license_only() -> None:
    """R9: self-managed plan trials are issued as legacy licenses only."""
    trial = make_license(
        trial=True, license_type=LicenseType.LEGACY, instance_id=None, add_on_products=()
    )
    assert trial.trial
    for cloud in (LicenseType.ONLINE_CLOUD, LicenseType.OFFLINE_CLOUD):
        with pytest.raises(LocalProtocolError, match=r"license\.trial"):
            make_license(trial=True, license_type=cloud)


def test_legacy_license_carries_no_instance_id() -> None:
    with pytest.raises(LocalProtocolError) as caught:
        make_license(license_type=LicenseType.LEGACY, instance_id="some-instance")
    assert caught.value.field == "license.instance_id"


def test_r17_add_on_tiers_name_their_minimum_gitlab_version() -> None:
    """R17: Duo Pro needs GitLab 16.8 or later, Duo Enterprise 17.3 or later."""
    assert AddOnTier.DUO_PRO.minimum_gitlab_version == GitLabVersion(16, 8)
    assert AddOnTier.DUO_ENTERPRISE.minimum_gitlab_version == GitLabVersion(17, 3)


def test_labels_are_the_real_products_words() -> None:
    assert [t.label for t in LicenseType] == ["Online license", "Offline license", "Legacy license"]
    assert [t.is_cloud for t in LicenseType] == [True, True, False]
    assert AddOnTier.DUO_PRO.label == "GitLab Duo Pro"
    assert AddOnTier.DUO_ENTERPRISE.label == "GitLab Duo Enterprise"
    assert str(Plan.ULTIMATE) == "ultimate"


# --- construction ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"license_id": ""}, "license.license_id"),
        ({"subscription_name": 5}, "license.subscription_name"),
        ({"licensee": "Ada"}, "license.licensee"),
        ({"plan": "gold"}, "license.plan"),
        ({"seats": 0}, "license.seats"),
        ({"seats": True}, "license.seats"),
        ({"seats": 2**31}, "license.seats"),
        ({"starts_on": "2026-01-01"}, "license.starts_on"),
        ({"ends_on": datetime(2027, 1, 1, tzinfo=UTC)}, "license.ends_on"),
        ({"ends_on": date(2026, 1, 1)}, "license.ends_on"),
        ({"trial": 0}, "license.trial"),
        ({"license_type": "cloud"}, "license.license_type"),
        ({"issued_at": datetime(2026, 1, 1)}, "license.issued_at"),
        ({"add_on_products": (None,)}, "license.add_on_products[0]"),
        ({"instance_id": ""}, "license.instance_id"),
        ({"subscription_name": "A\nB"}, "license.subscription_name"),
    ],
)
def test_constructor_refuses_bad_fields_naming_them(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(LocalProtocolError) as caught:
        make_license(**changes)
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"tier": "duo_max"}, "add_on_product.tier"),
        ({"quantity": 0}, "add_on_product.quantity"),
        ({"ends_on": date(2026, 1, 1)}, "add_on_product.ends_on"),
        ({"trial": "no"}, "add_on_product.trial"),
        ({"purchase_id": " "}, "add_on_product.purchase_id"),
    ],
)
def test_add_on_constructor_refuses_bad_fields_naming_them(
    changes: dict[str, Any], field: str
) -> None:
    with pytest.raises(LocalProtocolError) as caught:
        make_add_on(**changes)
    assert caught.value.field == field


def test_licensee_email_must_look_like_an_address() -> None:
    for bad in ("ada", "ada@", "@example.com", "a b@example.com", "a@b@c"):
        with pytest.raises(LocalProtocolError, match="licensee.email"):
            Licensee("Ada", bad, "")


def test_enum_values_given_as_strings_become_enums() -> None:
    license = make_license(plan="premium", license_type="offline_cloud")
    assert license.plan is Plan.PREMIUM and license.license_type is LicenseType.OFFLINE_CLOUD


def test_issued_at_is_kept_in_utc() -> None:
    paris = timezone(timedelta(hours=1))
    license = make_license(issued_at=datetime(2026, 1, 1, 6, 0, tzinfo=paris))
    assert license.issued_at == datetime(2026, 1, 1, 5, 0, tzinfo=UTC)
    assert license.issued_at.tzinfo is UTC


# --- term ------------------------------------------------------------------------------


def test_term_includes_starts_on_and_excludes_ends_on() -> None:
    license = make_license()
    assert not license.is_active_on(date(2025, 12, 31))
    assert license.is_active_on(date(2026, 1, 1))
    assert license.is_active_on(date(2026, 12, 31))
    assert not license.is_active_on(date(2027, 1, 1))


def test_check_term_raises_not_yet_valid_before_the_start() -> None:
    with pytest.raises(LicenseNotYetValid) as caught:
        make_license().check_term(date(2025, 12, 31))
    assert caught.value.field == "license.starts_on"


def test_check_term_raises_expired_from_the_end_date() -> None:
    with pytest.raises(LicenseExpired) as caught:
        make_license().check_term(date(2027, 1, 1))
    assert caught.value.field == "license.ends_on"
    make_license().check_term(date(2026, 12, 31))


# --- wire form -------------------------------------------------------------------------


def test_to_dict_writes_dates_as_iso_days_and_issued_at_as_utc() -> None:
    data = make_license().to_dict()
    assert data["starts_on"] == "2026-01-01"
    assert data["issued_at"] == "2026-01-01T05:00:00Z"
    assert data["add_on_products"][0]["ends_on"] == "2027-01-01"
    assert data["plan"] == "ultimate" and data["license_type"] == "online_cloud"


def test_from_dict_missing_field_names_it() -> None:
    for name in make_license().to_dict():
        data = make_license().to_dict()
        del data[name]
        caught = refused(License, data)
        assert caught.field == f"license.{name}"
        assert caught.problem == "missing field"


def test_from_dict_unknown_field_names_it() -> None:
    with pytest.raises(RemoteProtocolError, match=r"^license\.expires_at: unknown field$"):
        License.from_dict({**make_license().to_dict(), "expires_at": "2027-01-01"})


WRONG_TYPES: dict[str, object] = {
    "license_id": 1,
    "subscription_name": None,
    "licensee": "Ada",
    "plan": 1,
    "seats": "50",
    "starts_on": "01/01/2026",
    "ends_on": 20270101,
    "trial": "false",
    "license_type": None,
    "issued_at": "2026-01-01T05:00:00",
    "add_on_products": {},
    "instance_id": 7,
}


@pytest.mark.parametrize("name", sorted(WRONG_TYPES))
def test_from_dict_ill_typed_field_names_it(name: str) -> None:
    data = {**make_license().to_dict(), name: WRONG_TYPES[name]}
    caught = refused(License, data)
    assert caught.field == f"license.{name}"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("quantity", "20"),
        ("tier", "duo_max"),
        ("starts_on", "2026-02-30"),
        ("trial", None),
        ("purchase_id", ""),
    ],
)
def test_from_dict_ill_typed_add_on_field_names_its_path(name: str, value: object) -> None:
    data = make_license().to_dict()
    data["add_on_products"][0][name] = value
    caught = refused(License, data)
    assert caught.field == f"license.add_on_products[0].{name}"


def test_from_dict_rule_violation_is_a_remote_error_with_the_path() -> None:
    data = make_license().to_dict()
    data["add_on_products"][0]["quantity"] = 51
    caught = refused(License, data)
    assert not isinstance(caught, LocalProtocolError)
    assert caught.field == "license.add_on_products[0].quantity"


@pytest.mark.parametrize("day", ["20260101", "2026-1-01", "2026-01-01T00:00:00", "２０２６-01-01"])
def test_from_dict_accepts_only_one_spelling_of_a_date(day: str) -> None:
    with pytest.raises(RemoteProtocolError, match=r"license\.starts_on"):
        License.from_dict({**make_license().to_dict(), "starts_on": day})


def test_from_dict_of_a_non_object_is_a_remote_error() -> None:
    with pytest.raises(RemoteProtocolError, match="^license: expected an object$"):
        License.from_dict([])


@PROPERTY
@given(licenses())
def test_license_round_trips_through_to_dict_and_from_dict(license: License) -> None:
    assert License.from_dict(license.to_dict()) == license
    assert License.from_dict(json.loads(canonical_json(license.to_dict()))) == license


# --- signed licenses -------------------------------------------------------------------


def test_signed_license_verifies_and_license_file_reads_back() -> None:
    license = make_license()
    assert verify_license(sign_license(license, PORTAL_KEY), PORTAL_KEYS) == license
    assert read_license_file(license_file(license, PORTAL_KEY), PORTAL_KEYS) == license


def test_license_signed_by_an_unpinned_key_is_an_invalid_signature() -> None:
    with pytest.raises(InvalidSignature):
        verify_license(sign_license(make_license(), OTHER_KEY), PORTAL_KEYS)


def test_validly_signed_malformed_license_is_a_remote_error_not_a_bad_signature() -> None:
    data = {**make_license().to_dict(), "seats": -1}
    with pytest.raises(RemoteProtocolError) as caught:
        verify_license(sign(canonical_json(data), PORTAL_KEY, LICENSE_TYP), PORTAL_KEYS)
    assert not isinstance(caught.value, InvalidSignature)
    assert caught.value.field == "license.seats"


def test_validly_signed_non_json_license_is_a_remote_error() -> None:
    with pytest.raises(RemoteProtocolError, match="^license: "):
        verify_license(sign(b"\xff not json", PORTAL_KEY, LICENSE_TYP), PORTAL_KEYS)


def _paths(value: object, prefix: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    """Every leaf of a JSON document, as a path of keys and indexes."""
    if isinstance(value, dict):
        return [p for key, item in value.items() for p in _paths(item, (*prefix, key))]
    if isinstance(value, list):
        return [p for index, item in enumerate(value) for p in _paths(item, (*prefix, index))]
    return [prefix]


def _tampered(value: object) -> object:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, str):
        return value[:-1] + ("X" if value[-1:] != "X" else "Y")
    return "tampered"


SIGNED = make_license()
SIGNED_TOKEN = sign_license(SIGNED, PORTAL_KEY)


@pytest.mark.parametrize(
    "path", _paths(SIGNED.to_dict()), ids=lambda path: ".".join(map(str, path))
)
def test_tampering_with_any_license_field_breaks_the_signature(path: tuple[object, ...]) -> None:
    header, payload, signature = SIGNED_TOKEN.split(".")
    document = json.loads(b64url_decode(payload))
    parent = document
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = _tampered(parent[path[-1]])
    forged = f"{header}.{b64url_encode(canonical_json(document))}.{signature}"
    with pytest.raises(InvalidSignature):
        verify_license(forged, PORTAL_KEYS)


@pytest.mark.parametrize(
    "header",
    [
        {"alg": "EdDSA", "kid": OTHER_KEY.kid, "typ": LICENSE_TYP},
        {"alg": "EdDSA", "kid": "unknown", "typ": LICENSE_TYP},
        {"alg": "none", "kid": PORTAL_KEY.kid, "typ": LICENSE_TYP},
        {"alg": "HS256", "kid": PORTAL_KEY.kid, "typ": LICENSE_TYP},
        {"alg": "EdDSA", "kid": PORTAL_KEY.kid, "typ": "provlab-request+jws"},
        {"alg": "EdDSA", "kid": PORTAL_KEY.kid, "typ": "JWT"},
    ],
    ids=["kid-other-pinned-key", "kid-unknown", "alg-none", "alg-hs256", "typ-request", "typ-jwt"],
)
def test_tampering_with_the_license_header_breaks_the_signature(header: dict[str, str]) -> None:
    keys = PORTAL_KEYS.with_key(OTHER_KEY.verifying_key())
    _, payload, signature = SIGNED_TOKEN.split(".")
    forged = f"{b64url_encode(canonical_json(header))}.{payload}.{signature}"
    with pytest.raises(InvalidSignature):
        verify_license(forged, keys)


def test_tampering_with_the_license_signature_is_rejected() -> None:
    header, payload, signature = SIGNED_TOKEN.split(".")
    raw = bytearray(b64url_decode(signature))
    raw[10] ^= 0x80
    for forged_signature in (b64url_encode(bytes(raw)), signature[:-4], signature + "AAAA"):
        with pytest.raises(InvalidSignature):
            verify_license(f"{header}.{payload}.{forged_signature}", PORTAL_KEYS)


def test_license_file_with_tampered_text_is_an_invalid_signature() -> None:
    text = license_file(make_license(), PORTAL_KEY)
    lines = text.split("\n")
    lines[3] = lines[3][:-1] + ("A" if lines[3][-1] != "A" else "B")
    with pytest.raises(InvalidSignature):
        read_license_file("\n".join(lines), PORTAL_KEYS)
