"""Portal fixtures shared by several modules: the portal with GitLab.com beside it."""

from __future__ import annotations

from tests.portal.gitlab_com_pair import pair

__all__ = ["pair"]
