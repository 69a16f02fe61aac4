"""The Customers Portal's settings (environment prefix ``PORTAL_``)."""

from __future__ import annotations

from webcore.app import common_settings
from webcore.config import Setting

PREFIX = "PORTAL"

SETTINGS: list[Setting] = [
    *common_settings("portal"),
    Setting("BASE_URL", "http://127.0.0.1:5010", "The portal's public URL (links in mail)."),
    Setting(
        "SIGNING_KEY_FILE",
        None,
        "PEM file of the key that signs licenses and sync answers; default keys/signing.pem "
        "in the instance path, generated on first start.",
    ),
    Setting(
        "RETIRED_SIGNING_KEY_FILES",
        "",
        "Comma-separated PEM files of older signing keys still published for rotation.",
    ),
    Setting(
        "FRESHNESS_WINDOW_SECONDS",
        300,
        "How far a signed request's timestamp may be from the portal's clock.",
        parse=int,
    ),
]
