"""GitLab.com's store of the portal's push nonces: each accepted once in its freshness window
(``webcore.nonces``)."""

from __future__ import annotations

from instance.models import db
from instance.namespace_models import ReceivedNonce
from webcore.nonces import NonceTable

received_nonces = NonceTable(ReceivedNonce.__table__, db)
