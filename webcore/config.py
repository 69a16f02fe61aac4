"""Configuration: declared settings, read from defaults, then a TOML file, then the environment.

Each app declares its settings once (name, default, parser, whether secret, help). The environment
is read when an app is created, never at import time. Unknown keys in the file or in the
environment (under the app's prefix) are warned about, since a typo there otherwise fails silently.
"""

from __future__ import annotations

import logging
import os
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)


class ConfigError(Exception):
    """A setting is missing or cannot be parsed."""


def parse_bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"expected a boolean, got {value!r}")


def parse_list(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def parse_choice(*choices: str) -> Callable[[str], str]:
    """A parser accepting exactly one of ``choices`` (case-insensitive)."""

    def parse(value: str) -> str:
        lowered = value.strip().lower()
        if lowered not in choices:
            raise ValueError(f"expected one of {', '.join(choices)}, got {value!r}")
        return lowered

    return parse


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str
    parse: Callable[[str], Any] = str
    secret: bool = False
    required: bool = False


def load_config(
    prefix: str,
    settings: Sequence[Setting],
    *,
    environ: Mapping[str, str],
    overrides: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Return the effective configuration: defaults < file < environment < overrides.

    The file is named by ``{prefix}_CONFIG_FILE`` (in the environment or the overrides); its keys are
    the setting names without the prefix. Environment variables are ``{prefix}_{NAME}``.
    """
    known = {setting.name: setting for setting in settings}
    values: dict[str, Any] = {setting.name: setting.default for setting in settings}
    overrides = dict(overrides or {})

    config_file = overrides.get("CONFIG_FILE") or environ.get(f"{prefix}_CONFIG_FILE")
    if config_file:
        values.update(_read_file(str(config_file), known))

    env_prefix = f"{prefix}_"
    for key, raw in environ.items():
        if not key.startswith(env_prefix) or key == f"{prefix}_CONFIG_FILE":
            continue
        name = key[len(env_prefix) :]
        setting = known.get(name)
        if setting is None:
            log.warning("unknown setting %s in the environment (ignored)", key)
            continue
        try:
            values[name] = setting.parse(raw)
        except ValueError as exc:
            raise ConfigError(f"{key}: {exc}") from None

    for name, value in overrides.items():
        if name != "CONFIG_FILE" and name not in known:
            # Flask's own keys (TESTING, WTF_CSRF_ENABLED, ...) may be passed by tests.
            log.debug("override %s is not a declared setting", name)
        values[name] = value

    missing = [s.name for s in settings if s.required and values.get(s.name) in (None, "")]
    if missing:
        raise ConfigError(
            "missing required settings: " + ", ".join(f"{env_prefix}{name}" for name in missing)
        )
    return values


def _read_file(path: str, known: Mapping[str, Setting]) -> dict[str, Any]:
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(f"cannot read configuration file {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"configuration file {path} is not valid TOML: {exc}") from None
    values: dict[str, Any] = {}
    for name, value in data.items():
        setting = known.get(name.upper())
        if setting is None:
            log.warning("unknown setting %s in %s (ignored)", name, path)
            continue
        try:
            values[setting.name] = setting.parse(value) if isinstance(value, str) else value
        except ValueError as exc:
            raise ConfigError(f"{name} in {path}: {exc}") from None
    return values


def describe(settings: Sequence[Setting], prefix: str) -> list[tuple[str, str, str]]:
    """Rows of (environment variable, default, help) for documentation."""
    return [
        (f"{prefix}_{s.name}", "(secret)" if s.secret else repr(s.default), s.help)
        for s in settings
    ]


def environ_snapshot() -> dict[str, str]:
    """The process environment, read at app creation (never at import)."""
    return dict(os.environ)
