"""The Customers Portal's settings (environment prefix ``PORTAL_``)."""

from __future__ import annotations

from portal.pricing import parse_price_list
from webcore.app import common_settings
from webcore.config import Setting, parse_list

PREFIX = "PORTAL"


def parse_time_of_day(value: str) -> str:
    """``"05:00"`` (UTC, 24-hour); anything else is a configuration error."""
    hour, sep, minute = value.strip().partition(":")
    if not (sep and hour.isdigit() and minute.isdigit() and int(hour) < 24 and int(minute) < 60):
        raise ValueError(f"expected a time of day such as 05:00, got {value!r}")
    return f"{int(hour):02d}:{int(minute):02d}"


def parse_positive(value: str) -> int:
    number = int(value.strip())
    if number < 1:
        raise ValueError(f"expected a whole number of at least 1, got {value!r}")
    return number


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
    Setting(
        "ACTIVATION_GUESS_LIMIT",
        10,
        "Refused activation codes a client may send per window before it gets 429.",
        parse=parse_positive,
    ),
    Setting(
        "ACTIVATION_GUESS_PERIOD_SECONDS",
        3600,
        "The window of ACTIVATION_GUESS_LIMIT, in seconds.",
        parse=parse_positive,
    ),
    Setting(
        "EMBARGOED_COUNTRIES",
        ["CU", "IR", "KP", "SY"],
        "ISO 3166 country codes whose trial requests are dropped silently (R22).",
        parse=parse_list,
    ),
    Setting(
        "LEAD_PROCESSING_TIME",
        "05:00",
        "UTC time of day at which sales processes trial requests (R21).",
        parse=parse_time_of_day,
    ),
    Setting(
        "LEAD_PROCESSING_DELAY_MINUTES",
        60,
        "How long a trial request waits in the marketing system before sales sees it (R21).",
        parse=int,
    ),
    Setting(
        "PRICE_LIST",
        {
            "premium": 34800,
            "ultimate": 118800,
            "duo_pro": 22800,
            "duo_enterprise": 46800,
            "enterprise_agile_planning": 18000,
        },
        "List price per seat per year, in cents, as name=cents pairs "
        "(premium, ultimate, duo_pro, duo_enterprise, enterprise_agile_planning).",
        parse=parse_price_list,
    ),
    Setting(
        "SMTP_HOST", None, "SMTP server for outgoing mail; without it mail stays in the outbox."
    ),
    Setting("SMTP_PORT", 25, "SMTP server port.", parse=int),
    Setting(
        "MAIL_FROM", "Customers Portal <noreply@provlab.example>", "Sender of the portal's mail."
    ),
    Setting(
        "DECLINED_CARD_SUFFIXES",
        ["0002"],
        "The fake payment gateway declines cards whose number ends in one of these.",
        parse=parse_list,
    ),
    Setting("GITLAB_COM_URL", "http://127.0.0.1:5030", "Where GitLab.com answers."),
    Setting(
        "GITLAB_COM_PUBLIC_KEYS",
        None,
        "GitLab.com's public keys to pin (its answers to provisioning pushes): a path to a JWKS "
        "or PEM file, or the key text itself.",
    ),
    Setting(
        "GITLAB_COM_TRANSPORT",
        "http",
        "'http' (real network) or 'inprocess' (tests, scenarios) for pushes to GitLab.com.",
    ),
    Setting("GITLAB_COM_TIMEOUT_SECONDS", 10.0, "Timeout of each push to GitLab.com.", parse=float),
    Setting(
        "GITLAB_COM_CLIENT_ID",
        None,
        "The portal's OAuth application on GitLab.com (its Application ID): customers link their "
        "GitLab.com account with it.",
    ),
    Setting(
        "GITLAB_COM_CLIENT_SECRET",
        None,
        "The secret of the portal's OAuth application on GitLab.com.",
        secret=True,
    ),
]
