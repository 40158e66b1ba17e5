"""Settle a COMMIT whose answer never arrived, without applying anything twice.

When the connection drops during COMMIT (a node dies, a proxy fails over) the change may or may not have
been committed. Every write transaction on a server inserts a random token just before COMMIT; the client
then asks (on a new connection, through whichever node answers) whether its token is there. Tokens live a
day, far longer than any client takes to ask, and are purged in small batches now and then.
"""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from desktop_auth.db.types import utcnow

log = logging.getLogger(__name__)

KEPT_FOR = timedelta(days=1)
PURGE_BATCH = 1000


def new_token() -> str:
    return secrets.token_hex(16)  # 32 characters, the column's width


# Built once and run on the session's connection: every write transaction records one, two per sign-in, and
# bench/signin_overhead.py's 1.5x target needs the difference (see services/accounts.py, "Sign-in's
# statements"). Database.transaction() flushes the session's pending changes before it records the token.
_RECORD = text("INSERT INTO applied_operation (token, applied_at) VALUES (:token, :now)")


def record(session: Session, token: str) -> None:
    session.connection().execute(_RECORD, {"token": token, "now": utcnow().replace(tzinfo=None)})


def was_applied(connection: Connection, token: str) -> bool:
    """Is the token there? A locking read: a COMMIT the server is still working on (waiting for a replica's
    acknowledgement, say) holds the token's row lock, so this waits for its outcome instead of reading
    "not there" and letting the client apply the change a second time."""
    found = connection.execute(
        text("SELECT 1 FROM applied_operation WHERE token = :token LOCK IN SHARE MODE"), {"token": token}
    )
    return found.first() is not None


def purge_old(connection: Connection) -> int:
    """Delete up to PURGE_BATCH tokens older than KEPT_FOR (MariaDB/MySQL only); return how many went."""
    cutoff = (utcnow() - KEPT_FOR).replace(tzinfo=None)
    result = connection.execute(
        text(f"DELETE FROM applied_operation WHERE applied_at < :cutoff LIMIT {PURGE_BATCH}"),
        {"cutoff": cutoff},
    )
    return int(result.rowcount)
