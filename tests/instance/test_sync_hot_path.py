"""What the daily sync keeps from one sync to the next (a license token it verified) never
lets through what verifying afresh would refuse."""

from __future__ import annotations

import pytest

from instance.portal_client import INVALID_ANSWER
from instance.sync import SyncFailed, _verified_license
from protocol.license import sign_license
from protocol.signing import KeySet, SigningKey
from tests.protocol.factories import SAMPLE_LICENSE


def test_a_license_verified_under_one_pinned_key_is_refused_under_keys_without_it() -> None:
    portal, other = SigningKey.generate(), SigningKey.generate()
    token = sign_license(SAMPLE_LICENSE, portal)
    instance_id = SAMPLE_LICENSE.instance_id
    assert instance_id is not None
    pinned = KeySet((portal.verifying_key(),))
    assert _verified_license(token, instance_id, pinned) == SAMPLE_LICENSE
    # The same token again, now that the instance pins another key only (the portal's was
    # dropped): verified again, and refused.
    with pytest.raises(SyncFailed) as refused:
        _verified_license(token, instance_id, KeySet((other.verifying_key(),)))
    assert refused.value.code == INVALID_ANSWER
    # A token verified once still has to be this instance's.
    with pytest.raises(SyncFailed):
        _verified_license(token, "another-instance", pinned)
