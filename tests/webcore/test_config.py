"""Configuration: defaults < TOML file < environment < overrides; loud about typos and bad values."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from webcore.config import ConfigError, Setting, load_config

SETTINGS = [
    Setting("NAME", "from-default", "A string."),
    Setting("PORT", 1000, "An integer.", parse=int),
    Setting("LEVEL", "default-level", "Another string."),
    Setting("MODE", "default-mode", "A third string."),
]


def _write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text))
    return path


def test_each_layer_overrides_the_one_below_defaults_file_environment_overrides(
    tmp_path: Path,
) -> None:
    config_file = _write(
        tmp_path / "portal.toml",
        """
        name = "from-file"
        port = 2000
        level = "from-file"
        """,
    )
    environ = {
        "PORTAL_CONFIG_FILE": str(config_file),
        "PORTAL_PORT": "3000",
        "PORTAL_LEVEL": "from-environment",
    }

    values = load_config("PORTAL", SETTINGS, environ=environ, overrides={"LEVEL": "from-override"})

    assert values["MODE"] == "default-mode"
    assert values["NAME"] == "from-file"
    assert values["PORT"] == 3000
    assert values["LEVEL"] == "from-override"


def test_file_named_in_overrides_is_read_and_its_strings_are_parsed(tmp_path: Path) -> None:
    config_file = _write(tmp_path / "c.toml", 'port = "4000"\n')
    values = load_config(
        "PORTAL", SETTINGS, environ={}, overrides={"CONFIG_FILE": str(config_file)}
    )
    assert values["PORT"] == 4000


def test_unknown_keys_in_the_file_and_the_environment_are_warned_about(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config_file = _write(tmp_path / "c.toml", 'naem = "typo"\n')
    environ = {"PORTAL_CONFIG_FILE": str(config_file), "PORTAL_PROT": "1", "OTHER_THING": "x"}

    with caplog.at_level(logging.WARNING, logger="webcore.config"):
        values = load_config("PORTAL", SETTINGS, environ=environ)

    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("naem" in m for m in messages), messages
    assert any("PORTAL_PROT" in m for m in messages), messages
    assert not any("OTHER_THING" in m for m in messages)
    assert values["NAME"] == "from-default" and values["PORT"] == 1000


def test_unparseable_environment_value_is_a_config_error_naming_the_variable() -> None:
    with pytest.raises(ConfigError, match="PORTAL_PORT"):
        load_config("PORTAL", SETTINGS, environ={"PORTAL_PORT": "many"})


def test_unparseable_file_value_is_a_config_error_naming_the_key_and_file(tmp_path: Path) -> None:
    config_file = _write(tmp_path / "bad.toml", 'port = "many"\n')
    with pytest.raises(ConfigError, match=r"port in .*bad\.toml"):
        load_config("PORTAL", SETTINGS, environ={"PORTAL_CONFIG_FILE": str(config_file)})


def test_unreadable_or_invalid_toml_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config("PORTAL", SETTINGS, environ={"PORTAL_CONFIG_FILE": str(tmp_path / "nope.toml")})
    broken = _write(tmp_path / "broken.toml", "port = = 1\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config("PORTAL", SETTINGS, environ={"PORTAL_CONFIG_FILE": str(broken)})


def test_missing_required_setting_is_a_config_error_naming_the_variable() -> None:
    settings = [*SETTINGS, Setting("API_KEY", None, "Required.", required=True)]
    with pytest.raises(ConfigError, match="PORTAL_API_KEY"):
        load_config("PORTAL", settings, environ={})
    assert load_config("PORTAL", settings, environ={"PORTAL_API_KEY": "k"})["API_KEY"] == "k"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("PORTAL_CLOCK", "sometimes"),
        ("PORTAL_SIMULATED_START", "next tuesday"),
        ("PORTAL_LOG_LEVEL", "LOUD"),
        ("PORTAL_RUN_WORKER", "perhaps"),
        ("PORTAL_FRESHNESS_WINDOW_SECONDS", "five"),
    ],
)
def test_app_refuses_a_bad_setting_with_a_config_error_naming_it(
    tmp_path: Path, variable: str, value: str
) -> None:
    from portal import create_app

    with pytest.raises(ConfigError, match=variable):
        create_app({"INSTANCE_PATH": str(tmp_path)}, environ={variable: value})


def test_instance_app_reads_its_own_prefix_only(tmp_path: Path) -> None:
    from instance import create_app

    app = create_app(
        {"INSTANCE_PATH": str(tmp_path)},
        environ={"INSTANCE_HOSTNAME": "gitlab.acme.test", "PORTAL_HOSTNAME": "ignored"},
    )
    assert app.config["HOSTNAME"] == "gitlab.acme.test"


def test_app_reads_the_process_environment_when_created_not_when_imported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import portal
    import portal.settings  # noqa: F401 - imported before the variable exists

    monkeypatch.setenv("PORTAL_BASE_URL", "https://customers.example.test")
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(tmp_path / "portal"))
    app = portal.create_app()
    assert app.config["BASE_URL"] == "https://customers.example.test"
    assert Path(app.instance_path) == tmp_path / "portal"


def test_importing_the_apps_reads_no_app_setting_from_the_environment() -> None:
    # A fresh interpreter whose os.environ records every read of a PORTAL_/INSTANCE_ key (and any
    # full scan of the environment) while the apps and the CLI are imported.
    probe = textwrap.dedent(
        """
        import json, os

        reads = []

        class Recording(type(os.environ)):
            def __getitem__(self, key):
                if str(key).startswith(("PORTAL_", "INSTANCE_")):
                    reads.append(key)
                return super().__getitem__(key)

            def __iter__(self):
                reads.append("<scan>")
                return super().__iter__()

        env = os.environ
        os.environ = Recording(env._data, env.encodekey, env.decodekey, env.encodevalue,
                               env.decodevalue)
        os.environ["PORTAL_BASE_URL"] = "https://x.test"
        reads.clear()
        import webcore.app, webcore.config, portal, portal.settings, portal.models, portal.jobs
        import instance, instance.settings, instance.models, instance.jobs, provlab.cli
        print(json.dumps(reads))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []


def test_app_reads_its_toml_file_then_the_environment_then_the_factory_config(
    tmp_path: Path,
) -> None:
    from portal import create_app

    config_file = _write(
        tmp_path / "portal.toml",
        f"""
        instance_path = "{tmp_path / "from-file"}"
        base_url = "https://file.example.test"
        freshness_window_seconds = 120
        log_level = "debug"
        """,
    )
    app = create_app(
        {"FRESHNESS_WINDOW_SECONDS": 30},
        environ={
            "PORTAL_CONFIG_FILE": str(config_file),
            "PORTAL_BASE_URL": "https://env.example.test",
        },
    )
    assert app.instance_path == str(tmp_path / "from-file")
    assert app.config["BASE_URL"] == "https://env.example.test"
    assert app.config["FRESHNESS_WINDOW_SECONDS"] == 30
    assert app.config["LOG_LEVEL"] == "DEBUG"
    assert app.config["CLOCK"] == "real"  # the default
