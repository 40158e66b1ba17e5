"""What one successful sign-in asks of the database, statement by statement, so that a statement added to the
hot path shows here (bench/signin_overhead.py's 1.5x target counts on it), and so that the benchmark's raw
floor keeps doing exactly what authenticate() does (not less: the ratio would flatter us; not more).
"""

from __future__ import annotations

import re
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pymysql
import pytest
from sqlalchemy import event

from desktop_auth.db.engine import Database
from desktop_auth.services import Services
from tests.conftest import MARIADB, STRONG_PASSWORD, register_accounts

BENCH = Path(__file__).resolve().parent.parent / "bench"

# (verb, the tables named, a locking read) of each statement, BEGIN and COMMIT aside.
Statement = tuple[str, frozenset[str], bool]


def _shape(sql: str) -> Statement | None:
    verb = sql.split(None, 1)[0].upper()
    if verb in ("BEGIN", "COMMIT", "ROLLBACK"):
        return None
    tables = re.findall(r"\b(?:FROM|INTO|(?<!KEY )UPDATE|JOIN)\s+[`\"]?(\w+)", sql, flags=re.IGNORECASE)
    return verb, frozenset(t.lower() for t in tables), "FOR UPDATE" in sql.upper()


@contextmanager
def recorded(database: Database) -> Iterator[list[Statement]]:
    statements: list[Statement] = []

    def record(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        shape = _shape(sql)
        if shape is not None:
            statements.append(shape)

    event.listen(database.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(database.engine, "before_cursor_execute", record)


def expected(backend: str) -> list[Statement]:
    token = [("INSERT", frozenset({"applied_operation"}), False)] if backend == "mariadb" else []
    locking = backend == "mariadb"  # SQLite's BEGIN IMMEDIATE already holds the only write lock
    return [
        # reserve the attempt, read the account
        ("SELECT", frozenset({"app_setting"}), False),
        ("INSERT", frozenset({"login_throttle"}), False),
        ("SELECT", frozenset({"login_throttle"}), locking),
        ("UPDATE", frozenset({"login_throttle"}), False),
        ("SELECT", frozenset({"user"}), False),
        *token,
        # the bookkeeping: the user row locked with the role's name and the address's throttle row read
        # in the same statement, the login recorded, the address's failures forgotten
        ("SELECT", frozenset({"user", "role", "login_throttle"}), locking),
        ("UPDATE", frozenset({"user"}), False),
        ("DELETE", frozenset({"login_throttle"}), False),
        *token,
    ]


def test_a_successful_sign_in_issues_these_statements(
    services: Services, database: Database, backend: str
) -> None:
    register_accounts(services, "ann@example.com")
    services.accounts.authenticate("ann@example.com", STRONG_PASSWORD)  # shared settings seeded
    with recorded(database) as statements:
        services.accounts.authenticate("ann@example.com", STRONG_PASSWORD)
    assert statements == expected(backend)


def test_the_benchmark_floor_issues_the_same_statements(
    services: Services, database: Database, backend: str
) -> None:
    sys.path.insert(0, str(BENCH))
    try:
        from signin_overhead import Floor
    finally:
        sys.path.remove(str(BENCH))
    register_accounts(services, "floor@example.com")
    services.accounts.authenticate("floor@example.com", STRONG_PASSWORD)
    statements: list[Statement] = []

    class Cursor:
        def __init__(self, cursor: Any) -> None:
            self._cursor = cursor

        def execute(self, sql: str, parameters: Any = None) -> Any:
            shape = _shape(sql)
            if shape is not None:
                statements.append(shape)
            return self._cursor.execute(sql, parameters or ())

        def __getattr__(self, name: str) -> Any:
            return getattr(self._cursor, name)

    class Connection:
        def __init__(self, connection: Any) -> None:
            self._connection = connection

        def cursor(self) -> Cursor:
            return Cursor(self._connection.cursor())

        def __getattr__(self, name: str) -> Any:
            return getattr(self._connection, name)

    raw = database.engine.raw_connection()
    try:
        Floor(Connection(raw), backend == "sqlite").sign_in("floor@example.com", STRONG_PASSWORD)
    finally:
        raw.close()
    assert statements == expected(backend)


@pytest.mark.parametrize("backend", [pytest.param("mariadb", marks=pytest.mark.mariadb)], indirect=True)
def test_signing_in_does_not_wait_for_a_locked_role_row(services: Services, database: Database) -> None:
    """The role's name comes with the locked user row, as a subquery that MariaDB reads without a lock:
    an administrator holding the role row (editing roles) does not hold up sign-ins, nor deadlock with
    them. (As a join, the user row's FOR UPDATE would lock the role row too.)"""
    register_accounts(services, "ann@example.com")
    signed_in: list[object] = []

    def sign_in() -> None:
        signed_in.append(services.accounts.authenticate("ann@example.com", STRONG_PASSWORD))

    holder = pymysql.connect(database=database.engine.url.database, autocommit=False, **MARIADB)
    worker = threading.Thread(target=sign_in)
    try:
        with holder.cursor() as cursor:
            cursor.execute("BEGIN")
            cursor.execute("SELECT id FROM role WHERE name = 'user' FOR UPDATE")
        worker.start()
        worker.join(timeout=20)
        assert not worker.is_alive(), "the sign-in waited for the role row's lock"
        assert len(signed_in) == 1
    finally:
        holder.rollback()
        holder.close()
        if worker.is_alive():
            worker.join()
