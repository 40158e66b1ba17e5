"""The schema as SQLAlchemy 2.0 typed mappings.

Table and column names follow the tutorial this project grew from (``role``, ``user``, ``email``,
``password_hash``, ``role_id``, ``create_date``, ``update_date``) so its databases and SQL keep working.
Alembic owns the schema: change it here and in a new revision together (``alembic check`` enforces it).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, MetaData, String, Text, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from desktop_auth.constants import (
    ADMIN_ROLE,
    EMAIL_MAX_LENGTH,
    PROTECTED_ROLES,
    ROLE_DESCRIPTION_MAX_LENGTH,
    ROLE_NAME_MAX_LENGTH,
    USER_ROLE,
)
from desktop_auth.db.types import UTCDateTime, binary_string, utcnow
from desktop_auth.identity import SKELETON_KEY_LENGTH, skeleton_key

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

__all__ = [
    "ADMIN_ROLE",
    "EMAIL_MAX_LENGTH",
    "PROTECTED_ROLES",
    "ROLE_NAME_MAX_LENGTH",
    "USER_ROLE",
    "AppSetting",
    "AppliedOperation",
    "AuditEvent",
    "Base",
    "BulkChange",
    "BulkChangeMember",
    "InvariantGuard",
    "LoginThrottle",
    "RecoveryCode",
    "Role",
    "User",
]

TOTP_SECRET_MAX_LENGTH = 255  # a Fernet token of a 32-character secret is ~140 characters
RECOVERY_SALT_LENGTH = 32  # hex characters
RECOVERY_DIGEST_LENGTH = 64  # hex HMAC-SHA-256

MYSQL_TABLE_ARGS = {
    "mysql_engine": "InnoDB",
    "mysql_charset": "utf8mb4",
    "mysql_collate": "utf8mb4_unicode_ci",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Role(Base):
    __tablename__ = "role"
    __table_args__ = MYSQL_TABLE_ARGS

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(ROLE_NAME_MAX_LENGTH), unique=True)
    description: Mapped[str | None] = mapped_column(String(ROLE_DESCRIPTION_MAX_LENGTH))


def _email_skeleton(context: Any) -> str:
    """Default for ``user.email_skeleton``: every insert gets it, whichever path it takes."""
    return skeleton_key(context.get_current_parameters()["email"])


class User(Base):
    __tablename__ = "user"
    __table_args__ = (
        Index("ix_user_role_id_email", "role_id", "email"),
        Index("ix_user_create_date", "create_date"),
        Index("ix_user_last_login_at", "last_login_at"),
        # SQLite: a deleted account's id is never given to a new one (a stale edit of it, checked by id and
        # version, must not land on a newcomer); InnoDB's counter never goes back anyway.
        {**MYSQL_TABLE_ARGS, "sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Stored normalized (desktop_auth.identity) and compared byte for byte, so one address is one account
    # on every backend.
    email: Mapped[str] = mapped_column(binary_string(EMAIL_MAX_LENGTH), unique=True, index=True)
    # Look-alike key (desktop_auth.identity.skeleton_key); unique, so two look-alikes cannot both get in.
    email_skeleton: Mapped[str] = mapped_column(
        binary_string(SKELETON_KEY_LENGTH), unique=True, index=True, default=_email_skeleton
    )
    # 255 fits every werkzeug method (scrypt hashes are ~160 characters); NULL means "cannot sign in".
    password_hash: Mapped[str | None] = mapped_column(String(255))
    role_id: Mapped[int] = mapped_column(ForeignKey("role.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("1"))
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("0"))
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    login_count: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    create_date: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    update_date: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"))
    # The TOTP secret as security.totp.SecretBox stores it (NULL: no second factor), and the last step
    # whose code was accepted (a code is good once).
    totp_secret: Mapped[str | None] = mapped_column(String(TOTP_SECRET_MAX_LENGTH))
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)

    role: Mapped[Role] = relationship(lazy="joined", innerjoin=True)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy reads it as declared


class LoginThrottle(Base):
    """Failed sign-in counting per normalized email, whether or not an account exists.

    Keyed by email rather than stored on ``user`` so that throttling an unknown address looks exactly like
    throttling a real one; the role editor reads a user's lock state through this table.
    """

    __tablename__ = "login_throttle"
    __table_args__ = MYSQL_TABLE_ARGS

    email: Mapped[str] = mapped_column(binary_string(EMAIL_MAX_LENGTH), primary_key=True)
    failed_count: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    lockout_count: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_failure_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class AuditEvent(Base):
    """Who did what to whom, and when. Emails are copied so the record outlives the accounts."""

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_created_at", "created_at"),
        Index("ix_audit_event_target_id", "target_id"),
        # Deleting an account sets actor_id NULL in its rows: without an index SQLite scans the whole log.
        Index("ix_audit_event_actor_id", "actor_id"),
        MYSQL_TABLE_ARGS,
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    actor: Mapped[str] = mapped_column(String(EMAIL_MAX_LENGTH))
    action: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    target: Mapped[str] = mapped_column(String(EMAIL_MAX_LENGTH))
    old_value: Mapped[str | None] = mapped_column(String(255))
    new_value: Mapped[str | None] = mapped_column(String(255))
    detail: Mapped[str | None] = mapped_column(Text)


class AppSetting(Base):
    """Settings an administrator changes for every client of one database (e.g. self-registration)."""

    __tablename__ = "app_setting"
    __table_args__ = MYSQL_TABLE_ARGS

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))


class InvariantGuard(Base):
    """One row per rule that depends on a read (see ``desktop_auth.services.guards``).

    A transaction that checks or changes such a rule increments the rule's row first. On one server the
    row lock makes competitors wait; on a Galera cluster, which certifies only the rows a transaction
    writes, two competitors through different nodes both write this row, so one fails certification and
    is retried against the other's result instead of both committing (write skew).
    """

    __tablename__ = "invariant_guard"
    __table_args__ = MYSQL_TABLE_ARGS

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    claims: Mapped[int] = mapped_column(BigInteger, default=0, server_default=text("0"))


class AppliedOperation(Base):
    """A token written by every write transaction on a database server, in the same transaction.

    When the connection drops during COMMIT nobody knows whether it committed; the client looks for its
    token to find out instead of applying the change twice (``desktop_auth.db.engine``). Tokens are kept
    for a day, long enough for any client to check.
    """

    __tablename__ = "applied_operation"
    __table_args__ = (Index("ix_applied_operation_applied_at", "applied_at"), MYSQL_TABLE_ARGS)

    token: Mapped[str] = mapped_column(String(32), primary_key=True)
    applied_at: Mapped[datetime] = mapped_column(UTCDateTime())


class BulkChange(Base):
    """A change to many users at once, said as a query (``desktop_auth.services.bulk``): staged with a
    snapshot of the users it is for (``BulkChangeMember``), then applied in one transaction or, when large,
    as a job committed in chunks that can be resumed (from ``last_user_id``, the last user done) or cancelled."""

    __tablename__ = "bulk_change"
    __table_args__ = (Index("ix_bulk_change_state", "state"), MYSQL_TABLE_ARGS)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    actor: Mapped[str] = mapped_column(String(EMAIL_MAX_LENGTH))
    # The role by name, not a foreign key: a staged change must not stop a role's removal (applying it
    # then reports the role missing).
    role: Mapped[str | None] = mapped_column(String(ROLE_NAME_MAX_LENGTH))
    active: Mapped[bool | None] = mapped_column(Boolean)
    state: Mapped[str] = mapped_column(String(16))
    total: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    last_user_id: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    done: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    changed: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    conflicts: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    message: Mapped[str | None] = mapped_column(Text)


class BulkChangeMember(Base):
    """One user a bulk change is for, and the version of that user when the change was staged: a user
    whose version differs when the change reaches them was changed since, and is left alone (a conflict).
    No foreign key to ``user``: a deleted user is a conflict too, not an error."""

    __tablename__ = "bulk_change_member"
    __table_args__ = MYSQL_TABLE_ARGS

    change_id: Mapped[int] = mapped_column(
        ForeignKey("bulk_change.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    user_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(Integer)


class RecoveryCode(Base):
    """One of a person's one-time codes for resetting a forgotten password (``services.recovery``).

    A code carries at least 60 random bits, so a salted fast hash is enough (``digest``: HMAC-SHA-256 of
    the code keyed by the batch's ``salt``): one check is one hash and one indexed lookup. ``used_at`` is
    set when it is spent; a new batch replaces the rows of the earlier one.
    """

    __tablename__ = "recovery_code"
    __table_args__ = (
        Index("ix_recovery_code_user_id_digest", "user_id", "digest"),
        # The users table counts each row's unused codes: answered from this index alone.
        Index("ix_recovery_code_user_id_used_at", "user_id", "used_at"),
        MYSQL_TABLE_ARGS,
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    salt: Mapped[str] = mapped_column(String(RECOVERY_SALT_LENGTH))
    digest: Mapped[str] = mapped_column(String(RECOVERY_DIGEST_LENGTH))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
