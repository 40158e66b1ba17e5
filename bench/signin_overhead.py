"""Sign-in overhead: the service's authenticate() against a floor that does the same database work with raw
DBAPI calls, with a cheap hash configured so that the database work is what is measured (against the real
~300 ms hash, 30 ms of waste would hide under 1.10x). SQLite and MariaDB. Target: <= 1.5x.

    python bench/signin_overhead.py [--quick] [--size N] [--rounds N] [--backend sqlite|mariadb|both]

The user table holds N seeded users (default 1,000,000; none with --quick), so the lookups by email and id
walk indexes of a realistic depth.

The floor, on one pooled connection of the same engine (so the same PRAGMAs and session settings), does what
a successful authenticate() must (services/accounts.py, services/throttle.py), statement for statement:
- one write transaction that reserves the attempt: read the shared settings (the lockout rules), upsert the
  address's throttle row, read it locked, write its counters back (the attempt counted), and read the account
  by email;
- the hash check, outside any transaction (werkzeug, the same cheap hash);
- one write transaction for the bookkeeping: read the user row locked, with the role's name and whether the
  address has a throttle row as (non-locking) subqueries, record the login (time and count), and delete the
  throttle row;
- on MariaDB, in each write transaction, the commit token's INSERT (db/commit_tokens.py: it lets a connection
  lost during COMMIT be settled, so authenticate() must write it for correctness; it is part of the same
  reads and writes).
What it leaves out is ours to justify: SQLAlchemy's session, pool checkout and statement execution.
"""

from __future__ import annotations

import secrets
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from common import CHEAP_HASH, PASSWORD, Report, backends, median_ms, parser, scratch_database
from seed_users import seed

TARGET = 1.5
SERVICE_EMAIL = "bench@example.com"
FLOOR_EMAIL = "floor@example.com"  # its own account: the two never meet on a row


class Floor:
    """authenticate()'s reads and writes as raw DBAPI calls (see the module docstring)."""

    def __init__(self, raw_connection: Any, sqlite: bool) -> None:
        self.connection = raw_connection
        self.sqlite = sqlite
        self.mark = "?" if sqlite else "%s"

    def _now(self) -> object:
        now = datetime.now(UTC).replace(tzinfo=None)
        return now.isoformat(" ") if self.sqlite else now  # as SQLAlchemy stores a naive UTC DATETIME

    def _begin(self, cursor: Any) -> None:
        cursor.execute("BEGIN IMMEDIATE" if self.sqlite else "BEGIN")

    def _commit(self, cursor: Any) -> None:
        if not self.sqlite:  # the commit token (module docstring)
            cursor.execute(
                "INSERT INTO applied_operation (token, applied_at) VALUES (%s, %s)",
                (secrets.token_hex(16), self._now()),
            )
        self.connection.commit()

    def sign_in(self, email: str, password: str) -> None:
        from werkzeug.security import check_password_hash

        m = self.mark
        cursor = self.connection.cursor()
        self._begin(cursor)  # reserve the attempt, read the account
        cursor.execute("SELECT `key`, value FROM app_setting")
        cursor.fetchall()
        if self.sqlite:
            upsert = f"INSERT INTO login_throttle (email, failed_count, lockout_count) VALUES ({m}, 0, 0) "
            upsert += "ON CONFLICT DO NOTHING"
        else:
            upsert = f"INSERT INTO login_throttle (email, failed_count, lockout_count) VALUES ({m}, 0, 0) "
            upsert += "ON DUPLICATE KEY UPDATE email = VALUES(email)"
        cursor.execute(upsert, (email,))
        lock = "" if self.sqlite else " FOR UPDATE"
        cursor.execute(
            "SELECT email, failed_count, lockout_count, locked_until, last_failure_at FROM login_throttle "
            f"WHERE email = {m}{lock}",
            (email,),
        )
        _email, failed, lockouts, locked_until, _last_failure = cursor.fetchone()
        assert locked_until is None
        cursor.execute(
            f"UPDATE login_throttle SET failed_count = {m}, lockout_count = {m}, locked_until = {m}, "
            f"last_failure_at = {m} WHERE email = {m}",
            (failed + 1, lockouts, None, self._now(), email),
        )
        cursor.execute(
            f"SELECT id, password_hash, must_change_password FROM user WHERE email = {m}", (email,)
        )
        user_id, password_hash, _must_change = cursor.fetchone()
        self._commit(cursor)

        assert check_password_hash(password_hash, password)  # outside any transaction, as the service does

        self._begin(cursor)  # the login bookkeeping
        cursor.execute(
            "SELECT id, email, password_hash, active, last_login_at, login_count, must_change_password, "
            "password_changed_at, (SELECT name FROM role WHERE role.id = user.role_id), "
            f"(SELECT email FROM login_throttle WHERE email = {m}) FROM user WHERE id = {m}{lock}",
            (email, user_id),
        )
        row = cursor.fetchone()
        assert row[2] == password_hash  # unchanged while it was checked
        assert row[3]  # active
        cursor.execute(
            f"UPDATE user SET last_login_at = {m}, login_count = login_count + 1 WHERE id = {m}",
            (self._now(), user_id),
        )
        if row[9] is not None:  # the address has failures to forget
            cursor.execute(f"DELETE FROM login_throttle WHERE email = {m}", (email,))
        self._commit(cursor)
        cursor.close()


def measure(url: str, rounds: int) -> tuple[float, float]:
    from desktop_auth.config import Settings
    from desktop_auth.services.facade import Services

    services = Services(Settings(database_url=url, hash_method=CHEAP_HASH, allow_weak_hash_for_tests=True))
    for email in (SERVICE_EMAIL, FLOOR_EMAIL):
        services.accounts.register(email, PASSWORD)
    raw = services.database.engine.raw_connection()
    floor = Floor(raw, url.startswith("sqlite"))
    for _ in range(3):  # warm: pool, caches, compiled statements
        services.accounts.authenticate(SERVICE_EMAIL, PASSWORD)
        floor.sign_in(FLOOR_EMAIL, PASSWORD)
    service_times, floor_times = [], []
    for _ in range(rounds):  # interleaved, so load drift hits both
        started = time.perf_counter()
        services.accounts.authenticate(SERVICE_EMAIL, PASSWORD)
        service_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        floor.sign_in(FLOOR_EMAIL, PASSWORD)
        floor_times.append(time.perf_counter() - started)
    raw.close()
    services.close()
    return median_ms(service_times), median_ms(floor_times)


def main(argv: list[str]) -> int:
    p = parser(__doc__ or "")
    p.add_argument("--size", type=int, help="users to seed first (default 1,000,000; 0 with --quick)")
    p.add_argument("--rounds", type=int, help="sign-ins of each kind (default 301; 15 with --quick)")
    args = p.parse_args(argv)
    size = args.size if args.size is not None else 0 if args.quick else 1_000_000
    rounds = args.rounds or (15 if args.quick else 301)
    report = Report(
        f"Sign-in overhead at {size:,} users: authenticate() against the same reads and writes in raw "
        f"DBAPI ({CHEAP_HASH})"
    )
    with tempfile.TemporaryDirectory() as scratch:
        for backend in backends(args):
            with scratch_database(backend, Path(scratch)) as url:
                if size:
                    print(f"{backend}: seeded {size:,} users in {seed(url, size):.1f} s")
                service, floor = measure(url, rounds)
            report.measure(f"{backend}: floor (raw DBAPI, median of {rounds})", f"{floor:.2f} ms")
            report.measure(f"{backend}: authenticate()", f"{service:.2f} ms", service / floor, TARGET)
    return report.print()


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
