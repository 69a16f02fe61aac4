"""A purchase is placed once: idempotency keys on summary and order forms (and the CLI).

Each *Purchase summary*, *Add seats* summary and sales order form carries a key made when it is
rendered; the order stores it (unique per subscription). A second submission with that key (a
retry, a second tab, a double click) gets the first order back: nothing is created or charged
again. The order row claims the key before the card is charged (``portal.purchases``), so even two
submissions racing past every check charge once: the loser's insert fails on the unique key before
its charge, and it answers with the winner's order.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable

from sqlalchemy.exc import IntegrityError

from portal.errors import Refused
from portal.models import Order, OrderKind, Subscription, db
from portal.subscriptions import lock

FORM_FIELD = "idempotency_key"
_KEY = re.compile(r"[A-Za-z0-9_.:-]{1,64}")


def new_idempotency_key() -> str:
    """The key a rendered summary or order form carries (unguessable: another tab's key is no
    handle on someone else's order)."""
    return secrets.token_urlsafe(24)


def idempotency_key(raw: str | None) -> str | None:
    """A submitted key, or None when none was sent (the order is then simply placed)."""
    if raw is None or raw == "":
        return None
    if not _KEY.fullmatch(raw):
        raise Refused("The idempotency key must be 1 to 64 letters, digits, '-', '_', '.' or ':'.")
    return raw


def replayed(subscription: Subscription, key: str | None, kind: str) -> Order | None:
    """The order an earlier submission with ``key`` placed on this subscription, if any."""
    if key is None:
        return None
    earlier = db.find(Order, Order.subscription_id == subscription.id, Order.idempotency_key == key)
    if earlier is not None and earlier.kind != kind:
        raise Refused(
            f"This form was already used for order #{earlier.id} "
            f"({OrderKind.LABELS[earlier.kind]}): reload the page to place another order."
        )
    return earlier


def place_once(
    subscription: Subscription,
    key: str | None,
    kind: str,
    place: Callable[[str | None], Order],
) -> Order:
    """``place(key)`` unless an order with ``key`` exists on the subscription: then that order.

    Looked up under the subscription's lock, so a submission that waited for another one sees
    its order. Should two still both pass the look-up, the order's unique key stops the second
    before it charges (``place`` records the order before charging): its savepoint is rolled
    back and the first order answers.
    """
    if key is None:
        return place(None)
    lock(subscription)
    earlier = replayed(subscription, key, kind)
    if earlier is not None:
        return earlier
    try:
        with db.session.begin_nested():
            return place(key)
    except IntegrityError:
        earlier = replayed(subscription, key, kind)
        if earlier is None:
            raise
        return earlier
