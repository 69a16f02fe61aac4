"""How a scenario names the instance's users: entries, ranges, counts and roles."""

from __future__ import annotations

import re
from typing import Any

ROLES = {"none": 0, "guest": 10, "reporter": 20, "developer": 30, "maintainer": 40, "owner": 50}
USER_KEYS = {"username", "name", "email", "role", "state", "bot", "admin"}
_RANGE = re.compile(r"([A-Za-z_-]+)(\d+)\.\.\1?(\d+)")


def expand_users(entries: list[Any]) -> list[Any]:
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


def user_fields(entry: Any) -> dict[str, Any]:
    """``instance.users.create_user``'s arguments (all but ``now``) for one expanded entry;
    ValueError says what is wrong with it."""
    if not isinstance(entry, dict) or "username" not in entry or set(entry) - USER_KEYS:
        raise ValueError(f"a user needs a username; allowed keys: {', '.join(sorted(USER_KEYS))}")
    role = str(entry.get("role", "developer"))
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    username = str(entry["username"])
    return {
        "username": username,
        "email": str(entry.get("email", f"{username}@instance.test")),
        "name": str(entry.get("name", username.title())),
        "admin": bool(entry.get("admin", False)),
        "state": str(entry.get("state", "active")),
        "bot_type": entry.get("bot"),
        "highest_access_level": ROLES[role],
    }


def usernames(names: Any) -> list[str]:
    """A list of usernames, where ``dev01..dev20`` stands for the range."""
    result: list[str] = []
    for name in names:
        found = _RANGE.fullmatch(str(name))
        if found:
            prefix, first, last = found.group(1), found.group(2), found.group(3)
            result += [f"{prefix}{n:0{len(first)}d}" for n in range(int(first), int(last) + 1)]
        else:
            result.append(str(name))
    return result
