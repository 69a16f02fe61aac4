"""daily_usage_counts: each day's billable user count of a subscription, kept from the usage
reports by a trigger, so the seat review aggregates days with GROUP BY (issue 15)

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

# A report repeats the instance's last days; a day reported again takes the later figure (the
# instance keeps the day's maximum). Two readings of one day in one report keep the larger.
SQLITE_TRIGGER = """
CREATE TRIGGER usage_reports_daily_usage_counts AFTER INSERT ON usage_reports
BEGIN
    INSERT INTO daily_usage_counts (subscription_id, day, billable_users)
    SELECT NEW.subscription_id, json_extract(value, '$.day'),
           MAX(CAST(json_extract(value, '$.billable_users') AS INTEGER))
    FROM json_each(NEW.daily_usage)
    WHERE CAST(json_extract(value, '$.billable_users') AS INTEGER) >= 0
    GROUP BY json_extract(value, '$.day')
    ON CONFLICT (subscription_id, day) DO UPDATE SET billable_users = excluded.billable_users;
END
"""

POSTGRESQL_TRIGGER = (
    """
CREATE FUNCTION usage_reports_daily_usage_counts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO daily_usage_counts (subscription_id, day, billable_users)
    SELECT NEW.subscription_id, (item->>'day')::date, MAX((item->>'billable_users')::integer)
    FROM json_array_elements(NEW.daily_usage) AS item
    WHERE (item->>'billable_users')::integer >= 0
    GROUP BY (item->>'day')::date
    ON CONFLICT (subscription_id, day) DO UPDATE SET billable_users = excluded.billable_users;
    RETURN NULL;
END
$$
""",
    """
CREATE TRIGGER usage_reports_daily_usage_counts AFTER INSERT ON usage_reports
FOR EACH ROW EXECUTE FUNCTION usage_reports_daily_usage_counts()
""",
)

# The reports already received, oldest first, so the latest report of a day wins.
SQLITE_BACKFILL = """
INSERT INTO daily_usage_counts (subscription_id, day, billable_users)
SELECT subscription_id, day, users FROM (
    SELECT r.subscription_id, json_extract(item.value, '$.day') AS day,
           CAST(json_extract(item.value, '$.billable_users') AS INTEGER) AS users,
           ROW_NUMBER() OVER (
               PARTITION BY r.subscription_id, json_extract(item.value, '$.day')
               ORDER BY r.received_at DESC, r.id DESC,
                        CAST(json_extract(item.value, '$.billable_users') AS INTEGER) DESC
           ) AS rank
    FROM usage_reports AS r, json_each(r.daily_usage) AS item
    WHERE CAST(json_extract(item.value, '$.billable_users') AS INTEGER) >= 0
) WHERE rank = 1
"""

POSTGRESQL_BACKFILL = """
INSERT INTO daily_usage_counts (subscription_id, day, billable_users)
SELECT DISTINCT ON (r.subscription_id, (item->>'day')::date)
       r.subscription_id, (item->>'day')::date, (item->>'billable_users')::integer
FROM usage_reports AS r, json_array_elements(r.daily_usage) AS item
WHERE (item->>'billable_users')::integer >= 0
ORDER BY r.subscription_id, (item->>'day')::date, r.received_at DESC, r.id DESC,
         (item->>'billable_users')::integer DESC
"""


def upgrade() -> None:
    op.create_table(
        "daily_usage_counts",
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("billable_users", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["subscriptions.id"],
            name=op.f("fk_daily_usage_counts_subscription_id_subscriptions"),
        ),
        sa.PrimaryKeyConstraint("subscription_id", "day", name=op.f("pk_daily_usage_counts")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRESQL_BACKFILL)
        for statement in POSTGRESQL_TRIGGER:
            op.execute(statement)
    else:
        op.execute(SQLITE_BACKFILL)
        op.execute(SQLITE_TRIGGER)


def downgrade() -> None:
    op.execute(
        "DROP TRIGGER IF EXISTS usage_reports_daily_usage_counts ON usage_reports"
        if op.get_bind().dialect.name == "postgresql"
        else "DROP TRIGGER IF EXISTS usage_reports_daily_usage_counts"
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS usage_reports_daily_usage_counts()")
    op.drop_table("daily_usage_counts")
