"""The push's consumables (R6): compute-minute packs and purchased storage, optional and sent
only when the group has some, so a GitLab.com of the earlier version reads the same message."""

from __future__ import annotations

from datetime import date

import pytest

from protocol import LocalProtocolError, Plan, RemoteProtocolError
from protocol.provisioning import ComputeMinutesPack, MainPlan, NamespaceProvision

PREMIUM = MainPlan(Plan.PREMIUM, date(2026, 3, 1), date(2027, 3, 1), 10)
PACK = ComputeMinutesPack(1000, date(2027, 3, 1), "A-S00000001-7")


def test_packs_and_storage_round_trip_with_gitlab_field_names_r6() -> None:
    provision = NamespaceProvision(42, PREMIUM, (), (PACK,), 10240, date(2027, 3, 1))
    data = provision.to_dict()
    assert data["compute_minutes_packs"] == [
        {"number_of_minutes": 1000, "expires_at": "2027-03-01", "purchase_xid": "A-S00000001-7"}
    ]
    assert data["additional_purchased_storage_size"] == 10240
    assert data["additional_purchased_storage_ends_on"] == "2027-03-01"
    assert NamespaceProvision.from_dict(data) == provision


def test_without_consumables_the_message_is_the_earlier_one_both_ways_r6() -> None:
    data = NamespaceProvision(42, PREMIUM).to_dict()
    assert set(data) == {"namespace_id", "main_plan", "add_on_purchases"}
    parsed = NamespaceProvision.from_dict(data)
    assert parsed.compute_minutes_packs == () and parsed.additional_purchased_storage_size == 0
    with pytest.raises(RemoteProtocolError):
        NamespaceProvision.from_dict({**data, "extra_shared_runners_minutes_limit": 5})


def test_bad_consumables_are_refused_locally_and_remotely_r6() -> None:
    with pytest.raises(LocalProtocolError, match="each pack once"):
        NamespaceProvision(42, PREMIUM, (), (PACK, PACK))
    with pytest.raises(LocalProtocolError, match="end date"):
        NamespaceProvision(42, PREMIUM, (), (), 10240, None)
    with pytest.raises(LocalProtocolError):
        ComputeMinutesPack(0, date(2027, 3, 1), "x")
    data = NamespaceProvision(42, PREMIUM, (), (PACK,)).to_dict()
    data["compute_minutes_packs"][0]["number_of_minutes"] = -5
    with pytest.raises(RemoteProtocolError, match="number_of_minutes"):
        NamespaceProvision.from_dict(data)
    data = NamespaceProvision(42, PREMIUM, (), (), 10240, date(2027, 3, 1)).to_dict()
    data["additional_purchased_storage_ends_on"] = "tomorrow"
    with pytest.raises(RemoteProtocolError):
        NamespaceProvision.from_dict(data)
