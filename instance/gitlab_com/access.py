"""Who reaches a GitLab.com page: the pages exist only in GitLab.com mode, and a group's
settings pages only for an owner of the top-level group. Anyone else gets 404, as GitLab
answers for a group they may not administer (it does not say the group exists)."""

from __future__ import annotations

from flask import abort
from flask_login import current_user

from instance.gitlab_com import is_gitlab_com
from instance.gitlab_com.groups import find_group, is_owner
from instance.namespace_models import Namespace


def gitlab_com_only() -> None:
    """A blueprint's before_request hook: a self-managed instance has none of its routes."""
    if not is_gitlab_com():
        abort(404)


def owned_group(full_path: str) -> Namespace:
    """The top-level group at `full_path` if the signed-in user owns it; 404 otherwise."""
    group = find_group(full_path)
    if group is None or not group.is_root or not is_owner(group, current_user):
        abort(404)
    return group
