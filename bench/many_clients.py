"""Many clients: N processes, each a full client (service layer, its own connection pool), doing a mix of
sign-in, registration and role edits against one MariaDB for a fixed time. Reports operations/s and p50/p99
latency, and checks: zero unexpected errors, zero lost updates (invariants checked at the end).

    python bench/many_clients.py [--quick] [--clients 8] [--seconds 60]
"""

from __future__ import annotations

import multiprocessing
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from common import CHEAP_HASH, PASSWORD, Report, mariadb_available, parser, scratch_database

# Refusals that are part of the game: stale edits lose to a concurrent edit, lockouts, duplicates.
EXPECTED = (
    "StaleEditError",
    "EmailAlreadyRegisteredError",
    "AccountLockedError",
    "InvalidCredentialsError",
    "DatabaseBusyError",
    "LastAdminError",
)


def client(url: str, number: int, seconds: float, users: int, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    latencies: dict[str, list[float]] = {"sign-in": [], "register": [], "role edit": []}
    counts = {"expected refusals": 0, "unexpected errors": 0, "role edits applied": 0, "registered": 0}
    errors: list[str] = []
    try:
        _work(url, number, seconds, users, latencies, counts, errors)
    except Exception as error:
        counts["unexpected errors"] += 1
        errors.append(f"client crashed: {type(error).__name__}: {error}")
    queue.put((latencies, counts, errors[:5]))


def _work(
    url: str,
    number: int,
    seconds: float,
    users: int,
    latencies: dict[str, list[float]],
    counts: dict[str, int],
    errors: list[str],
) -> None:
    from desktop_auth.config import Settings
    from desktop_auth.services.facade import Services
    from desktop_auth.services.records import Actor

    services = Services(
        Settings(
            database_url=url,
            hash_method=CHEAP_HASH,
            lockout_threshold=1_000_000,
            allow_weak_hash_for_tests=True,
        )
    )
    admin = services.accounts.authenticate("root@example.com", PASSWORD)
    actor = Actor(admin.id, admin.email)
    rng = random.Random(number)
    deadline = time.monotonic() + seconds
    serial = 0
    while time.monotonic() < deadline:
        kind = rng.choice(["sign-in", "sign-in", "register", "role edit"])
        started = time.perf_counter()
        try:
            if kind == "sign-in":
                services.accounts.authenticate(f"user{rng.randrange(users):07d}@example.com", PASSWORD)
            elif kind == "register":
                serial += 1
                services.accounts.register(f"c{number}-{serial}@example.com", PASSWORD)
                counts["registered"] += 1
            else:
                target = f"user{rng.randrange(users):07d}@example.com"
                record = services.admin.get_user(actor, target)
                flipped = "staff" if record.role == "user" else "user"  # always a real change
                services.admin.set_role(actor, target, flipped, record.version)
                counts["role edits applied"] += 1
        except Exception as error:
            name = type(error).__name__
            if name in EXPECTED:
                counts["expected refusals"] += 1
            else:
                counts["unexpected errors"] += 1
                errors.append(f"{name}: {error}")
        latencies[kind].append(time.perf_counter() - started)
    services.close()


def main(argv: list[str]) -> int:
    p = parser(__doc__ or "")
    p.add_argument("--clients", type=int, help="client processes (default 8; 4 with --quick)")
    p.add_argument("--seconds", type=float, help="how long they run (default 60; 5 with --quick)")
    args = p.parse_args(argv)
    clients = args.clients or (4 if args.quick else 8)
    seconds = args.seconds or (5.0 if args.quick else 60.0)
    users = 200 if args.quick else 2000
    report = Report(f"Many clients: {clients} processes for {seconds:.0f} s against one MariaDB")
    if not mariadb_available():
        print("MariaDB is not reachable: nothing to measure")
        return 1
    with tempfile.TemporaryDirectory() as scratch, scratch_database("mariadb", Path(scratch)) as url:
        from seed_users import seed
        from sqlalchemy import func, select

        from desktop_auth.config import Settings
        from desktop_auth.models import AuditEvent, User
        from desktop_auth.services.facade import Services
        from desktop_auth.services.records import Actor

        setup = Services(Settings(database_url=url, hash_method=CHEAP_HASH, allow_weak_hash_for_tests=True))
        root = setup.accounts.create_first_admin("root@example.com", PASSWORD)
        setup.roles.add_role(Actor(root.id, root.email), "staff")
        seed(url, users, prefix="user")
        context = multiprocessing.get_context("spawn")
        queue = context.Queue()
        processes = [
            context.Process(target=client, args=(url, n, seconds, users, queue)) for n in range(clients)
        ]
        started = time.perf_counter()
        for process in processes:
            process.start()
        results = [queue.get(timeout=seconds + 120) for _ in processes]
        for process in processes:
            process.join()
        elapsed = time.perf_counter() - started
        latencies: dict[str, list[float]] = {}
        totals: dict[str, int] = {}
        errors: list[str] = []
        for lat, counts, errs in results:
            for kind, values in lat.items():
                latencies.setdefault(kind, []).extend(values)
            for key, value in counts.items():
                totals[key] = totals.get(key, 0) + value
            errors.extend(errs)
        operations = sum(len(v) for v in latencies.values())
        report.measure("operations per second", f"{operations / elapsed:.0f}")
        for kind, values in latencies.items():
            ordered = sorted(values)
            p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else 0
            report.measure(
                f"{kind}: p50 / p99",
                f"{statistics.median(ordered) * 1000:.1f} / {p99 * 1000:.1f} ms" if ordered else "-",
            )
        report.measure("expected refusals (stale edits, ...)", str(totals.get("expected refusals", 0)))
        report.check(
            "unexpected errors",
            str(totals.get("unexpected errors", 0)),
            totals.get("unexpected errors", 0) == 0,
            "0",
        )
        with setup.database.transaction() as session:
            registered = session.scalar(
                select(func.count(User.id)).where(User.email.like("c%-%@example.com"))
            )
            role_changes = session.scalar(
                select(func.count(AuditEvent.id)).where(AuditEvent.action == "role")
            )
            version_sum = session.scalar(select(func.sum(User.version - 1)).where(User.email.like("user%")))
        report.check(
            "registrations kept (no lost insert)",
            f"{registered}",
            registered == totals.get("registered"),
            f"= {totals.get('registered')} acknowledged",
        )
        report.check(
            "role edits: audited = applied = version bumps (no lost update)",
            f"{role_changes} / {version_sum}",
            role_changes == totals.get("role edits applied") == version_sum,
            f"= {totals.get('role edits applied')}",
        )
        for line in errors[:5]:
            print("unexpected:", line)
        setup.close()
    return report.print()


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
