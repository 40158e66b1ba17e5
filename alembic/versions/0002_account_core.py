"""Account core: normalized emails, wide hashes, UTC timestamps, activity and lockout tracking, audit log.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from desktop_auth.db.adoption import refuse_identity_conflicts
from desktop_auth.db.types import UTCDateTime

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MYSQL_TABLE = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_unicode_ci"}
USER_FK = "fk_user_role_id_role"
ROLE_UNIQUE = "uq_role_name"

user_table = sa.table("user", sa.column("id", sa.Integer()), sa.column("email", sa.String()))


def _is_mysql() -> bool:
    return op.get_bind().dialect.name in ("mysql", "mariadb")


def _adopt_mysql_tables() -> None:
    """Tutorial databases may be latin1/MyISAM with server-chosen constraint names: bring them in line."""
    bind = op.get_bind()
    for table in ("role", "user"):
        op.execute(sa.text(f"ALTER TABLE `{table}` ENGINE=InnoDB"))
        op.execute(
            sa.text(f"ALTER TABLE `{table}` CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        )
    inspector = sa.inspect(bind)
    for fk in inspector.get_foreign_keys("user"):
        if fk["constrained_columns"] == ["role_id"] and fk["name"] != USER_FK:
            op.drop_constraint(fk["name"], "user", type_="foreignkey")
            op.create_foreign_key(USER_FK, "user", "role", ["role_id"], ["id"])
    for unique in inspector.get_unique_constraints("role"):
        if unique["column_names"] == ["name"] and unique["name"] != ROLE_UNIQUE:
            op.drop_constraint(unique["name"], "role", type_="unique")
            op.create_unique_constraint(ROLE_UNIQUE, "role", ["name"])


def upgrade() -> None:
    # Before anything changes: addresses that the app's own normalization (which 0003 applies) would make
    # one account, or look-alikes, stop the upgrade with their names. On MySQL the DDL below commits as it
    # goes, so a refusal in 0003 would come too late to leave this revision unapplied.
    refuse_identity_conflicts(op.get_bind())
    if _is_mysql():
        _adopt_mysql_tables()
    op.execute(user_table.update().values(email=sa.func.lower(sa.func.trim(user_table.c.email))))

    with op.batch_alter_table("user") as batch:
        batch.alter_column(
            "email", type_=sa.String(length=254), existing_type=sa.String(length=50), existing_nullable=False
        )
        batch.alter_column(
            "password_hash",
            type_=sa.String(length=255),
            existing_type=sa.String(length=100),
            existing_nullable=True,
        )
        for column in ("create_date", "update_date"):
            batch.alter_column(
                column, type_=UTCDateTime(), existing_type=sa.DateTime(), existing_nullable=False
            )
        batch.add_column(sa.Column("active", sa.Boolean(), server_default=sa.text("1"), nullable=False))
        batch.add_column(
            sa.Column("must_change_password", sa.Boolean(), server_default=sa.text("0"), nullable=False)
        )
        batch.add_column(sa.Column("last_login_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("login_count", sa.Integer(), server_default=sa.text("0"), nullable=False))
        batch.add_column(sa.Column("password_changed_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False))
        batch.create_index("ix_user_role_id_email", ["role_id", "email"], unique=False)
        batch.create_index("ix_user_create_date", ["create_date"], unique=False)
        batch.create_index("ix_user_last_login_at", ["last_login_at"], unique=False)

    if _is_mysql():
        # The tutorial's server-named FK index is redundant once ix_user_role_id_email serves the FK.
        for index in sa.inspect(op.get_bind()).get_indexes("user"):
            if index["column_names"] == ["role_id"] and index["name"] != USER_FK:
                op.drop_index(index["name"], table_name="user")

    op.create_table(
        "login_throttle",
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("failed_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("lockout_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("locked_until", UTCDateTime(), nullable=True),
        sa.Column("last_failure_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("email", name=op.f("pk_login_throttle")),
        **MYSQL_TABLE,
    )
    op.create_table(
        "audit_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=254), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=True),
        sa.Column("target", sa.String(length=254), nullable=False),
        sa.Column("old_value", sa.String(length=255), nullable=True),
        sa.Column("new_value", sa.String(length=255), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["user.id"], name=op.f("fk_audit_event_actor_id_user"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["target_id"], ["user.id"], name=op.f("fk_audit_event_target_id_user"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_event")),
        **MYSQL_TABLE,
    )
    op.create_index("ix_audit_event_created_at", "audit_event", ["created_at"], unique=False)
    op.create_index("ix_audit_event_target_id", "audit_event", ["target_id"], unique=False)
    op.create_table(
        "app_setting",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_app_setting")),
        **MYSQL_TABLE,
    )


def downgrade() -> None:
    op.drop_table("app_setting")
    op.drop_table("audit_event")  # takes its indexes along; MySQL refuses to drop an FK's index alone
    op.drop_table("login_throttle")
    with op.batch_alter_table("user") as batch:
        batch.drop_index("ix_user_last_login_at")
        batch.drop_index("ix_user_create_date")
        if _is_mysql():
            # MySQL needs an index behind the foreign key before the composite one can go.
            batch.create_index("ix_user_role_id", ["role_id"], unique=False)
        batch.drop_index("ix_user_role_id_email")
        for column in (
            "version",
            "password_changed_at",
            "login_count",
            "last_login_at",
            "must_change_password",
            "active",
        ):
            batch.drop_column(column)
        for column in ("create_date", "update_date"):
            batch.alter_column(
                column, type_=sa.DateTime(), existing_type=UTCDateTime(), existing_nullable=False
            )
        batch.alter_column(
            "password_hash",
            type_=sa.String(length=100),
            existing_type=sa.String(length=255),
            existing_nullable=True,
        )
        batch.alter_column(
            "email", type_=sa.String(length=50), existing_type=sa.String(length=254), existing_nullable=False
        )
