"""Offset pagination as GitLab's REST API does it: ``page``/``per_page``, the ``X-*`` headers,
and a ``Link`` header (``prev``, ``next``, ``first``, ``last``) whose URLs keep every other
parameter of the request, so a client following ``next`` keeps its filters."""

from __future__ import annotations

from typing import Any, TypeVar
from urllib.parse import urlencode

import sqlalchemy as sa
from flask import request

from instance.api import MAX_PER_PAGE, ApiError
from instance.models import db
from webcore.params import INT64_MAX, INT64_MIN, InvalidNumber, int_arg

T = TypeVar("T")


def page_args() -> tuple[int, int]:
    try:
        page = max(int_arg(request.args, "page", 1, minimum=INT64_MIN), 1)
        per_page = int_arg(request.args, "per_page", 20, minimum=INT64_MIN)
    except InvalidNumber as invalid:
        raise ApiError(400, str(invalid), key="error") from None
    # A page past what an offset can address is empty, as in GitLab.
    return min(page, INT64_MAX // MAX_PER_PAGE), min(max(per_page, 1), MAX_PER_PAGE)


def _page_url(page: int, per_page: int) -> str:
    params = [(k, v) for k, v in request.args.items(multi=True) if k not in ("page", "per_page")]
    params += [("page", str(page)), ("per_page", str(per_page))]
    return f"{request.base_url}?{urlencode(params)}"


def paginate(query: sa.Select[tuple[T]]) -> tuple[list[T], dict[str, str]]:
    """One page of ``query`` and the headers that describe it."""
    page, per_page = page_args()
    total = db.session.execute(
        sa.select(sa.func.count()).select_from(query.order_by(None).subquery())
    ).scalar_one()
    rows = list(db.session.execute(query.limit(per_page).offset((page - 1) * per_page)).scalars())
    pages = max((total + per_page - 1) // per_page, 1)
    links: dict[str, int] = {}
    if page > 1:
        links["prev"] = min(page - 1, pages)
    if page < pages:
        links["next"] = page + 1
    links["first"] = 1
    links["last"] = pages
    headers: dict[str, Any] = {
        "X-Page": str(page),
        "X-Per-Page": str(per_page),
        "X-Total": str(total),
        "X-Total-Pages": str(pages),
        "X-Next-Page": str(page + 1) if page < pages else "",
        "X-Prev-Page": str(page - 1) if page > 1 else "",
        "Link": ", ".join(
            f'<{_page_url(number, per_page)}>; rel="{rel}"' for rel, number in links.items()
        ),
    }
    return rows, headers
