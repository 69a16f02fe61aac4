"""Helpers the steps and expectations share."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from flask import Flask

from provlab.scenario.loader import Scenario
from provlab.scenario.vocabulary import StepContext
from webcore.transaction import unit_of_work

CUSTOMER_EMAIL = "customer@scenario.test"
SALES_EMAIL = "sales@scenario.test"
ADMIN_USERNAME = "root"
ADMIN_PASSWORD = "scenario-admin-password"

ROLES = {"none": 0, "guest": 10, "reporter": 20, "developer": 30, "maintainer": 40, "owner": 50}


def _now(app: Flask) -> dt.datetime:
    from webcore.clock import app_clock

    return app_clock(app).now()


def _date(context: StepContext | None, value: Any, scenario: Scenario, line: int) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise scenario.error(line, f"{value!r} is not a date (YYYY-MM-DD)") from None


def _flash(html: str) -> str:
    import re

    messages = re.findall(r'<div class="flash [a-z]+" role="alert">(.*?)</div>', html, re.S)
    return "; ".join(m.strip() for m in messages) or "no message shown"


def _expand_users(entries: list[Any]) -> list[Any]:
    """``alice`` is ``{username: alice}``; ``{prefix: dev, count: 50}`` is dev01..dev50."""
    expanded: list[Any] = []
    for entry in entries:
        if isinstance(entry, str):
            expanded.append({"username": entry})
        elif isinstance(entry, dict) and "prefix" in entry and "count" in entry:
            count = int(entry["count"])
            width = max(2, len(str(count)))
            extra = {k: v for k, v in entry.items() if k not in ("prefix", "count")}
            expanded += [
                {"username": f"{entry['prefix']}{n:0{width}d}", **extra}
                for n in range(1, count + 1)
            ]
        else:
            expanded.append(entry)
    return expanded


def usernames(names: Any) -> list[str]:
    """A list of usernames, where ``dev01..dev20`` stands for the range."""
    import re

    result: list[str] = []
    for name in names:
        found = re.fullmatch(r"([A-Za-z_-]+)(\d+)\.\.\1?(\d+)", str(name))
        if found:
            prefix, first, last = found.group(1), found.group(2), found.group(3)
            result += [f"{prefix}{n:0{len(first)}d}" for n in range(int(first), int(last) + 1)]
        else:
            result.append(str(name))
    return result


def _csrf(html: str) -> str:
    import re

    found = re.search(r'name="csrf-token" content="([^"]+)"', html) or re.search(
        r'name="csrf_token"[^>]*value="([^"]+)"', html
    )
    if found is None:
        raise AssertionError("the page carries no CSRF token")
    return found.group(1)


@contextmanager
def _as_sales(context: StepContext, name: str) -> Iterator[tuple[Any, Any, dt.datetime]]:
    from portal.models import Account
    from portal.subscriptions import find_subscription

    app = context.world.portal
    with unit_of_work(app) as session:
        seller = session.execute(
            sa.select(Account).where(Account.email == SALES_EMAIL)
        ).scalar_one()
        yield _subscription(context, find_subscription(name)), seller, _now(app)


def _subscription(context: StepContext, found: Any) -> Any:
    if found is None:
        context.malformed("no such subscription in setup.portal.subscriptions")
    return found


def _check_refusal(context: StepContext, expected: Any, outcome: str | None, what: str) -> None:
    if expected is None and outcome is not None:
        context.fail(f"the {what} was refused: {outcome}")
    if expected is not None:
        if outcome is None:
            context.fail(f"the {what} succeeded; expected a refusal containing {expected!r}")
        if str(expected).lower() not in outcome.lower():
            context.fail(f"the {what} was refused with {outcome!r}, expected {expected!r}")
    if outcome is not None:
        context.world.timeline.add(context.world.now(), "portal", "refused", f"{what}: {outcome}")


def _user(context: StepContext, username: str) -> Any:
    from instance.users import find_by_username

    found = find_by_username(str(username))
    if found is None:
        context.malformed(f"no user {username!r} in setup.instance.users")
    return found


def _compare(context: StepContext, row: Any, fields: dict[str, Any], keys: tuple[str, ...]) -> None:
    for key in keys:
        if key in fields and getattr(row, key) != fields[key]:
            context.fail(f"{key} is {getattr(row, key)!r}, expected {fields[key]!r}")
