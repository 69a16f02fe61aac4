"""``provlab up`` as people run it: a real process, two real servers, a banner, Ctrl-C.

The simulated pair is then driven with ``provlab clock`` (another real process), like a user would.
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
PROVLAB = str(Path(sys.executable).parent / "provlab")
START = "2026-03-02T00:00:00Z"

pytestmark = pytest.mark.e2e


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def clean_environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("PORTAL_", "INSTANCE_"))}


@dataclass
class Up:
    process: subprocess.Popen[str]
    banner: str
    portal_port: int
    instance_port: int
    var: Path


def _read_banner(process: subprocess.Popen[str], timeout: float = 120) -> str:
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, name=f"provlab-up-{process.pid}", daemon=True).start()
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=1)
        except queue.Empty:
            continue
        if line is None:
            break
        seen.append(line)
        if "Press Ctrl-C" in line:
            return "".join(seen)
    raise AssertionError("provlab up printed no banner:\n" + "".join(seen))


def _start(
    tmp_path: Path, *extra: str, instance_port: int | None = None, timeout: float = 120
) -> Up:
    """`provlab up` with ``extra`` options, once its banner is printed (``instance_port``: the
    first instance's port, else a free one)."""
    portal_port, instance_port = free_port(), instance_port or free_port()
    var = tmp_path / "var"
    process = subprocess.Popen(
        [
            PROVLAB,
            "up",
            *extra,
            "--portal-port",
            str(portal_port),
            "--instance-port",
            str(instance_port),
            # GitLab.com on a free port too: never the default one another run may hold.
            "--gitlab-com-port",
            str(free_port()),
            "--var",
            str(var),
        ],
        cwd=ROOT,
        env=clean_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        banner = _read_banner(process, timeout)
    except BaseException:
        process.kill()
        process.wait()
        _close(process)
        raise
    return Up(process, banner, portal_port, instance_port, var)


def _stop_with_ctrl_c(up: Up) -> int:
    up.process.send_signal(signal.SIGINT)
    try:
        return up.process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        up.process.kill()
        up.process.wait()
        raise
    finally:
        _close(up.process)


def _close(process: subprocess.Popen[str]) -> None:
    # The banner reader ends at end of file, once the process has exited.
    for thread in threading.enumerate():
        if thread.name == f"provlab-up-{process.pid}":
            thread.join(10)
    if process.stdout is not None:
        process.stdout.close()


def running_up(tmp_path: Path, *extra: str, **start: Any) -> Iterator[Up]:
    """`provlab up` (as ``_start``) for a fixture: stopped with Ctrl-C at the end unless the
    test stopped it."""
    up = _start(tmp_path, *extra, **start)
    yield up
    if up.process.poll() is None:
        _stop_with_ctrl_c(up)


def provlab_json(var: Path, *args: str, timeout: float = 300) -> Any:
    """What ``provlab ARGS --var VAR --json`` prints, parsed; it must succeed."""
    result = subprocess.run(
        [PROVLAB, *args, "--var", str(var), "--json"],
        cwd=ROOT,
        env=clean_environment(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def simulated_up(tmp_path: Path) -> Iterator[Up]:
    yield from running_up(tmp_path, "--simulated-time", START)


def _session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    return session


def _clock(var: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PROVLAB, "clock", *args, "--var", str(var)],
        cwd=ROOT,
        env=clean_environment(),
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_provlab_up_on_simulated_time_prints_the_banner_serves_both_apps_moves_clocks_and_stops_on_ctrl_c(
    simulated_up: Up,
) -> None:
    up = simulated_up
    portal_url = f"http://127.0.0.1:{up.portal_port}"
    instance_url = f"http://127.0.0.1:{up.instance_port}"

    # The banner: both URLs, the demo sign-in details, an administrator's token.
    assert f"on simulated time from {START}" in up.banner
    assert portal_url in up.banner and instance_url in up.banner
    assert re.search(r"customer\s+\S+@\S+ / \S+", up.banner)
    assert re.search(r"support\s+\S+@\S+ / \S+", up.banner)
    assert re.search(r"admin\s+root / \S+", up.banner)
    token = re.search(r"personal access token \(api\): (glpat-[A-Za-z0-9_-]{20,})", up.banner)
    assert token, up.banner

    # What `provlab clock` needs (URLs, the simulation token) is readable by its owner only.
    state = up.var / "provlab-up.json"
    assert state.stat().st_mode & 0o077 == 0
    assert json.loads(state.read_text())["simulation_token"]

    session = _session()
    for url, name in ((portal_url, "portal"), (instance_url, "instance")):
        health = session.get(f"{url}/-/health", timeout=10)
        assert health.status_code == 200
        assert health.json()["app"] == name and health.json()["clock"] == "simulated"
        assert health.json()["now"] == START

    advanced = _clock(up.var, "advance", "2d", "--json")
    assert advanced.returncode == 0, advanced.stderr
    journey = json.loads(advanced.stdout)
    assert journey["from"] == START and journey["to"] == "2026-03-04T00:00:00Z"
    ran_at = [run["ran_at"] for run in journey["ran"]]
    assert ran_at == sorted(ran_at) and len(ran_at) >= 4
    names = {(run["app"], run["name"]) for run in journey["ran"]}
    assert ("portal", "prune_nonces") in names and ("instance", "daily_sync") in names

    shown = _clock(up.var, "show", "--json")
    assert shown.returncode == 0, shown.stderr
    clocks = json.loads(shown.stdout)
    assert clocks["portal"]["now"] == clocks["instance"]["now"] == "2026-03-04T00:00:00Z"
    assert session.get(f"{portal_url}/-/health", timeout=10).json()["now"] == "2026-03-04T00:00:00Z"

    # The clocks never move backwards.
    back = _clock(up.var, "set", "2026-03-03T00:00:00Z")
    assert back.returncode == 1 and "back in time" in back.stderr

    assert _stop_with_ctrl_c(up) == 0
    assert not port_open(up.portal_port) and not port_open(up.instance_port)
    assert not (up.var / "provlab-up.json").exists()


def test_provlab_up_on_real_time_serves_both_apps_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    up = _start(tmp_path)
    try:
        assert "on real time" in up.banner
        session = _session()
        for port in (up.portal_port, up.instance_port):
            health = session.get(f"http://127.0.0.1:{port}/-/health", timeout=10)
            assert health.status_code == 200 and health.json()["clock"] == "real"
        refused = _clock(up.var, "show")
        assert refused.returncode == 1 and "real time" in refused.stderr
        # Databases (with -wal, -shm), logs, keys, the state file: owner only; folders 0700.
        found = {p.relative_to(up.var).as_posix() for p in up.var.rglob("*")}
        assert {"logs/portal.log", "portal/portal.db", "instance/instance.db-wal"} <= found
        for path in [up.var, *up.var.rglob("*")]:
            if path.name == "public_keys.json":
                continue  # public by nature (and inside a 0700 folder)
            assert path.stat().st_mode & 0o077 == 0, (path, oct(path.stat().st_mode))
    finally:
        code = _stop_with_ctrl_c(up) if up.process.poll() is None else up.process.returncode
    assert code == 0
    assert not port_open(up.portal_port) and not port_open(up.instance_port)


def test_provlab_up_refuses_a_port_already_in_use(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [
                PROVLAB,
                "up",
                "--portal-port",
                str(port),
                "--instance-port",
                str(free_port()),
                "--gitlab-com-port",
                str(free_port()),
                "--var",
                str(tmp_path / "var"),
            ],
            cwd=ROOT,
            env=clean_environment(),
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode == 1
    assert f"port {port} on 127.0.0.1 is already in use" in result.stderr
    assert not (tmp_path / "var" / "provlab-up.json").exists()


def test_provlab_up_stops_the_other_server_and_fails_when_one_dies(tmp_path: Path) -> None:
    up = _start(tmp_path)
    state = json.loads((up.var / "provlab-up.json").read_text())
    os.kill(state["portal_pid"], signal.SIGKILL)
    try:
        code = up.process.wait(timeout=60)
    finally:
        if up.process.poll() is None:
            up.process.kill()
            up.process.wait()
        _close(up.process)
    assert code == 1
    assert not port_open(up.instance_port)
