"""What meeting signin_overhead.py's 1.5x target would take: the same successful sign-in, run four ways in one
process, each against the raw-DBAPI floor of signin_overhead.py (issue #15; this script has no target).

    python bench/signin_what_it_takes.py [--quick] [--size N] [--rounds N] [--backend sqlite|mariadb|both]

1. ``authenticate()``, as shipped (services, retries, typed errors, Session joined to the transaction).
2. The same Core statements (the services' own statement objects) on a bare SQLAlchemy ``Connection``: no
   services, no Session, no retries, no commit token (so it does less than the floor on MariaDB).
3. A SQLAlchemy ``Connection`` for the transaction, the statements compiled once and run on its DBAPI cursor.
4. A pooled DBAPI connection for the transaction (BEGIN/COMMIT on the cursor), the statements compiled once and
   run on the cursor: the shape a sign-in would need to take to meet 1.5x, before any service logic.

Variants 2-4 are sketches for measuring only: they skip the lockout rules' decisions, error translation and
retries, so what they save is an upper bound.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections import namedtuple
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from common import CHEAP_HASH, PASSWORD, Report, backends, median_ms, parser, scratch_database
from seed_users import seed
from signin_overhead import FLOOR_EMAIL, SERVICE_EMAIL, Floor

SKETCH_EMAIL = "sketch@example.com"


class CompiledOnce:
    """A Core statement compiled once for a dialect, run on a DBAPI cursor with SQLAlchemy's own bind and
    result processors (so datetimes and booleans come back as the services expect)."""

    def __init__(self, statement: Any, dialect: Any) -> None:
        self.compiled = statement.compile(dialect=dialect)
        self.sql = str(self.compiled)
        self.order = list(self.compiled.positiontup) if self.compiled.positional else None
        self.bind = {
            name: processor
            for name, parameter in self.compiled.binds.items()
            if (processor := parameter.type.dialect_impl(dialect).bind_processor(dialect)) is not None
        }
        columns = list(getattr(statement, "selected_columns", []))
        self.results = [c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns]
        self.row = namedtuple("Row", [c.key for c in columns], rename=True) if columns else None  # type: ignore[misc]

    def run(self, cursor: Any, given: dict[str, Any]) -> list[Any]:
        values = self.compiled.construct_params(given)
        for name, processor in self.bind.items():
            values[name] = processor(values[name])
        cursor.execute(self.sql, tuple(values[n] for n in self.order) if self.order is not None else values)
        if self.row is None:
            return []
        return [
            self.row(*[v if f is None else f(v) for f, v in zip(self.results, raw, strict=True)])
            for raw in cursor.fetchall()
        ]


def sketches(services: Any, sqlite: bool) -> dict[str, Callable[[str, str], None]]:
    from sqlalchemy import Connection
    from werkzeug.security import check_password_hash

    from desktop_auth.db import commit_tokens
    from desktop_auth.db.engine import _ENDED as TRANSACTION_ENDED
    from desktop_auth.services import accounts, app_settings, throttle

    engine, idle_release = services.database.engine, services.database.idle_release
    upsert = throttle._INSERT_MISSING_SQLITE if sqlite else throttle._INSERT_MISSING_MYSQL
    cache: dict[int, CompiledOnce] = {}

    def on_cursor(cursor: Any) -> Callable[..., list[Any]]:
        def execute(statement: Any, given: dict[str, Any] | None = None) -> list[Any]:
            compiled = cache.get(id(statement))
            if compiled is None:
                compiled = cache[id(statement)] = CompiledOnce(statement, engine.dialect)
            return compiled.run(cursor, given or {})

        return execute

    def on_connection(connection: Connection) -> Callable[..., list[Any]]:
        def execute(statement: Any, given: dict[str, Any] | None = None) -> list[Any]:
            result = connection.execute(statement, given)
            return list(result) if result.returns_rows else []

        return execute

    def sign_in(transaction: Callable[[], Any], email: str, password: str) -> None:
        now = datetime.now(UTC)
        with transaction() as execute:
            execute(app_settings._ALL)
            execute(upsert, {"key": email})
            (row,) = execute(throttle._READ_LOCKED, {"key": email})
            execute(
                throttle._WRITE,
                {
                    "key": email,
                    "new_failed_count": row.failed_count + 1,
                    "new_lockout_count": row.lockout_count,
                    "new_locked_until": None,
                    "new_last_failure_at": now,
                },
            )
            (account,) = execute(accounts._ACCOUNT_BY_EMAIL, {"key": email})
        assert check_password_hash(account.password_hash, password)
        with transaction() as execute:
            (user,) = execute(accounts._USER_LOCKED, {"user_id": account.id, "key": email})
            assert user.active
            assert user.password_hash == account.password_hash
            execute(accounts._RECORD_LOGIN, {"user_id": account.id, "now": now})
            if user.counting is not None:
                execute(throttle._DELETE_ONE, {"key": email})

    @contextmanager
    def core(direct: bool) -> Iterator[Callable[..., list[Any]]]:
        with idle_release.connect() as connection:
            if sqlite:
                connection = connection.execution_options(sqlite_begin="BEGIN IMMEDIATE")
            with connection.begin():
                if not direct:
                    yield on_connection(connection)
                    return
                execute = on_cursor(connection.connection.cursor())
                yield execute
                if not sqlite:
                    execute(commit_tokens._RECORD, {"token": commit_tokens.new_token(), "now": now_naive()})

    @contextmanager
    def pooled() -> Iterator[Callable[..., list[Any]]]:
        dbapi_connection = engine.raw_connection()
        try:
            cursor = dbapi_connection.cursor()
            cursor.execute("BEGIN IMMEDIATE" if sqlite else "BEGIN")
            execute = on_cursor(cursor)
            yield execute
            if not sqlite:
                execute(commit_tokens._RECORD, {"token": commit_tokens.new_token(), "now": now_naive()})
            dbapi_connection.commit()
            dbapi_connection.info[TRANSACTION_ENDED] = (
                True  # as Database.transaction() marks it: no reset ROLLBACK
            )
        finally:
            dbapi_connection.close()

    return {
        "2. Core on a Connection, no services": lambda e, p: sign_in(lambda: core(direct=False), e, p),
        "3. Connection + statements on its cursor": lambda e, p: sign_in(lambda: core(direct=True), e, p),
        "4. DBAPI transaction + statements on the cursor": lambda e, p: sign_in(pooled, e, p),
    }


def now_naive() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def measure(url: str, rounds: int) -> tuple[float, dict[str, float]]:
    from desktop_auth.config import Settings
    from desktop_auth.services.facade import Services

    services = Services(Settings(database_url=url, hash_method=CHEAP_HASH, allow_weak_hash_for_tests=True))
    for email in (SERVICE_EMAIL, FLOOR_EMAIL, SKETCH_EMAIL):
        services.accounts.register(email, PASSWORD)
    raw = services.database.engine.raw_connection()
    floor = Floor(raw, url.startswith("sqlite"))
    runs: dict[str, Callable[[], object]] = {
        "1. authenticate()": lambda: services.accounts.authenticate(SERVICE_EMAIL, PASSWORD),
        **{
            name: (lambda run=run: run(SKETCH_EMAIL, PASSWORD))
            for name, run in sketches(services, url.startswith("sqlite")).items()
        },
    }
    times: dict[str, list[float]] = {name: [] for name in runs}
    floor_times: list[float] = []
    for warm in range(3 + rounds):  # interleaved, so load drift hits every variant alike
        started = time.perf_counter()
        floor.sign_in(FLOOR_EMAIL, PASSWORD)
        if warm >= 3:
            floor_times.append(time.perf_counter() - started)
        for name, run in runs.items():
            started = time.perf_counter()
            run()
            if warm >= 3:
                times[name].append(time.perf_counter() - started)
    raw.close()
    services.close()
    return median_ms(floor_times), {name: median_ms(values) for name, values in times.items()}


def main(argv: list[str]) -> int:
    p = parser(__doc__ or "")
    p.add_argument("--size", type=int, help="users to seed first (default 100,000; 0 with --quick)")
    p.add_argument("--rounds", type=int, help="sign-ins of each kind (default 301; 15 with --quick)")
    args = p.parse_args(argv)
    size = args.size if args.size is not None else 0 if args.quick else 100_000
    rounds = args.rounds or (15 if args.quick else 301)
    report = Report(f"What sign-in within 1.5x of raw DBAPI would take, {size:,} users ({CHEAP_HASH})")
    with tempfile.TemporaryDirectory() as scratch:
        for backend in backends(args):
            with scratch_database(backend, Path(scratch)) as url:
                if size:
                    print(f"{backend}: seeded {size:,} users in {seed(url, size):.1f} s")
                floor, variants = measure(url, rounds)
            report.measure(f"{backend}: floor (raw DBAPI, median of {rounds})", f"{floor:.2f} ms")
            for name, value in variants.items():
                report.measure(f"{backend}: {name}", f"{value:.2f} ms", value / floor)
    return report.print()


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
