"""Atomic counters in the database: one row per key, incremented by one statement.

Sign-in lockouts and request throttles count across worker processes, so the count lives in the
app's database, and an increment is a single ``INSERT .. ON CONFLICT DO UPDATE`` (SQLite and
PostgreSQL both have it): two workers counting at once never lose a count.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def increment(
    session: Session, table: sa.Table, key: dict[str, Any], column: str, **on_insert: Any
) -> int:
    """Add one to ``column`` of the row with primary key ``key`` (made if missing, with
    ``on_insert`` values); return the new count."""
    dialect = session.get_bind().dialect.name
    insert: Any = postgresql.insert if dialect == "postgresql" else sqlite.insert
    if dialect not in ("postgresql", "sqlite"):
        raise RuntimeError(f"no atomic upsert for the {dialect} dialect")
    statement = (
        insert(table)
        .values(**key, **{column: 1}, **on_insert)
        .on_conflict_do_update(index_elements=list(key), set_={column: table.c[column] + 1})
        .returning(table.c[column])
    )
    return int(session.execute(statement).scalar_one())
