"""Activation codes (R8): 24 ASCII letters and digits, drawn from secrets."""

from __future__ import annotations

import re
import string

import pytest

from protocol import (
    ACTIVATION_CODE_FORMAT_ERROR,
    ACTIVATION_CODE_LENGTH,
    LocalProtocolError,
    generate_activation_code,
    validate_activation_code,
)


def test_generated_codes_are_24_ascii_letters_and_digits() -> None:
    for _ in range(1000):
        code = generate_activation_code()
        assert re.fullmatch(r"[A-Za-z0-9]{24}", code)
        assert validate_activation_code(code) == code
    assert ACTIVATION_CODE_LENGTH == 24


def test_generated_codes_do_not_repeat() -> None:
    assert len({generate_activation_code() for _ in range(5_000)}) == 5_000


def test_generated_codes_use_the_whole_alphabet() -> None:
    seen = set("".join(generate_activation_code() for _ in range(500)))
    assert seen == set(string.ascii_letters + string.digits)


def test_validator_strips_surrounding_whitespace() -> None:
    assert validate_activation_code("\t Abcdefghijklmnopqrstuvw0 \r\n") == (
        "Abcdefghijklmnopqrstuvw0"
    )


@pytest.mark.parametrize(
    "code",
    [
        "",
        "Abcdefghijklmnopqrstuvw",  # 23
        "Abcdefghijklmnopqrstuvw01",  # 25
        "Abcdefghijk mnopqrstuvw0",
        "Abcdefghijklmnopqrstuv-0",
        "Abcdefghijklmnopqrstuvwé",
        "Abcdefghijklmnopqrstuvw０",  # fullwidth digit
        None,
        123456789012345678901234,
    ],
)
def test_validator_refuses_with_the_admin_form_message(code: object) -> None:
    with pytest.raises(LocalProtocolError) as caught:
        validate_activation_code(code)  # type: ignore[arg-type]
    assert str(caught.value) == ACTIVATION_CODE_FORMAT_ERROR
    assert ACTIVATION_CODE_FORMAT_ERROR == (
        "The activation code should be a 24-character alphanumeric string"
    )
