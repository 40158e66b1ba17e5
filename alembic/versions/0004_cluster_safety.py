"""Cluster safety: guard rows for rules that depend on a read, and tokens that settle ambiguous commits.

- ``invariant_guard``: one row per rule (``admins``, ``settings``; ``admin:<id>`` rows are added by the app
  as administrators act). Transactions that check or
  change a rule write its row, so on a Galera cluster (which certifies only written rows) two of them
  through different nodes conflict and one is retried, instead of both committing (write skew).
- ``applied_operation``: every write transaction on a server inserts a random token; a client whose
  connection dropped during COMMIT looks for it to learn whether the change was applied.

Plain new tables: the same DDL on SQLite, MariaDB and a Galera cluster (InnoDB, primary keys on both, as
Galera requires).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from desktop_auth.db.types import UTCDateTime

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MYSQL_TABLE_ARGS = {
    "mysql_engine": "InnoDB",
    "mysql_charset": "utf8mb4",
    "mysql_collate": "utf8mb4_unicode_ci",
}
GUARDS = ("admins", "settings")


def upgrade() -> None:
    guard = op.create_table(
        "invariant_guard",
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("claims", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_invariant_guard")),
        **MYSQL_TABLE_ARGS,
    )
    op.bulk_insert(guard, [{"name": name, "claims": 0} for name in GUARDS])
    op.create_table(
        "applied_operation",
        sa.Column("token", sa.String(32), nullable=False),
        sa.Column("applied_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("token", name=op.f("pk_applied_operation")),
        **MYSQL_TABLE_ARGS,
    )
    op.create_index("ix_applied_operation_applied_at", "applied_operation", ["applied_at"])


def downgrade() -> None:
    op.drop_index("ix_applied_operation_applied_at", table_name="applied_operation")
    op.drop_table("applied_operation")
    op.drop_table("invariant_guard")
