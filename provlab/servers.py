"""Starting the portal and the instance as two real servers on loopback, wired together.

The portal is prepared first (database, signing key), so the instance can be started pinning the
portal's public keys. What a running pair looks like (URLs, simulation token) is kept in a state
file readable only by its owner, for ``provlab clock`` and ``provlab fault`` to find.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import requests

from webcore.keys import write_public_keys
from webcore.private_files import make_private_folder, open_private_log

STATE_FILE = "provlab-up.json"


@dataclass(frozen=True)
class RunningPair:
    portal_url: str
    instance_url: str
    simulated: bool
    simulation_token: str | None
    portal_pid: int
    instance_pid: int
    instance_skew_seconds: float = 0.0  # `provlab fault skew`: the instance's clock runs ahead
    # `provlab up --instances N`: the URLs of the instances after the first (`instance_url`).
    fleet_urls: list[str] = field(default_factory=list)
    # GitLab.com, the third party (the instance app in GitLab.com mode); None: not started.
    gitlab_com_url: str | None = None
    gitlab_com_pid: int | None = None

    def save(self, var: Path) -> None:
        path = var / STATE_FILE
        make_private_folder(path.parent)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(asdict(self), handle, indent=2)

    @classmethod
    def load(cls, var: Path) -> RunningPair:
        path = var / STATE_FILE
        try:
            data: dict[str, Any] = json.loads(path.read_text())
        except FileNotFoundError:
            raise LookupError(
                f"no running pair found ({path} is missing): start one with `provlab up`"
            ) from None
        return cls(**data)


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex((host, port)) == 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PairConfig:
    var: Path
    portal_port: int
    instance_port: int
    simulated_start: str | None  # None: real time
    extra_env: dict[str, str]

    @property
    def portal_url(self) -> str:
        return f"http://127.0.0.1:{self.portal_port}"

    @property
    def instance_url(self) -> str:
        return f"http://127.0.0.1:{self.instance_port}"


def environments(config: PairConfig, token: str | None) -> tuple[dict[str, str], dict[str, str]]:
    """The environment of each server process."""
    base = {**os.environ, **config.extra_env}
    portal = {
        **base,
        "PORTAL_INSTANCE_PATH": str(config.var / "portal"),
        "PORTAL_BASE_URL": config.portal_url,
        "PORTAL_RUN_WORKER": "true",
    }
    instance = {
        **base,
        "INSTANCE_INSTANCE_PATH": str(config.var / "instance"),
        "INSTANCE_PORTAL_URL": config.portal_url,
        "INSTANCE_PORTAL_PUBLIC_KEYS": str(config.var / "portal" / "public_keys.json"),
        "INSTANCE_RUN_WORKER": "true",
    }
    for env, prefix in ((portal, "PORTAL"), (instance, "INSTANCE")):
        # The token guards the simulation endpoints and `provlab fault`'s switch.
        env[f"{prefix}_SIMULATION_TOKEN"] = token or ""
        if config.simulated_start is not None:
            env[f"{prefix}_CLOCK"] = "simulated"
            env[f"{prefix}_SIMULATED_START"] = config.simulated_start
    return portal, instance


def gitlab_com_environment(
    var: Path, instance_env: dict[str, str], port: int, portal_env: dict[str, str]
) -> dict[str, str]:
    """GitLab.com's environment (the instance app in GitLab.com mode, folder ``VAR/gitlab_com``,
    pinning the portal's keys as the instance does); the portal's is told where GitLab.com
    answers and which key it pins (``VAR/gitlab_com/public_keys.json``, written at seeding)."""
    portal_env["PORTAL_GITLAB_COM_URL"] = f"http://127.0.0.1:{port}"
    portal_env["PORTAL_GITLAB_COM_PUBLIC_KEYS"] = str(var / "gitlab_com" / "public_keys.json")
    # The portal's OAuth application on GitLab.com: registered there at seeding with these.
    portal_env.setdefault("PORTAL_GITLAB_COM_CLIENT_ID", "customers-portal")
    portal_env.setdefault("PORTAL_GITLAB_COM_CLIENT_SECRET", "gloas-" + secrets.token_hex(32))
    return {
        **instance_env,
        "INSTANCE_INSTANCE_PATH": str(var / "gitlab_com"),
        "INSTANCE_GITLAB_COM": "true",
        "INSTANCE_HOSTNAME": "gitlab.com.example.test",
    }


def publish_portal_keys(config: PairConfig, portal_env: dict[str, str]) -> None:
    """Prepare the portal's files in this process and write the public keys the instance pins."""
    from portal import create_app
    from portal.keys import published_keys
    from portal.setup import prepare

    app = create_app(environ=portal_env)
    prepare(app)
    write_public_keys(config.var / "portal" / "public_keys.json", published_keys(app))
    with app.app_context():
        from portal.models import db

        db.engine.dispose()


def start_server(
    app_name: str, port: int, env: dict[str, str], log_path: Path
) -> subprocess.Popen[bytes]:
    log_file = open_private_log(log_path)  # handed to the child, closed with it
    return subprocess.Popen(
        [sys.executable, "-m", "provlab.serve", app_name, "--port", str(port)],
        env=env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # Ctrl-C is handled here, then the children are stopped in order
    )


def wait_healthy(url: str, process: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    session = requests.Session()
    session.trust_env = False
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server for {url} exited with code {process.returncode}")
        try:
            if session.get(f"{url}/-/health", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not become healthy within {timeout:.0f}s")


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def new_simulation_token() -> str:
    return secrets.token_urlsafe(24)
