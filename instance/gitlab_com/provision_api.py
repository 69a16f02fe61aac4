"""GitLab.com's end of the portal's push: GitLab's internal provisioning API.

``POST /api/v4/internal/gitlab_subscriptions/namespaces/:id/provision`` with the JSON body
``{"request": "<request JWS>"}`` carrying a ``NamespaceProvision`` signed by a pinned portal
key (the real endpoint authenticates the Customers Portal by a signed JWT too). Answers, as the
portal's sync API does the other way round:
- ``200 {"response": <ProvisionAnswer signed by GitLab.com's key, echoing the nonce>}``;
- ``404/400 {"response": <signed ErrorAnswer>}`` when a verified push names an unknown group or
  a subgroup (its nonce stays claimed, nothing else is kept);
- ``4xx {"error": {"code", "message"}}`` unsigned when the push fails a check (signature,
  freshness, nonce, shape, a path that disagrees with the body); nothing is changed.
Only GitLab.com serves it (``GITLAB_COM``); self-managed answers 404.
"""

from __future__ import annotations

import datetime as dt
import logging

from flask import Blueprint, abort, current_app
from flask.typing import ResponseReturnValue

from instance.gitlab_com.access import gitlab_com_only
from instance.gitlab_com.nonces import received_nonces
from instance.gitlab_com.provisioning import ProvisionRefused, provision_namespace
from instance.identity import instance_key
from instance.licenses import LicenseError, pinned_portal_keys
from protocol.envelope import DEFAULT_FRESHNESS_WINDOW
from protocol.provisioning import NamespaceProvision, ProvisionAnswer
from webcore.sealed import answer_namespace_request

log = logging.getLogger("provlab.gitlab_com.provision")

blueprint = Blueprint(
    "gitlab_com_provision", __name__, url_prefix="/api/v4/internal/gitlab_subscriptions"
)


blueprint.before_request(gitlab_com_only)


@blueprint.post("/namespaces/<int:namespace_id>/provision")
def provision(namespace_id: int) -> ResponseReturnValue:
    try:
        keys = pinned_portal_keys()
    except LicenseError:
        abort(503)
    window = (
        dt.timedelta(seconds=int(current_app.config.get("FRESHNESS_WINDOW_SECONDS") or 0))
        or DEFAULT_FRESHNESS_WINDOW
    )
    return answer_namespace_request(
        NamespaceProvision,
        namespace_id,
        keys,
        received_nonces,
        window,
        instance_key(),
        _provision,
        log,
    )


def _provision(provision: NamespaceProvision, now: dt.datetime) -> ProvisionAnswer:
    try:
        answer = provision_namespace(provision, now)
    except ProvisionRefused as refusal:
        log.info("refused provisioning namespace %s: %s", provision.namespace_id, refusal.code)
        raise
    log.info("provisioned namespace %s", provision.namespace_id)
    return answer
