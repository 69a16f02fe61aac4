# Activation codes: what an admin pastes into the instance to bind it to a subscription (R8).
#
# Rules this module enforces:
# - A code is exactly 24 ASCII letters and digits; the admin form's wording is the real
#   product's ("The activation code should be a 24-character alphanumeric string").
# - Surrounding whitespace is forgiven because codes are copied out of mails and web pages;
#   anything inside the code is not.
# - Codes are drawn from `secrets`: a guessable code would let a stranger activate an
#   instance on someone else's subscription.
from __future__ import annotations

import re
import secrets
import string

from protocol.errors import LocalProtocolError

__all__ = [
    "ACTIVATION_CODE_ALPHABET",
    "ACTIVATION_CODE_FORMAT_ERROR",
    "ACTIVATION_CODE_LENGTH",
    "generate_activation_code",
    "validate_activation_code",
]

ACTIVATION_CODE_LENGTH = 24
ACTIVATION_CODE_ALPHABET = string.ascii_uppercase + string.ascii_lowercase + string.digits
ACTIVATION_CODE_FORMAT_ERROR = "The activation code should be a 24-character alphanumeric string"

# Explicit ASCII classes: str.isalnum() would accept letters and digits of every script.
_CODE = re.compile(rf"[A-Za-z0-9]{{{ACTIVATION_CODE_LENGTH}}}")


def generate_activation_code() -> str:
    """A fresh code: 24 characters from A-Z a-z 0-9 (about 143 bits)."""
    return "".join(secrets.choice(ACTIVATION_CODE_ALPHABET) for _ in range(ACTIVATION_CODE_LENGTH))


def validate_activation_code(code: str) -> str:
    """Return the code without surrounding whitespace, or raise LocalProtocolError."""
    stripped = code.strip() if isinstance(code, str) else None
    if stripped is None or not _CODE.fullmatch(stripped):
        raise LocalProtocolError(ACTIVATION_CODE_FORMAT_ERROR)
    return stripped
