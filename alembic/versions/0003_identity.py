"""Identity: addresses spelled by the app's own normalization, compared byte for byte, look-alike keys.

- Every stored address is re-spelled with ``desktop_auth.identity.normalize_email`` (the first adoption
  only lower-cased in SQL, so ``ÉLODIE@…`` on MariaDB, decomposed accents and punycode domains could
  never sign in). Addresses that are not valid keep their trimmed lower-case spelling.
- ``user.email`` and ``login_throttle.email`` compare byte for byte on MariaDB too (``utf8mb4_bin``;
  ``utf8mb4_unicode_ci`` made ``straße``, ``strasse`` and fullwidth letters one account). SQLite's
  default comparison already is binary, so its DDL does not change.
- ``user.email_skeleton`` (unique) holds ``desktop_auth.identity.skeleton_key`` for every account.
- Lockout counters whose address changes spelling are dropped (they are transient).

It stops before changing anything, naming the addresses, when two would become one account or when
addresses look alike (``desktop_auth.db.errors.IdentityConflictError``). The downgrade keeps the new
spellings, drops the column and restores MariaDB's collation, refusing when that would merge accounts.

On SQLite the column is added with ALTER TABLE (a NOT NULL column needs a default there: '' which every
insert overrides), never by rebuilding ``user``: dropping the old table would fire the audit log's
ON DELETE SET NULL.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

from desktop_auth.db.adoption import refuse_identity_conflicts, user_rows
from desktop_auth.db.errors import IdentityConflictError
from desktop_auth.db.types import binary_string
from desktop_auth.identity import SKELETON_KEY_LENGTH, adopted_key, skeleton_key

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EMAIL_LENGTH = 254
SKELETON_INDEX = "ix_user_email_skeleton"
UNICODE_CI = "utf8mb4_unicode_ci"

user_table = sa.table(
    "user",
    sa.column("id", sa.Integer()),
    sa.column("email", sa.String()),
    sa.column("email_skeleton", sa.String()),
)
throttle_table = sa.table("login_throttle", sa.column("email", sa.String()))


def _is_mysql() -> bool:
    return op.get_bind().dialect.name in ("mysql", "mariadb")


def _set_email_collation(binary: bool) -> None:
    email_type = (
        binary_string(EMAIL_LENGTH)
        if binary
        else sa.String(EMAIL_LENGTH).with_variant(
            mysql.VARCHAR(EMAIL_LENGTH, charset="utf8mb4", collation=UNICODE_CI), "mysql", "mariadb"
        )
    )
    for table in ("user", "login_throttle"):
        op.alter_column(
            table, "email", type_=email_type, existing_type=sa.String(EMAIL_LENGTH), existing_nullable=False
        )


def _respell_addresses() -> None:
    """Write the app's spelling and the skeleton key of every address, a chunk of rows per statement."""
    bind = op.get_bind()
    for rows in user_rows(bind):
        spelled = {user_id: adopted_key(email) for user_id, email in rows}
        changed = {user_id: email for user_id, email in rows if spelled[user_id] != email}
        values: dict[str, sa.ColumnElement[str]] = {
            "email_skeleton": sa.case(
                {user_id: skeleton_key(email) for user_id, email in spelled.items()}, value=user_table.c.id
            )
        }
        if changed:
            values["email"] = sa.case(
                {user_id: spelled[user_id] for user_id in changed},
                value=user_table.c.id,
                else_=user_table.c.email,
            )
        bind.execute(user_table.update().where(user_table.c.id.in_(list(spelled))).values(values))


def _drop_respelled_counters() -> None:
    bind = op.get_bind()
    stale = [
        email
        for email in bind.execute(sa.select(throttle_table.c.email)).scalars()
        if adopted_key(email) != email
    ]
    for start in range(0, len(stale), 500):
        bind.execute(throttle_table.delete().where(throttle_table.c.email.in_(stale[start : start + 500])))


def upgrade() -> None:
    refuse_identity_conflicts(op.get_bind())  # reads only: nothing has changed if it refuses
    if _is_mysql():
        _set_email_collation(binary=True)
        op.add_column("user", sa.Column("email_skeleton", binary_string(SKELETON_KEY_LENGTH), nullable=True))
    else:
        op.add_column(
            "user",
            sa.Column("email_skeleton", sa.String(SKELETON_KEY_LENGTH), nullable=False, server_default=""),
        )
    _respell_addresses()
    _drop_respelled_counters()
    if _is_mysql():
        op.alter_column(
            "user",
            "email_skeleton",
            existing_type=binary_string(SKELETON_KEY_LENGTH),
            nullable=False,
        )
    op.create_index(SKELETON_INDEX, "user", ["email_skeleton"], unique=True)


def _refuse_case_insensitive_duplicates() -> None:
    """MariaDB's old collation would make these one value: the downgrade cannot hold them apart."""
    groups = op.get_bind().execute(
        sa.text(
            r"SELECT GROUP_CONCAT(email ORDER BY email SEPARATOR '\t') FROM `user` "
            f"GROUP BY email COLLATE {UNICODE_CI} HAVING COUNT(*) > 1"
        )
    )
    same = sorted(str(group).split("\t") for group in groups.scalars())
    if same:
        raise IdentityConflictError(same, [])


def downgrade() -> None:
    if _is_mysql():
        _refuse_case_insensitive_duplicates()  # reads only: nothing has changed if it refuses
    op.drop_index(SKELETON_INDEX, table_name="user")
    op.drop_column("user", "email_skeleton")
    if _is_mysql():
        _set_email_collation(binary=False)
