"""Engine and transaction handling: one short transaction per user action, never a global session."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, exc
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session
from sqlalchemy.pool import PoolResetState

from desktop_auth import file_modes, paths
from desktop_auth.config import Settings
from desktop_auth.db import commit_tokens
from desktop_auth.db.errors import (
    CommitOutcomeUnknownError,
    DatabaseBusyError,
    DatabaseConnectionLostError,
    DatabaseUnavailableError,
    DatabaseUrlError,
)
from desktop_auth.db.idle_release import IdleRelease
from desktop_auth.db.urls import (
    mask_url,
    parse_database_url,
    scrub,
    tls_connect_args,
    url_flag,
    url_secrets,
)
from desktop_auth.logs import hide_in_logs
from desktop_auth.messages import Message, message

log = logging.getLogger(__name__)

SQLITE_CACHE_KIB = 512  # see the PRAGMA below
GALERA_INFO_KEY = "desktop_auth_galera"
RECONNECT_PAUSE_SECONDS = 0.5
TOKEN_PURGE_INTERVAL_SECONDS = 600
# A pooled server connection is pinged on checkout only after this long unused (see _ping_if_idle).
PING_AFTER_IDLE_SECONDS = 1.0
# Keys of a pool record's info: when its connection was last given back; that its transaction is committed.
_RETURNED_AT = "desktop_auth_returned_at"
_ENDED = "desktop_auth_transaction_ended"

__all__ = ["Database", "make_engine", "mask_url", "parse_database_url", "translate_errors"]


def _sqlite_begin(conn: Any) -> None:
    # pysqlite's own transaction handling starts transactions late; we issue BEGIN ourselves so reads
    # and writes of one action share a snapshot, and writers take the lock up front (BEGIN IMMEDIATE).
    conn.exec_driver_sql(conn.get_execution_options().get("sqlite_begin", "BEGIN"))


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # A quarter of SQLite's default page cache (2 MiB) per pooled connection: the OS caches the file anyway,
    # the app's reads walk an index for a page of rows, and one scan such as counting a million users fills
    # the whole cache (1 MiB of it made the role editor's peak memory exceed QSqlTableModel's).
    cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
    cursor.close()


def _mysql_on_connect(dbapi_connection: Any, record: Any) -> None:
    # On a Galera node, reads and updates wait until the node has applied every write committed anywhere in
    # the cluster before them (wsrep_sync_wait=3: SELECT, SHOW, BEGIN, UPDATE, DELETE), so a decision (is this
    # account still active? is this address taken?) never rests on a node that lags, and a guard claim (an
    # UPDATE, often a transaction's first statement) meets the latest row, or the table a migration just
    # made. MySQL has no such variable: no row.
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("SHOW VARIABLES LIKE 'wsrep_on'")
        row = cursor.fetchone()
        galera = row is not None and str(row[1]).upper() == "ON"
        if galera:
            cursor.execute("SET SESSION wsrep_sync_wait = 3")
    finally:
        cursor.close()
    record.info[GALERA_INFO_KEY] = galera


def _reset_on_return(dbapi_connection: Any, record: Any, reset_state: PoolResetState) -> None:
    """The pool's reset of a connection given back (``pool_reset_on_return=None`` leaves it to this
    ``reset`` event, as SQLAlchemy documents): ROLLBACK, unless the transaction has already ended, because
    ``Database.transaction()`` committed it (marked in the record's info just after its COMMIT) or the
    ``Connection`` rolled it back as it closed (``transaction_was_reset``). After a COMMIT the pool's own
    ROLLBACK would be a wasted round trip on a server; a connection given back mid-transaction (an error,
    raw DBAPI use) is still rolled back."""
    ended = record.info.pop(_ENDED, False)
    if reset_state.transaction_was_reset or (ended and not reset_state.terminate_only):
        return
    dbapi_connection.rollback()


def _note_returned(_dbapi_connection: Any, record: Any) -> None:
    record.info[_RETURNED_AT] = time.monotonic()


def _ping_if_idle(engine: Engine) -> Any:
    """A pool ``checkout`` listener in place of ``pool_pre_ping``: ping a server connection only if it has
    sat unused for PING_AFTER_IDLE_SECONDS; a dead one is then replaced and the pool invalidated, as
    pre-ping does. A new connection is not pinged (it has just been made), nor is one given back moments
    ago: it answered then. One that died since (a node failing over mid-burst) fails on its first statement
    instead; SQLAlchemy then invalidates the pool, ``services.context.retried`` runs the call again on a new
    connection within ``db_failover_seconds``, and a COMMIT it interrupts is settled by its commit token.
    A ping per checkout costs a round trip in every transaction (two per sign-in, issue #15)."""
    dialect = engine.dialect

    def checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        returned_at = record.info.get(_RETURNED_AT)
        if returned_at is None or time.monotonic() - returned_at < PING_AFTER_IDLE_SECONDS:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            raise exc.InvalidatePoolError(f"ping after {PING_AFTER_IDLE_SECONDS:g} s idle failed") from error

    return checkout


def _prepare_sqlite_file(path: Path, embedded: bool) -> None:
    """Create a new database file 0600 before SQLite opens it (SQLite gives its -wal and -shm files the
    main file's mode). The embedded database's folder is the app's own and is created 0700; a folder a
    person named is created plainly if missing and never changed, nor is an existing file."""
    if embedded or paths.is_app_owned(path.parent):
        file_modes.make_private_dir(path.parent)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
    file_modes.create_private_file(path)


def _unless_in_url(url: URL, **defaults: int) -> dict[str, int]:
    """Our defaults for driver options the URL does not set itself (an operator's ?connect_timeout=20 wins)."""
    return {name: value for name, value in defaults.items() if name not in url.query}


def make_engine(settings: Settings, **engine_options: Any) -> Engine:
    """Create an engine for the configured URL. Raises DatabaseUrlError for unusable URLs.

    No SQL parameter (a hash, an address) ever appears in an error or the log (``hide_parameters``), and
    the URL's secrets are masked in every log line.
    """
    url = parse_database_url(settings.database_url)
    hide_in_logs(*url_secrets(url))
    options: dict[str, Any] = {"hide_parameters": True, "pool_reset_on_return": None}  # _reset_on_return
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:" and not url.database.startswith("file:"):
            _prepare_sqlite_file(Path(url.database).expanduser(), settings.embedded)
        options["connect_args"] = {"timeout": 30, "check_same_thread": False}
    else:
        url = url.update_query_dict({"charset": "utf8mb4"})
        options.update(
            pool_recycle=settings.db_pool_recycle_seconds,
            # At most db_pool_size server connections per client, never more: with thousands of desktops the
            # server's max_connections is the scarce thing. Extra concurrent work waits its turn; transactions
            # are short, so the wait only runs out if the server is stuck (a holder may sit in a lock wait of
            # innodb_lock_wait_timeout, 50 s, behind a few other GUI tasks): then DatabaseBusyError.
            pool_size=settings.db_pool_size,
            max_overflow=0,
            pool_timeout=180,
            connect_args={
                **_unless_in_url(url, connect_timeout=5, read_timeout=30, write_timeout=30),
                **tls_connect_args(url),
            },
        )
    options.update(engine_options)
    if "poolclass" in engine_options:  # e.g. NullPool for one-off commands takes no sizing arguments
        for sizing in ("pool_size", "max_overflow", "pool_timeout"):
            options.pop(sizing, None)
    try:
        engine = create_engine(url, **options)
    except (exc.ArgumentError, exc.NoSuchModuleError, ImportError) as error:
        raise DatabaseUrlError(
            message("DatabaseErrors", "DATABASE_URL '{url}' cannot be used: {detail}").format(
                url=mask_url(url), detail=scrub(str(error), url_secrets(url))
            )
        ) from None
    event.listen(engine, "reset", _reset_on_return)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_begin)
    else:
        event.listen(engine, "connect", _mysql_on_connect)
        event.listen(engine, "checkin", _note_returned)
        event.listen(engine, "checkout", _ping_if_idle(engine))
    return engine


@contextmanager
def translate_errors(engine: Engine) -> Iterator[None]:
    """Turn driver-level connection failures into DatabaseUnavailableError with a readable message."""
    try:
        yield
    except exc.OperationalError as error:
        if _is_contention(engine, error):
            raise DatabaseBusyError(
                message("DatabaseErrors", "The database is busy with another client; please try again.")
            ) from error
        if _tls_problem(engine, error):  # a refused certificate does not come right by retrying
            raise DatabaseUnavailableError(_unavailable_message(engine, error)) from error
        if is_connection_lost(engine, error):
            raise DatabaseConnectionLostError(_unavailable_message(engine, error)) from error
        raise DatabaseUnavailableError(_unavailable_message(engine, error)) from error
    except exc.DBAPIError as error:
        if is_connection_lost(engine, error):
            raise DatabaseConnectionLostError(_unavailable_message(engine, error)) from error
        raise
    except RuntimeError as error:  # PyMySQL, for MySQL 8's default sign-in without PyMySQL's rsa extra
        if "cryptography" not in str(error):
            raise
        raise DatabaseUnavailableError(
            message(
                "DatabaseErrors",
                "The database is unavailable ({location}): the server signs in with caching_sha2_password or "
                "sha256_password, which needs the 'cryptography' package; reinstall desktop-auth (it depends on "
                "PyMySQL[rsa])",
            ).format(location=mask_url(engine.url))
        ) from error


# Lock wait timeout; deadlock (on Galera also a failed certification or a transaction aborted by a
# replicated one); and a savepoint that no longer exists, which is how rolling back to a savepoint reads once
# a deadlock or a Galera abort has rolled back the whole transaction (the 1213 is then lost behind it);
# and InnoDB's report of a deadlock on a table's AUTO-INC lock ("Failed to read auto-increment value").
_MYSQL_CONTENTION_CODES = frozenset({1205, 1213, 1305, 1467})
# Can't connect (socket, TCP), server gone away, lost connection (also during the handshake, e.g. a proxy
# with no live node behind it), connection killed, server shutting down, and a Galera node that is not part
# of the primary component ("WSREP has not yet prepared node for application use").
_MYSQL_CONNECTION_LOST_CODES = frozenset({2002, 2003, 2006, 2013, 2055, 1927, 1053, 1047})


def is_connection_lost(engine: Engine, error: exc.DBAPIError) -> bool:
    """Did this error end the connection (or never get one) without anything being committed by it?"""
    if error.connection_invalidated or isinstance(error, exc.InterfaceError):
        return True
    if engine.dialect.name == "sqlite":
        return False
    code = error.orig.args[0] if error.orig is not None and error.orig.args else None
    return code in _MYSQL_CONNECTION_LOST_CODES


def _is_contention(engine: Engine, error: exc.DBAPIError) -> bool:
    if engine.dialect.name == "sqlite":
        return "locked" in str(error.orig) or "busy" in str(error.orig)
    code = error.orig.args[0] if error.orig is not None and error.orig.args else None
    return code in _MYSQL_CONTENTION_CODES


# MySQL 8's "Connections using insecure transport are prohibited while --require_secure_transport=ON".
_MYSQL_INSECURE_TRANSPORT = 3159


def _tls_problem(engine: Engine, error: exc.DBAPIError) -> Message | None:
    """What went wrong with TLS, as a person can act on it (the whole "unavailable" message, with
    ``{location}`` still to fill in); None when ``error`` is not about TLS."""
    if engine.dialect.name == "sqlite" or error.orig is None or not error.orig.args:
        return None
    code, text = error.orig.args[0], str(error.orig.args[-1])
    verify = re.search(r"certificate verify failed: (.+?)(?: \(_ssl\.c:\d+\))?\)*$", text)
    if verify:
        reason = verify.group(1).rstrip(".")
        if "mismatch" in reason:
            return message(
                "DatabaseErrors",
                "The database is unavailable ({location}): the server's TLS certificate was refused "
                "(certificate verify failed: {reason}): connect to a host name or address that the server's "
                "certificate lists",
            ).format(reason=reason)
        return message(
            "DatabaseErrors",
            "The database is unavailable ({location}): the server's TLS certificate was refused (certificate "
            "verify failed: {reason}): check that ssl_ca names the CA that signed the server's certificate",
        ).format(reason=reason)
    if code == _MYSQL_INSECURE_TRANSPORT or "insecure transport" in text:
        return message(
            "DatabaseErrors",
            "The database is unavailable ({location}): the server requires TLS (require_secure_transport): add "
            "ssl_ca=/path/to/ca.pem&ssl_verify_cert=true&ssl_verify_identity=true to DATABASE_URL",
        )
    if code == 2026 or "[SSL" in text:  # CR_SSL_CONNECTION_ERROR, or the TLS handshake itself
        return message(
            "DatabaseErrors",
            "The database is unavailable ({location}): TLS could not be set up with the server ({detail})",
        ).format(detail=re.sub(r" ?[(]_ssl[.]c:[0-9]+[)]", "", text))
    if code == 1045 and url_flag(engine.url, "ssl_disabled"):
        # MariaDB refuses a plain connection under require_secure_transport as "Access denied".
        return message(
            "DatabaseErrors",
            "The database is unavailable ({location}): {detail}; this connection was not encrypted "
            "(ssl_disabled=true), which a server that requires TLS (require_secure_transport) refuses: remove "
            "ssl_disabled and add ssl_ca=/path/to/ca.pem&ssl_verify_cert=true&ssl_verify_identity=true to "
            "DATABASE_URL",
        ).format(detail=text)
    return None


def _unavailable_message(engine: Engine, error: exc.DBAPIError) -> Message:
    """The database cannot be reached: where (the URL without its secrets) and why (the driver's own words,
    a parameter, without anything secret the driver may echo)."""
    secrets = url_secrets(engine.url)
    text = _tls_problem(engine, error) or message(
        "DatabaseErrors", "The database is unavailable ({location}): {detail}"
    ).format(
        detail=str(error.orig).strip().splitlines()[0] if error.orig is not None else type(error).__name__
    )
    scrubbed = {name: scrub(value, secrets) for name, value in text.params if isinstance(value, str)}
    return text.format(**scrubbed, location=mask_url(engine.url))


class Database:
    """Owns the engine; hands out one short transaction at a time."""

    def __init__(self, settings: Settings, engine: Engine | None = None) -> None:
        self.settings = settings
        self.engine = engine if engine is not None else make_engine(settings)
        self.idle_release = IdleRelease(self.engine, settings.db_idle_seconds)
        self._next_token_purge = 0.0  # after this client's first write (a CLI command makes only a few)
        self._has_connected = False
        event.listen(self.engine, "connect", self._connected)

    def _connected(self, _dbapi_connection: Any, _record: Any) -> None:
        self._has_connected = True

    @property
    def has_connected(self) -> bool:
        """Has this client reached the database at least once? Only then is a lost connection worth
        waiting out (a node failing over); a server unreachable from the start is reported at once."""
        return self._has_connected

    @property
    def dialect_name(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def transaction(self, write: bool = False) -> Iterator[Session]:
        """One unit of work: committed when the block ends, rolled back on any error.

        A write transaction on a server also records a token (``commit_tokens``): if the connection drops
        during COMMIT, the block ends normally when the token shows the commit happened, and raises
        DatabaseConnectionLostError (safe to run again) when it shows it did not.
        """
        token = commit_tokens.new_token() if write and self.dialect_name != "sqlite" else None
        interrupted: exc.DBAPIError | None = None
        with translate_errors(self.engine), self.idle_release.connect() as connection:
            if self.dialect_name == "sqlite":
                connection = connection.execution_options(
                    sqlite_begin="BEGIN IMMEDIATE" if write else "BEGIN"
                )
            committing = False
            try:
                # The transaction is the connection's and the Session joins it (SQLAlchemy's "joining a
                # Session into an external transaction"): it neither commits nor rolls back, which skips its
                # own transaction bookkeeping (~0.03 ms of a ~0.12 ms transaction on SQLite; issue #15's
                # bench/signin_overhead.py). It is flushed here, before the commit token and the COMMIT.
                with connection.begin():
                    with Session(bind=connection, expire_on_commit=False, autoflush=True) as session:
                        yield session
                        session.flush()
                        if token is not None:
                            commit_tokens.record(session, token)
                    committing = True
                connection.info[_ENDED] = True  # committed: the pool has nothing to roll back
            except exc.DBAPIError as error:
                if token is None or not committing or not is_connection_lost(self.engine, error):
                    raise
                interrupted = error  # settled below, once the broken connection is given back
        if token is None:
            return
        if interrupted is not None:
            self._settle_commit(token, interrupted)
        self._purge_tokens_now_and_then()

    def _settle_commit(self, token: str, error: exc.DBAPIError) -> None:
        """The connection dropped during COMMIT: return if it committed, raise DatabaseConnectionLostError
        (safe to run again) if it did not, CommitOutcomeUnknownError if nobody can tell."""
        log.warning("Connection lost during COMMIT; checking whether it was applied")
        unknown = CommitOutcomeUnknownError(
            message(
                "DatabaseErrors",
                "The connection to the database was lost while saving, and the database could not be reached "
                "to find out whether the change was saved. Look before trying again.",
            )
        )
        deadline = time.monotonic() + self.settings.db_failover_seconds
        while True:
            try:
                with translate_errors(self.engine), self.idle_release.connect() as connection:
                    applied = commit_tokens.was_applied(connection, token)
            except DatabaseConnectionLostError:
                if time.monotonic() >= deadline:
                    raise unknown from error
                time.sleep(RECONNECT_PAUSE_SECONDS)
                continue
            except Exception as check_error:  # a lock wait timeout, say: the COMMIT may still be running
                raise unknown from check_error
            if applied:
                log.info("The interrupted COMMIT had been applied")
                return
            raise DatabaseConnectionLostError(_unavailable_message(self.engine, error)) from error

    def _purge_tokens_now_and_then(self) -> None:
        now = time.monotonic()
        if now < self._next_token_purge:
            return
        self._next_token_purge = now + TOKEN_PURGE_INTERVAL_SECONDS
        try:
            with self.idle_release.connect() as connection, connection.begin():
                purged = commit_tokens.purge_old(connection)
        except Exception as error:  # another client purging the same rows, say: the next one will do
            log.debug("Commit tokens not purged this time: %s", type(error).__name__)
            return
        if purged:
            log.info("Purged %s old commit tokens", purged)

    def is_galera(self) -> bool:
        """Is this a Galera cluster node (``wsrep_on``)? Its connections then read with causality."""
        with translate_errors(self.engine), self.idle_release.connect() as connection:
            return bool(connection.info.get(GALERA_INFO_KEY, False))

    def ping(self) -> None:
        """Raise DatabaseUnavailableError when the server cannot be reached."""
        with translate_errors(self.engine), self.idle_release.connect() as connection:
            connection.exec_driver_sql("SELECT 1")

    def dispose(self) -> None:
        self.idle_release.stop()
        self.engine.dispose()
