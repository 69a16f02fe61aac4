"""The portal's nonce store: a nonce of an instance's or GitLab.com's signed request is accepted
once, within its freshness window (``webcore.nonces``)."""

from __future__ import annotations

from portal.models import SeenNonce, db
from webcore.nonces import NonceTable

seen_nonces = NonceTable(SeenNonce.__table__, db)
