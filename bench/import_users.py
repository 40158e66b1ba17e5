"""Importing users from CSV (#17): 10,000 rows in at most 3x a raw bulk insert of the same rows.

Two ways of creating the same accounts, on the same backend, measured in the same run (alternating, a few
rounds, medians compared):

1. **baseline**: one transaction of raw SQL through the app's engine: an executemany ``INSERT INTO user``
   of the rows (address, look-alike key, a fast temporary-password hash each, role, must change), then an
   executemany ``INSERT INTO audit_event`` of one ``create`` row per account. The hashes and keys are made
   before the clock starts: this is the database's share alone;
2. **ours**: ``services.user_import.import_users`` on the file's preview, by the seeded administrator:
   making a distinct temporary password per row and its fast salted hash, the checks again inside the
   transaction (existing addresses and look-alikes, in bulk), the chunked inserts, the ids read back, the
   audit rows and the summary row. Target: at most 3x the baseline. Checked afterwards: every account is
   there, must change its password, and has its audit row.

The preview (parsing and checking every row, before anything is written) is timed too and printed, without
a target: it is the step a person waits for before pressing Import.

    python bench/import_users.py [--quick] [--size N] [--rounds N] [--mariadb | --backend sqlite|mariadb|both]

SQLite by default; ``--mariadb`` adds the local MariaDB server (``--backend both``).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from common import CHEAP_HASH, PASSWORD, Report, backends, parser, scratch_database

TARGET = 3.0
ADMIN_EMAIL = "root@example.com"


def _services(url: str) -> Any:
    from desktop_auth.config import Settings
    from desktop_auth.services.facade import Services

    return Services(Settings(database_url=url, hash_method=CHEAP_HASH, allow_weak_hash_for_tests=True))


def _csv(size: int) -> bytes:
    return ("email,role\n" + "".join(f"person{n:06d}@example.com,user\n" for n in range(size))).encode()


def _clear(services: Any) -> None:
    """Remove everyone but the administrator, and the audit log, between rounds."""
    from sqlalchemy import delete

    from desktop_auth.models import AuditEvent, User

    with services.database.transaction(write=True) as session:
        session.execute(delete(AuditEvent))
        session.execute(delete(User).where(User.email != ADMIN_EMAIL))


def _raw_rows(services: Any, preview: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    from sqlalchemy import select

    from desktop_auth.db.types import utcnow
    from desktop_auth.models import Role
    from desktop_auth.services.temporary_passwords import generate

    with services.database.transaction() as session:
        role_id = session.scalar(select(Role.id).where(Role.name == "user"))
    now = utcnow()
    hasher = services.context.hasher
    users = [
        {
            "email": row.address,
            "email_skeleton": row.key,
            "password_hash": hasher.hash_temporary(generate(15)),
            "role_id": role_id,
            "active": True,
            "must_change_password": True,
            "login_count": 0,
            "password_changed_at": now,
            "create_date": now,
            "update_date": now,
            "version": 1,
        }
        for row in preview.rows
    ]
    audit = [
        {
            "created_at": now,
            "actor_id": None,
            "actor": "bench",
            "action": "create",
            "target_id": None,  # filled in per round, from the ids the inserts got
            "target": row.address,
            "old_value": None,
            "new_value": "user",
            "detail": "imported from a CSV file by bench",
        }
        for row in preview.rows
    ]
    return users, audit


def _raw_insert(services: Any, users: list[dict[str, Any]], audit: list[dict[str, Any]]) -> float:
    from sqlalchemy import insert, select

    from desktop_auth.models import AuditEvent, User

    started = time.perf_counter()
    with services.database.transaction(write=True) as session:
        connection = session.connection()
        connection.execute(insert(User.__table__), users)
        ids = dict(connection.execute(select(User.email, User.id).where(User.email != ADMIN_EMAIL)).all())
        connection.execute(
            insert(AuditEvent.__table__), [{**row, "target_id": ids[row["target"]]} for row in audit]
        )
    return time.perf_counter() - started


def _check(services: Any, size: int) -> bool:
    from sqlalchemy import func, select

    from desktop_auth.models import AuditEvent, User

    with services.database.transaction() as session:
        users = session.scalar(
            select(func.count(User.id)).where(User.email != ADMIN_EMAIL, User.must_change_password.is_(True))
        )
        created = session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "create"))
    return users == size and created == size


def run_backend(backend: str, size: int, rounds: int, report: Report, workdir: Path) -> None:
    from desktop_auth.services.records import Actor

    with scratch_database(backend, workdir) as url:
        services = _services(url)
        admin_record = services.accounts.create_first_admin(ADMIN_EMAIL, PASSWORD)
        admin = Actor(admin_record.id, admin_record.email)
        data = _csv(size)
        preview_started = time.perf_counter()
        preview = services.user_import.preview(admin, data)
        preview_seconds = time.perf_counter() - preview_started
        assert preview.ok, preview.problem_lines()[:5]
        users, audit = _raw_rows(services, preview)
        raw: list[float] = []
        ours: list[float] = []
        ok = True
        for _ in range(rounds):  # alternating, so drift on a shared machine hits both alike
            _clear(services)
            raw.append(_raw_insert(services, users, audit))
            _clear(services)
            started = time.perf_counter()
            result = services.user_import.import_users(admin, preview)
            ours.append(time.perf_counter() - started)
            ok = ok and result.count == size and _check(services, size)
        services.close()
    raw_s, ours_s = statistics.median(raw), statistics.median(ours)
    report.measure(f"{backend}: preview of {size:,} rows (no target)", f"{preview_seconds * 1000:.0f} ms")
    report.measure(f"{backend}: raw executemany users + audit", f"{raw_s * 1000:.0f} ms")
    report.measure(
        f"{backend}: import_users ({size / ours_s:,.0f} rows/s)",
        f"{ours_s * 1000:.0f} ms",
        ours_s / raw_s,
        TARGET,
    )
    report.check(f"{backend}: every account, must change, audited", "yes" if ok else "no", ok, "all")


def main() -> int:
    p = parser(__doc__.splitlines()[0])
    p.set_defaults(backend="sqlite")
    p.add_argument("--mariadb", action="store_true", help="MariaDB too (same as --backend both)")
    p.add_argument("--size", type=int, help="rows in the file (default 10,000; --quick: 500)")
    p.add_argument("--rounds", type=int, help="alternating rounds, medians compared (default 5; --quick: 1)")
    args = p.parse_args()
    if args.mariadb:
        args.backend = "both"
    size = args.size or (500 if args.quick else 10_000)
    rounds = args.rounds or (1 if args.quick else 5)
    report = Report(f"Import {size:,} users from CSV (target: at most {TARGET:g}x a raw bulk insert)")
    with tempfile.TemporaryDirectory(prefix="bench-import-") as workdir:
        for backend in backends(args):
            run_backend(backend, size, rounds, report, Path(workdir))
    return report.print()


if __name__ == "__main__":
    raise SystemExit(main())
