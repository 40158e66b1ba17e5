"""The account lifecycle: role descriptions and recovery codes.

- ``role.description``: a short text shown in the Roles tab (NULL: none).
- ``recovery_code``: a person's one-time codes for resetting a forgotten password without an
  administrator. A code carries at least 60 random bits, so it is stored as a salted fast hash
  (``digest``, HMAC-SHA-256 keyed by the batch's ``salt``): one check costs one hash and one indexed
  lookup, not a password-hash run per code. A new batch replaces the earlier one; a spent code keeps its
  row with ``used_at`` set. Deleting the account deletes its codes.

Plain DDL (``role`` is altered in place, never rebuilt): the same on SQLite, MariaDB and a Galera cluster (InnoDB, a primary key on the new table).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from desktop_auth.db.types import UTCDateTime

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MYSQL_TABLE_ARGS = {
    "mysql_engine": "InnoDB",
    "mysql_charset": "utf8mb4",
    "mysql_collate": "utf8mb4_unicode_ci",
}
ROLE_DESCRIPTION_MAX_LENGTH = 200
SALT_LENGTH = 32  # hex characters
DIGEST_LENGTH = 64  # hex HMAC-SHA-256


def upgrade() -> None:
    op.add_column("role", sa.Column("description", sa.String(ROLE_DESCRIPTION_MAX_LENGTH), nullable=True))
    op.create_table(
        "recovery_code",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("salt", sa.String(SALT_LENGTH), nullable=False),
        sa.Column("digest", sa.String(DIGEST_LENGTH), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("used_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_recovery_code_user_id_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recovery_code")),
        **MYSQL_TABLE_ARGS,
    )
    op.create_index("ix_recovery_code_user_id_digest", "recovery_code", ["user_id", "digest"])


def downgrade() -> None:
    op.drop_table("recovery_code")  # with its index (MariaDB keeps the index while the foreign key needs it)
    # Plain DROP COLUMN (SQLite 3.35+): rebuilding ``role`` on SQLite would drop a table ``user`` refers to.
    op.drop_column("role", "description")
