"""Rules that depend on a read, made safe on every backend by a write each competitor must also make.

"At least one active administrator", "only the first administrator is created by the setup dialog", "an
administrator acts only while still one" and "the longest lockout is at least the first one" are checked by
reading rows and then writing others. On one server a lock serializes the checks. A Galera cluster
certifies only the rows a transaction writes: two transactions through different nodes that read the same
rule and write different rows would both commit (write skew). So every transaction that checks or changes
such a rule first increments the rule's row in ``invariant_guard``: competitors through different nodes
then write the same row, one fails certification (a deadlock error) and ``services.context.retried`` runs
it again, now seeing the other's result. On one MariaDB server the UPDATE's row lock makes them queue;
SQLite's write transaction already does.

The rows: ``admins`` (changes that may leave fewer active administrators, and the first one's creation),
``settings`` (the shared settings, checked as a whole) and ``admin:<id>``, one per administrator, made on
first use (every administrative write by that person, and every change to their powers). A role removed
while someone is given it needs no guard: the assignment writes a row pointing at the role, which the
foreign key (on a cluster, certification) sets against the removal.

Claim before any other read in the transaction: MariaDB's snapshot starts at the first read, so the
checks that follow see every change committed by the competitors that held the guard before; a check
made after other locks were taken uses a locking read.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.dialects.mysql import insert as mysql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from desktop_auth.constants import ADMINS_GUARD, SETTINGS_GUARD
from desktop_auth.models import InvariantGuard

__all__ = ["ADMINS_GUARD", "SETTINGS_GUARD", "claim"]


def claim(session: Session, *names: str) -> None:
    """Write the guard rows of these rules (in one fixed order, so two claimers cannot deadlock)."""
    for name in sorted(set(names)):
        claimed = session.execute(
            update(InvariantGuard)
            .where(InvariantGuard.name == name)
            .values(claims=InvariantGuard.claims + 1)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount == 0:  # type: ignore[attr-defined]
            _create(session, name)  # the migration seeds every guard; this covers a row deleted by hand


def _create(session: Session, name: str) -> None:
    values = {"name": name, "claims": 1}
    if session.get_bind().dialect.name == "sqlite":
        session.execute(sqlite_insert(InvariantGuard).values(values).on_conflict_do_nothing())
    else:
        statement = mysql_insert(InvariantGuard).values(values)
        session.execute(statement.on_duplicate_key_update(claims=InvariantGuard.claims + 1))
