"""telemetry partitioned by day (PostgreSQL)

The raw readings table becomes a range-partitioned table on ts_ms with a default partition
holding every existing row; the node makes daily partitions (moving their rows out of the
default) at its next retention pass and drops whole days from then on
(regional_node/telemetry/partitions.py). SQLite keeps its one table.

Revision ID: a22b7e4c9d15
Revises: cf77f21b05b6
Create Date: 2026-12-07 15:30:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = 'a22b7e4c9d15'
down_revision: str | None = 'cf77f21b05b6'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE telemetry RENAME TO telemetry_unpartitioned")
    op.execute("ALTER TABLE telemetry_unpartitioned RENAME CONSTRAINT pk_telemetry TO pk_telemetry_old")
    op.execute(
        "CREATE TABLE telemetry ("
        "series_id integer NOT NULL, ts_ms bigint NOT NULL, value double precision NOT NULL, "
        "CONSTRAINT pk_telemetry PRIMARY KEY (series_id, ts_ms)"
        ") PARTITION BY RANGE (ts_ms)"
    )
    op.execute("CREATE TABLE telemetry_default PARTITION OF telemetry DEFAULT")
    op.execute(
        "INSERT INTO telemetry (series_id, ts_ms, value) "
        "SELECT series_id, ts_ms, value FROM telemetry_unpartitioned"
    )
    op.execute("DROP TABLE telemetry_unpartitioned")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "CREATE TABLE telemetry_plain ("
        "series_id integer NOT NULL, ts_ms bigint NOT NULL, value double precision NOT NULL)"
    )
    op.execute(
        "INSERT INTO telemetry_plain (series_id, ts_ms, value) "
        "SELECT series_id, ts_ms, value FROM telemetry"
    )
    op.execute("DROP TABLE telemetry")  # with its partitions
    op.execute("ALTER TABLE telemetry_plain RENAME TO telemetry")
    op.execute("ALTER TABLE telemetry ADD CONSTRAINT pk_telemetry PRIMARY KEY (series_id, ts_ms)")
