"""Messages: construction refuses what is illegal to send; from_dict names what the peer got
wrong (missing, unknown and ill-typed fields)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from hypothesis import given

from protocol import (
    ACTIVATION_CODE_FORMAT_ERROR,
    ActivationAnswer,
    ActivationRequest,
    AddOnTier,
    AddOnUsage,
    DailyUsage,
    ErrorAnswer,
    ErrorCode,
    GitLabVersion,
    InvalidSignature,
    LocalProtocolError,
    RemoteProtocolError,
    ReplayedMessage,
    StaleMessage,
    SyncAnswer,
    SyncRequest,
)
from tests.protocol.factories import (
    INSTANCE_KEY,
    PORTAL_KEY,
    PROPERTY,
    make_activation_request,
    make_sync_request,
    refused,
    sync_requests,
)

SAMPLE_TOKEN = "eyJh.eyJi.c2ln"

# Each message class, where its errors are rooted, a valid instance, and per field a value
# of the wrong JSON type.
CASES: list[tuple[str, Any, dict[str, object]]] = [
    (
        "activation_request",
        make_activation_request(),
        {
            "activation_code": 123,
            "instance_id": None,
            "gitlab_version": 17.3,
            "hostname": [],
            "instance_public_key": "OKP",
        },
    ),
    (
        "activation_answer",
        ActivationAnswer(SAMPLE_TOKEN, "A-S00012345"),
        {"license_token": 1, "subscription_name": False},
    ),
    (
        "sync_request",
        make_sync_request(),
        {
            "instance_id": 1,
            "license_id": None,
            "gitlab_version": 17,
            "hostname": {},
            "billable_users": "42",
            "max_historical_users": 4.5,
            "add_on_usage": {},
            "daily_usage": "2026-03-01",
        },
    ),
    ("sync_answer", SyncAnswer(SAMPLE_TOKEN), {"license_token": None}),
    (
        "error_answer",
        ErrorAnswer("seat_mismatch", "The license has fewer seats than users."),
        {"code": 5, "message": None},
    ),
]
FIELD_CASES = [
    (where, message, name, wrong)
    for where, message, wrong_types in CASES
    for name, wrong in wrong_types.items()
]
# Every message (``_``: its fields' wrong values, not used by these tests).
each_message = pytest.mark.parametrize(("where", "message", "_"), CASES, ids=[c[0] for c in CASES])
# Every field of every message, with a value of the wrong type for it.
each_field = pytest.mark.parametrize(
    ("where", "message", "name", "wrong"),
    FIELD_CASES,
    ids=[f"{c[0]}.{c[2]}" for c in FIELD_CASES],
)


@each_message
def test_message_round_trips_through_to_dict_and_from_dict(
    where: str, message: Any, _: object
) -> None:
    assert type(message).from_dict(message.to_dict()) == message


@each_field
def test_missing_field_is_a_remote_error_naming_it(
    where: str, message: Any, name: str, wrong: object
) -> None:
    data = message.to_dict()
    del data[name]
    caught = refused(type(message), data)
    assert str(caught) == f"{where}.{name}: missing field"


@each_message
def test_unknown_field_is_a_remote_error_naming_it(where: str, message: Any, _: object) -> None:
    caught = refused(type(message), {**message.to_dict(), "surprise": 1})
    assert str(caught) == f"{where}.surprise: unknown field"


def test_unknown_field_with_a_hostile_name_is_quoted_in_the_error() -> None:
    caught = refused(SyncAnswer, {"license_token": SAMPLE_TOKEN, "x\n\x1b[31m": 1})
    assert "\n" not in str(caught) and "\x1b" not in str(caught)


@each_field
def test_ill_typed_field_is_a_remote_error_naming_it(
    where: str, message: Any, name: str, wrong: object
) -> None:
    caught = refused(type(message), {**message.to_dict(), name: wrong})
    assert caught.field is not None
    assert caught.field.startswith(f"{where}.{name}")
    assert not isinstance(caught, LocalProtocolError)


@each_message
def test_non_object_is_a_remote_error(where: str, message: Any, _: object) -> None:
    with pytest.raises(RemoteProtocolError, match=f"^{where}: expected an object$"):
        type(message).from_dict([message.to_dict()])


def test_billable_users_as_a_string_names_the_field_and_the_expectation() -> None:
    caught = refused(SyncRequest, {**make_sync_request().to_dict(), "billable_users": "42"})
    assert str(caught) == "sync_request.billable_users: expected a non-negative integer"


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("add_on_usage", 0, "assigned_seats"), -1),
        (("add_on_usage", 0, "tier"), "duo_max"),
        (("add_on_usage", 0, "purchased_seats"), True),
        (("daily_usage", 1, "day"), "2026-03-32"),
        (("daily_usage", 0, "billable_users"), None),
    ],
)
def test_nested_ill_typed_field_names_its_full_path(path: tuple[Any, ...], value: object) -> None:
    data = make_sync_request().to_dict()
    data[path[0]][path[1]][path[2]] = value
    caught = refused(SyncRequest, data)
    assert caught.field == f"sync_request.{path[0]}[{path[1]}].{path[2]}"


def test_nested_unknown_field_names_its_full_path() -> None:
    data = make_sync_request().to_dict()
    data["add_on_usage"][0]["free_seats"] = 3
    with pytest.raises(RemoteProtocolError, match=r"sync_request\.add_on_usage\[0\]\.free_seats"):
        SyncRequest.from_dict(data)


@PROPERTY
@given(sync_requests())
def test_sync_request_round_trips_through_to_dict_and_from_dict(request: SyncRequest) -> None:
    assert SyncRequest.from_dict(request.to_dict()) == request


# --- construction --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: make_sync_request(billable_users=-1), "sync_request.billable_users"),
        (lambda: make_sync_request(max_historical_users=None), "sync_request.max_historical_users"),
        (lambda: make_sync_request(gitlab_version="latest"), "sync_request.gitlab_version"),
        (lambda: make_sync_request(hostname=""), "sync_request.hostname"),
        (
            lambda: make_sync_request(add_on_usage=[{"tier": "duo_pro"}]),
            "sync_request.add_on_usage[0]",
        ),
        (lambda: AddOnUsage(AddOnTier.DUO_PRO, -1, 0), "add_on_usage.purchased_seats"),
        (lambda: AddOnUsage("duo", 1, 0), "add_on_usage.tier"),  # type: ignore[arg-type]
        (lambda: DailyUsage("2026-03-01", 1), "daily_usage.day"),  # type: ignore[arg-type]
        (lambda: ActivationAnswer("not-a-token", "A-S1"), "activation_answer.license_token"),
        (lambda: ActivationAnswer(SAMPLE_TOKEN, ""), "activation_answer.subscription_name"),
        (lambda: SyncAnswer(""), "sync_answer.license_token"),
        (lambda: ErrorAnswer("oops", "message"), "error_answer.code"),
        (lambda: ErrorAnswer("bad_request", ""), "error_answer.message"),
        (lambda: make_activation_request(instance_id=" "), "activation_request.instance_id"),
        (lambda: make_activation_request(gitlab_version="17"), "activation_request.gitlab_version"),
    ],
)
def test_constructor_refuses_illegal_values_with_a_local_error(build: Any, field: str) -> None:
    with pytest.raises(LocalProtocolError) as caught:
        build()
    assert caught.value.field == field


def test_r32_sync_request_reports_each_add_on_and_each_day_once() -> None:
    """R32/R33: one figure per add-on and per day, or the portal would have to guess."""
    usage = AddOnUsage(AddOnTier.DUO_PRO, 10, 5)
    with pytest.raises(LocalProtocolError, match=r"add_on_usage\[1\]\.tier"):
        make_sync_request(add_on_usage=(usage, usage))
    day = DailyUsage(date(2026, 3, 1), 4)
    with pytest.raises(LocalProtocolError, match=r"daily_usage\[1\]\.day"):
        make_sync_request(daily_usage=(day, DailyUsage(date(2026, 3, 1), 5)))


def test_r28_assigned_seats_above_purchased_are_reported_not_refused() -> None:
    """R28: overage exists until removal runs, and the portal needs to see it."""
    assert AddOnUsage(AddOnTier.DUO_PRO, 30, 50).assigned_seats == 50


def test_sync_request_accepts_lists_and_stores_tuples() -> None:
    request = make_sync_request(add_on_usage=[AddOnUsage(AddOnTier.DUO_PRO, 1, 1)])
    assert isinstance(request.add_on_usage, tuple)
    assert hash(request)


def test_sync_request_exposes_the_parsed_version() -> None:
    assert make_sync_request().gitlab_version_info == GitLabVersion(17, 3, 0, "ee")


def test_activation_request_refuses_a_malformed_code_with_the_admin_message() -> None:
    with pytest.raises(LocalProtocolError) as caught:
        make_activation_request(activation_code="short")
    assert caught.value.field == "activation_request.activation_code"
    assert caught.value.problem == ACTIVATION_CODE_FORMAT_ERROR


def test_activation_request_from_a_peer_with_a_malformed_code_is_a_remote_error() -> None:
    data = {**make_activation_request().to_dict(), "activation_code": "x" * 25}
    with pytest.raises(RemoteProtocolError, match=r"^activation_request\.activation_code: "):
        ActivationRequest.from_dict(data)


def test_activation_request_strips_whitespace_around_the_code() -> None:
    request = make_activation_request(activation_code="  Abcdefghijklmnopqrstuvw0\n")
    assert request.activation_code == "Abcdefghijklmnopqrstuvw0"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"kty": "RSA"}, "activation_request.instance_public_key.kty"),
        ({"x": "short"}, "activation_request.instance_public_key.x"),
        ({"d": "leaked"}, "activation_request.instance_public_key.d"),
    ],
)
def test_activation_request_refuses_an_unusable_public_key(
    change: dict[str, str], field: str
) -> None:
    jwk = {**INSTANCE_KEY.verifying_key().to_jwk(), **change}
    with pytest.raises(LocalProtocolError) as caught:
        make_activation_request(instance_public_key=jwk)
    assert caught.value.field == field
    data = {**make_activation_request().to_dict(), "instance_public_key": jwk}
    remote = refused(ActivationRequest, data)
    assert remote.field == field


def test_activation_request_keeps_its_own_copy_of_the_key() -> None:
    jwk = INSTANCE_KEY.verifying_key().to_jwk()
    request = make_activation_request(instance_public_key=jwk)
    jwk["x"] = PORTAL_KEY.verifying_key().to_jwk()["x"]
    assert request.verifying_key() == INSTANCE_KEY.verifying_key()


def test_error_codes_are_the_shared_list() -> None:
    assert {code.value for code in ErrorCode} == {
        "invalid_activation_code",
        "activation_code_in_use",
        "subscription_expired",
        "subscription_not_cloud_compatible",
        "seat_mismatch",
        "unknown_instance",
        "bad_request",
        "invalid_signature",
        "stale_request",
        "replayed_request",
        # GitLab.com (protocol.provisioning)
        "namespace_not_found",
        "not_root_namespace",
        "not_eligible_for_trial",
    }
    assert ErrorAnswer(ErrorCode.SEAT_MISMATCH, "m").code == "seat_mismatch"


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (InvalidSignature(), "invalid_signature"),
        (StaleMessage("too old", field="request.timestamp"), "stale_request"),
        (ReplayedMessage("again", field="request.nonce"), "replayed_request"),
        (RemoteProtocolError("bad", field="sync_request.hostname"), "bad_request"),
    ],
)
def test_error_answer_from_a_protocol_error_carries_its_code(
    error: RemoteProtocolError, code: str
) -> None:
    answer = ErrorAnswer.from_error(error)
    assert (answer.code, answer.message) == (code, str(error))


def test_message_types_are_the_wire_names() -> None:
    assert ActivationRequest.TYPE == "activation_request"
    assert ActivationAnswer.TYPE == "activation_answer"
    assert SyncRequest.TYPE == "seat_link_request"
    assert SyncAnswer.TYPE == "seat_link_answer"
    assert ErrorAnswer.TYPE == "error"


@pytest.mark.parametrize(
    "data",
    [
        {"day": "2026-03-01", "billable_users": 0},
        {"day": "2026-03-31", "billable_users": 2**31 - 1},
        {"day": "2026-02-30", "billable_users": 4},  # not a calendar day
        {"day": "20260301", "billable_users": 4},  # fromisoformat alone would take it
        {"day": "2026-03-01", "billable_users": -1},
        {"day": "2026-03-01", "billable_users": 2**31},
        {"day": "2026-03-01", "billable_users": True},
        {"day": "2026-03-01", "billable_users": 4.0},
        {"day": "2026-03-01"},
        {"day": "2026-03-01", "billable_users": 4, "extra": 1},
        {"day": None, "billable_users": 4},
        {"billable_users": 4, "users": 4},
        ["2026-03-01", 4],
    ],
)
def test_daily_usage_read_quickly_is_read_as_the_reader_reads_it(data: Any) -> None:
    """R32's daily counts: a well-formed one skips the general reader (issue 15); whatever the
    input, the answer (the document, or the error and the field it names) is the reader's."""

    def read(reader: Any) -> Any:
        try:
            return reader()
        except RemoteProtocolError as error:
            return (type(error), error.problem, error.field)

    quick = read(lambda: DailyUsage.from_dict(data, where="sync_request.daily_usage[3]"))
    general = read(lambda: DailyUsage.FIELDS.load(DailyUsage, data, "sync_request.daily_usage[3]"))
    assert quick == general
