"""Bulk changes as queries: a staged change to many users and the snapshot of who it is for.

- ``bulk_change``: one change (a role, active or not) to many users, with the state of its job (staged,
  running, cancelled, done, failed), the last user id done (``last_user_id``, to resume) and its counts.
- ``bulk_change_member``: the users it is for and each one's version when it was staged (a user changed
  since is a conflict, left alone).

Plain new tables: the same DDL on SQLite, MariaDB and a Galera cluster (InnoDB, primary keys on both).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from desktop_auth.db.types import UTCDateTime

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MYSQL_TABLE_ARGS = {
    "mysql_engine": "InnoDB",
    "mysql_charset": "utf8mb4",
    "mysql_collate": "utf8mb4_unicode_ci",
}
EMAIL_MAX_LENGTH = 254
ROLE_NAME_MAX_LENGTH = 64


def upgrade() -> None:
    op.create_table(
        "bulk_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(EMAIL_MAX_LENGTH), nullable=False),
        sa.Column("role", sa.String(ROLE_NAME_MAX_LENGTH), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("total", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("last_user_id", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("done", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("changed", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("conflicts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["user.id"], name=op.f("fk_bulk_change_actor_id_user"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bulk_change")),
        **MYSQL_TABLE_ARGS,
    )
    op.create_index("ix_bulk_change_state", "bulk_change", ["state"])
    op.create_table(
        "bulk_change_member",
        sa.Column("change_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("user_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["change_id"],
            ["bulk_change.id"],
            name=op.f("fk_bulk_change_member_change_id_bulk_change"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("change_id", "user_id", name=op.f("pk_bulk_change_member")),
        **MYSQL_TABLE_ARGS,
    )


def downgrade() -> None:
    op.drop_table("bulk_change_member")
    op.drop_index("ix_bulk_change_state", table_name="bulk_change")
    op.drop_table("bulk_change")
