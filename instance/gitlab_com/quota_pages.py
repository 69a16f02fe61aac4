"""A top-level group's *Settings → Usage Quotas* tabs for consumables on GitLab.com (R6):
*Pipelines* (compute minutes this month, additional minutes and their packs) and *Storage*
(each project's repository, the excess over the free 10 GiB per project, purchased storage and
locked projects). Routes only: load the group, check the signed-in user owns it, render what
``quotas`` computes. Other users get 404, as GitLab answers for a group they may not administer.
"""

from __future__ import annotations

from flask import Blueprint, current_app, render_template
from flask.typing import ResponseReturnValue
from flask_login import login_required

from instance.gitlab_com.access import gitlab_com_only, owned_group
from instance.gitlab_com.overview import group_sidebar
from instance.gitlab_com.quotas import PROJECT_STORAGE_LIMIT, compute_quota, storage_quota
from instance.namespace_models import Namespace
from webcore.clock import app_clock

blueprint = Blueprint("group_quotas", __name__, url_prefix="/groups")


blueprint.before_request(gitlab_com_only)


def _portal_page(group: Namespace, page: str) -> str:
    return (
        f"{str(current_app.config['PORTAL_URL']).rstrip('/')}/gitlab/namespaces/{group.id}/{page}"
    )


def _tab(group: Namespace, tab: str, buy_page: str, **shown: object) -> ResponseReturnValue:
    """The consumables page on ``tab``, showing ``shown``; its *Buy* button leads to the
    portal's ``buy_page`` for the group."""
    return render_template(
        "groups/usage_quotas_consumables.html",
        group=group,
        tab=tab,
        buy_url=_portal_page(group, buy_page),
        **shown,
        **group_sidebar(group),
    )


@blueprint.get("/<path:full_path>/-/usage_quotas/pipelines")
@login_required
def pipelines(full_path: str) -> ResponseReturnValue:
    group = owned_group(full_path)
    compute = compute_quota(group.id, app_clock().now().date())
    return _tab(group, "pipelines", "buy_compute_minutes", compute=compute)


@blueprint.get("/<path:full_path>/-/usage_quotas/storage")
@login_required
def storage(full_path: str) -> ResponseReturnValue:
    group = owned_group(full_path)
    storage = storage_quota(group.id, app_clock().now().date())
    return _tab(
        group, "storage", "buy_storage", storage=storage, project_limit=PROJECT_STORAGE_LIMIT
    )
