"""Two-factor sign-in with authenticator apps (TOTP, RFC 6238), and an index for deleting accounts.

- ``user.totp_secret``: the account's TOTP secret as ``desktop_auth.security.totp.SecretBox`` stores it
  (``fernet:`` + a token encrypted with the operator's DESKTOP_AUTH_TOTP_KEY, or ``plain:`` + base32);
  NULL: no second factor.
- ``user.totp_last_step``: the last 30-second step whose code was accepted; a code of that step or an
  earlier one is refused (replay). Set with a conditional UPDATE, so two clients using one code at once
  (through different Galera nodes too) cannot both succeed.

- ``ix_audit_event_actor_id``: deleting an account sets ``actor_id`` NULL in the history rows it wrote
  (ON DELETE SET NULL); without an index SQLite scanned the whole log once per deleted account (16 s for
  1,000 accounts over 200,000 rows). MariaDB had an index for the foreign key already; this names it.
- ``ix_recovery_code_user_id_used_at``: the users table counts each row's unused recovery codes; with this
  index the count never reads the code rows themselves.

- On SQLite, ``user`` is rebuilt with AUTOINCREMENT: a deleted account's id is never given to a new one
  (the one rebuild here, with foreign keys off while migrating; the downgrade keeps it).

Otherwise plain ``ADD COLUMN`` of nullable columns (no table rebuild: on SQLite a rebuild of ``user`` would run the
foreign keys' ON DELETE actions of the tables that reference it).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SECRET_MAX_LENGTH = 255  # a Fernet token of a 32-character secret is ~140 characters


def upgrade() -> None:
    op.add_column("user", sa.Column("totp_secret", sa.String(SECRET_MAX_LENGTH), nullable=True))
    op.add_column("user", sa.Column("totp_last_step", sa.BigInteger(), nullable=True))
    op.create_index("ix_audit_event_actor_id", "audit_event", ["actor_id"])
    op.create_index("ix_recovery_code_user_id_used_at", "recovery_code", ["user_id", "used_at"])
    if op.get_bind().dialect.name == "sqlite":
        # Account ids are never given again (AUTOINCREMENT): SQLite otherwise hands a deleted account's id
        # (the highest) to the next one, whose version also starts at 1, so an edit or a staged bulk change
        # of the deleted account, checked by id and version, would land on the newcomer. A rebuild, which
        # desktop_auth.db.migrate runs with foreign keys off (see foreign_keys_off there).
        with op.batch_alter_table(
            "user", recreate="always", table_kwargs={"sqlite_autoincrement": True}
        ) as batch:
            batch.alter_column("id", existing_type=sa.Integer(), autoincrement=True)


def downgrade() -> None:
    op.drop_index("ix_recovery_code_user_id_used_at", table_name="recovery_code")
    if op.get_bind().dialect.name == "mysql":
        # The foreign key needs an index: give it back its own before this one goes.
        op.create_index("fk_audit_event_actor_id_user", "audit_event", ["actor_id"])
    op.drop_index("ix_audit_event_actor_id", table_name="audit_event")
    # Plain DROP COLUMN too (SQLite 3.35+), for the same reason.
    op.drop_column("user", "totp_last_step")
    op.drop_column("user", "totp_secret")
