"""The portal's end of GitLab.com's trial calls, signed both ways as the sync is.

``POST /api/v1/namespaces/:id/duo_trials`` (a GitLab Duo Pro trial, R25) with ``{"request":
<NamespaceTrialRequest signed by GitLab.com's key, pinned here as GITLAB_COM_PUBLIC_KEYS>}``, and
``POST /api/v1/namespaces/:id/trials`` (an Ultimate trial for a Free group) with a
``NamespacePlanTrialRequest``; each answers ``200 {"response": <NamespaceProvision signed by the
portal, echoing the nonce>}``, a signed ``ErrorAnswer`` (403) when the group may not have the
trial, or unsigned ``{"error"}`` when the request fails a check.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, current_app
from flask.typing import ResponseReturnValue

from portal.gitlab_com.client import Unreachable, pinned_gitlab_com_keys
from portal.gitlab_com.trials import start_namespace_duo_trial
from portal.gitlab_com.ultimate_trials import start_namespace_ultimate_trial
from portal.keys import signing_key
from portal.nonces import seen_nonces
from protocol.provisioning import (
    NamespacePlanTrialRequest,
    NamespaceProvision,
    NamespaceTrialRequest,
)
from webcore.sealed import answer_namespace_request

log = logging.getLogger("provlab.portal.sync")

blueprint = Blueprint("gitlab_com_trials", __name__, url_prefix="/api/v1/namespaces")


Request = NamespaceTrialRequest | NamespacePlanTrialRequest
Start = Callable[[Any, dt.datetime], NamespaceProvision]


def _answer(namespace_id: int, kind: type[Request], start: Start) -> ResponseReturnValue:
    """``start`` the trial in a savepoint: a refusal (``TrialRefused``, 403) undoes the trial,
    never the nonce."""
    try:
        keys = pinned_gitlab_com_keys(current_app)
    except Unreachable:
        abort(404)  # this portal serves no GitLab.com
    window = dt.timedelta(seconds=int(current_app.config["FRESHNESS_WINDOW_SECONDS"]))
    return answer_namespace_request(
        kind, namespace_id, keys, seen_nonces, window, signing_key(), start, log
    )


@blueprint.post("/<int:namespace_id>/duo_trials")
def duo_trial(namespace_id: int) -> ResponseReturnValue:
    return _answer(namespace_id, NamespaceTrialRequest, start_namespace_duo_trial)


@blueprint.post("/<int:namespace_id>/trials")
def ultimate_trial(namespace_id: int) -> ResponseReturnValue:
    """An Ultimate trial for a Free group (``ultimate_trials``)."""
    return _answer(namespace_id, NamespacePlanTrialRequest, start_namespace_ultimate_trial)
