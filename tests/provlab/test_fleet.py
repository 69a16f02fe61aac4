"""The fleet's subscriptions on the portal, and a lightweight fleet instance speaking the real
protocol to a real portal server (R8, R13)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask

from instance.portal_client import PortalError
from portal.keys import published_keys
from provlab.fleet import FleetInstance, create_fleet_subscriptions
from provlab.liveserver import LiveServer
from webcore.clock import app_clock


def test_fleet_subscriptions_are_found_again_when_the_fleet_starts_again(portal_app: Flask) -> None:
    first = create_fleet_subscriptions(portal_app, 2)
    again = create_fleet_subscriptions(portal_app, 3)
    assert again[:2] == first
    assert len({s.name for s in again}) == 3 and len({s.activation_code for s in again}) == 3


def test_r8_fleet_instances_activate_on_their_own_codes_sync_and_a_code_in_use_is_refused(
    make_portal: Callable[..., Flask],
) -> None:
    app = make_portal(clock="real")
    codes = [s.activation_code for s in create_fleet_subscriptions(app, 2)]
    with app.app_context():
        keys = published_keys(app)
    server = LiveServer(app).start()
    try:
        clock = app_clock(app)
        one, two = FleetInstance(1), FleetInstance(2)
        one.activate(server.url, keys, clock, codes[0])
        with pytest.raises(PortalError) as refused:
            two.activate(server.url, keys, clock, codes[0])
        assert refused.value.code == "activation_code_in_use"
        two.activate(server.url, keys, clock, codes[1])
        one.sync(server.url, keys, clock)
        two.sync(server.url, keys, clock)
        assert (one.syncs, two.syncs) == (1, 1)
        assert one.subscription_name != two.subscription_name
    finally:
        server.stop()
