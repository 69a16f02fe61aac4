"""``provlab up --instances N`` as people run it: one portal, N real instance servers, each with
its own database and key, each activated at start on a subscription of its own (R8); one
subscription's code tried on a second instance is refused; ``provlab clock`` moves every clock,
so each instance's daily sync reaches the portal (R13)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.e2e.test_provlab_up import (
    START,
    Up,
    _clock,
    _stop_with_ctrl_c,
    free_port,
    port_open,
    provlab_json,
    running_up,
)

pytestmark = pytest.mark.e2e

FLEET = 2
CODE_IN_USE = "This activation code is already in use by another instance"


def _free_ports(count: int) -> int:
    """The first of ``count`` consecutive free ports (the fleet's instances take them in turn)."""
    for _ in range(50):
        first = free_port()
        if first + count < 65536 and not any(port_open(first + n) for n in range(count)):
            return first
    raise AssertionError(f"no {count} consecutive free ports")


@pytest.fixture
def fleet_up(tmp_path: Path) -> Iterator[Up]:
    yield from running_up(
        tmp_path,
        "--instances",
        str(FLEET),
        "--simulated-time",
        START,
        instance_port=_free_ports(FLEET),
        timeout=180,
    )


def _portal(var: Path, *args: str) -> dict[str, object]:
    data: dict[str, object] = provlab_json(var, "portal", *args, timeout=120)
    return data


def _activate(instance_url: str, token: str, code: str) -> dict[str, object]:
    session = requests.Session()
    session.trust_env = False
    mutation = (
        'mutation { gitlabSubscriptionActivate(input: {activationCode: "CODE"}) '
        "{ errors license { type } } }"
    ).replace("CODE", code)
    response = session.post(
        f"{instance_url}/api/graphql",
        json={"query": mutation},
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    result: dict[str, object] = response.json()["data"]["gitlabSubscriptionActivate"]
    return result


def test_a_fleet_of_instances_each_activated_on_its_own_subscription_and_a_code_used_twice_is_refused(
    fleet_up: Up,
) -> None:
    """R8: each instance of the fleet is activated with its own subscription's code; the code of
    a subscription bound to one instance is refused on another, and changes nothing. R13: a day
    later every instance has synced."""
    up = fleet_up
    urls = re.findall(r"Instance \d+\s+(http://127\.0\.0\.1:\d+)", up.banner)
    assert urls == [f"http://127.0.0.1:{up.instance_port + n}" for n in range(FLEET)], up.banner
    names = re.findall(r"activated on subscription (\S+)", up.banner)
    assert len(set(names)) == FLEET and "NOT activated" not in up.banner, up.banner
    instances_part = up.banner.split("GitLab.com")[0]  # GitLab.com's administrator follows
    tokens = re.findall(
        r"personal access token \(api\): (glpat-[A-Za-z0-9_-]{20,})", instances_part
    )
    assert len(tokens) == FLEET

    # Each its own folder (database and key) and its own identity at the portal.
    for number in range(1, FLEET + 1):
        folder = up.var / ("instance" if number == 1 else f"instance-{number}")
        assert (folder / "keys" / "instance.pem").exists()
    activations = [_portal(up.var, "show", name)["activation"] for name in names]
    assert [a["hostname"] for a in activations] == [  # type: ignore[index]
        f"gitlab-{n}.example.test" for n in range(1, FLEET + 1)
    ]
    assert len({a["instance_id"] for a in activations}) == FLEET  # type: ignore[index]

    # Instance 2 tries instance 1's code: refused by the portal, shown to its admin.
    code = _portal(up.var, "activation-code", names[0])["activation_code"]
    refused = _activate(urls[1], tokens[1], str(code))
    assert refused == {"errors": [CODE_IN_USE], "license": None}
    after = [_portal(up.var, "show", name)["activation"] for name in names]
    assert after[0]["instance_id"] == activations[0]["instance_id"]  # type: ignore[index]
    assert after[1]["instance_id"] == activations[1]["instance_id"]  # type: ignore[index]

    # A simulated day: every instance's clock moves, and each one's daily sync lands.
    moved = _clock(up.var, "advance", "1d")
    assert moved.returncode == 0, moved.stdout + moved.stderr
    synced = [_portal(up.var, "show", name)["activation"] for name in names]
    # Activated at START (00:00 UTC); each syncs in its own slot, 03:00-04:59 UTC.
    slot_opens = dt.datetime.fromisoformat(START.replace("Z", "+00:00")) + dt.timedelta(hours=3)
    for activation in synced:
        last_sync = dt.datetime.fromisoformat(str(activation["last_sync_at"]))  # type: ignore[index]
        assert slot_opens <= last_sync.replace(tzinfo=last_sync.tzinfo or dt.UTC), synced

    assert _stop_with_ctrl_c(up) == 0
    assert not any(port_open(up.instance_port + n) for n in range(FLEET))
    assert not port_open(up.portal_port)
