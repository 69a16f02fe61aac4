"""The self-managed instance's settings (environment prefix ``INSTANCE_``)."""

from __future__ import annotations

from webcore.app import common_settings
from webcore.config import Setting, parse_bool

PREFIX = "INSTANCE"

SETTINGS: list[Setting] = [
    *common_settings("instance"),
    Setting("PORTAL_URL", "http://127.0.0.1:5010", "Where the Customers Portal answers."),
    Setting(
        "PORTAL_PUBLIC_KEYS",
        None,
        "The portal's public keys to pin: a path to a JWKS or PEM file, or the key text itself.",
    ),
    Setting(
        "PORTAL_TRANSPORT",
        "http",
        "'http' (real network, honouring HTTP(S)_PROXY/NO_PROXY) or 'inprocess' (tests).",
    ),
    Setting("PORTAL_TIMEOUT_SECONDS", 10.0, "Timeout of each call to the portal.", parse=float),
    Setting(
        "KEY_FILE",
        None,
        "PEM file of the instance's own key; default keys/instance.pem in the instance path.",
    ),
    Setting(
        "GITLAB_VERSION", "17.5.0-ee", "The GitLab version this instance reports and enforces."
    ),
    Setting("HOSTNAME", "gitlab.example.test", "The hostname the instance reports."),
    Setting(
        "GITLAB_COM",
        False,
        "Run as GitLab.com (groups, subscriptions pushed by the portal) instead of self-managed.",
        parse=parse_bool,
    ),
]
