"""Many clients: N processes, each a full client (service layer, its own connection pool) running a few
tasks at once like the GUI's background jobs, doing a mix of sign-in, registration and role edits against
one MariaDB for a fixed time, then sitting idle. Reports operations/s, p50/p99 latency and the server
connections each client holds (most at once while active, and after the idle time, counted from the
server's process list), and checks: zero unexpected errors, zero lost updates (invariants checked at the
end), at most 2 connections per client while active and none after the idle time.

The baseline, measured in the same run, is the pool before connection economy (5 pooled + 10 overflow,
never released); "now" is the app's own pool (DESKTOP_AUTH_DB_POOL_SIZE, released after
DESKTOP_AUTH_DB_IDLE_SECONDS, shortened here by --idle-seconds).

    python bench/many_clients.py [--quick] [--clients 8] [--seconds 60] [--tasks 3] [--idle-seconds 2]
                                 [--client-url URL ...]
"""

from __future__ import annotations

import multiprocessing
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

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
#: The two pools compared: the baseline first.
POOLS = {"before": "5 + 10 overflow, kept", "now": "app's pool, released when idle"}
OLD_POOL = {"pool_size": 5, "max_overflow": 10, "pool_timeout": 30}
MOST_CONNECTIONS_PER_CLIENT = 2
THROUGHPUT_TARGET = 0.8  # fewer connections may cost a little throughput when tasks queue, not more
RELEASE_GRACE_SECONDS = 5  # beyond the idle time, before connections still held count as kept


def server_key(url: str) -> str:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    return f"{parsed.host}:{parsed.port or 3306}"


def client(
    url: str,
    number: int,
    pool: str,
    seconds: float,
    tasks: int,
    idle_seconds: int,
    users: int,
    queue: multiprocessing.Queue,  # type: ignore[type-arg]
    done: Any,  # a multiprocessing Event: the main process has counted what this client holds when idle
) -> None:
    latencies: dict[str, list[float]] = {"sign-in": [], "register": [], "role edit": []}
    counts = {"expected refusals": 0, "unexpected errors": 0, "role edits applied": 0, "registered": 0}
    errors: list[str] = []
    connection_ids: list[tuple[str, int]] = []
    services = None
    try:
        services = _client_services(url, pool, idle_seconds, connection_ids)
        _work(services, number, pool, seconds, tasks, users, latencies, counts, errors)
    except Exception as error:
        counts["unexpected errors"] += 1
        errors.append(f"client crashed: {type(error).__name__}: {error}")
    queue.put((latencies, counts, errors[:5], connection_ids))
    done.wait(600)  # idle, as a desktop whose person has stopped working, until the main process has looked
    if services is not None:
        services.close()


def _client_services(url: str, pool: str, idle_seconds: int, connection_ids: list[tuple[str, int]]) -> Any:
    from sqlalchemy import event

    from desktop_auth.config import LONGEST_DB_IDLE_SECONDS, Settings
    from desktop_auth.db.engine import Database, make_engine
    from desktop_auth.services.facade import Services

    settings = Settings(
        database_url=url,
        hash_method=CHEAP_HASH,
        lockout_threshold=1_000_000,
        allow_weak_hash_for_tests=True,
        # The baseline kept its connections: an idle time longer than the run does the same.
        db_idle_seconds=idle_seconds if pool == "now" else LONGEST_DB_IDLE_SECONDS,
    )
    engine = make_engine(settings, **OLD_POOL) if pool == "before" else make_engine(settings)
    key = server_key(url)

    def on_connect(dbapi_connection: Any, _record: Any) -> None:  # the server's id of each connection
        cursor = dbapi_connection.cursor()
        cursor.execute("SELECT CONNECTION_ID()")
        connection_ids.append((key, int(cursor.fetchone()[0])))
        cursor.close()

    event.listen(engine, "connect", on_connect)
    return Services(settings, Database(settings, engine))


def _work(
    services: Any,
    number: int,
    pool: str,
    seconds: float,
    tasks: int,
    users: int,
    latencies: dict[str, list[float]],
    counts: dict[str, int],
    errors: list[str],
) -> None:
    from desktop_auth.services.records import Actor

    admin = services.accounts.authenticate("root@example.com", PASSWORD)
    actor = Actor(admin.id, admin.email)
    deadline = time.monotonic() + seconds
    lock = threading.Lock()

    def task(t: int) -> None:
        rng = random.Random(number * 100 + t)
        serial = 0
        while time.monotonic() < deadline:
            kind = rng.choice(["sign-in", "sign-in", "register", "role edit"])
            started = time.perf_counter()
            outcome = ""
            try:
                if kind == "sign-in":
                    services.accounts.authenticate(f"user{rng.randrange(users):07d}@example.com", PASSWORD)
                elif kind == "register":
                    serial += 1
                    services.accounts.register(f"c{pool}{number}t{t}-{serial}@example.com", PASSWORD)
                    outcome = "registered"
                else:
                    target = f"user{rng.randrange(users):07d}@example.com"
                    record = services.admin.get_user(actor, target)
                    flipped = "staff" if record.role == "user" else "user"  # always a real change
                    services.admin.set_role(actor, target, flipped, record.version)
                    outcome = "role edits applied"
            except Exception as error:
                name = type(error).__name__
                outcome = "expected refusals" if name in EXPECTED else "unexpected errors"
                if outcome == "unexpected errors":
                    with lock:
                        errors.append(f"{name}: {error}")
            elapsed = time.perf_counter() - started
            with lock:
                latencies[kind].append(elapsed)
                if outcome:
                    counts[outcome] += 1

    threads = [threading.Thread(target=task, args=(t,)) for t in range(tasks)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


class ServerWatch:
    """Samples the server's process list (every server the clients use) for the benchmark's database."""

    def __init__(self, urls: list[str], database: str) -> None:
        import pymysql
        from sqlalchemy.engine import make_url

        self._database = database
        self._servers = {}
        for url in urls:
            parsed = make_url(url)
            self._servers[server_key(url)] = pymysql.connect(
                host=parsed.host or "127.0.0.1",
                port=parsed.port or 3306,
                user=parsed.username or "root",
                password=parsed.password or "",
                autocommit=True,  # no database selected: this connection is not counted
            )
        self.samples: list[tuple[float, frozenset[tuple[str, int]]]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def ids(self) -> frozenset[tuple[str, int]]:
        found: set[tuple[str, int]] = set()
        with self._lock:  # the watch thread and the main thread share the connections
            for key, connection in self._servers.items():
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = %s", (self._database,)
                    )
                    found.update((key, int(row[0])) for row in cursor.fetchall())
        return frozenset(found)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        for connection in self._servers.values():
            connection.close()

    def _watch(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.monotonic(), self.ids()))
            time.sleep(0.005)


def held_per_client(sample: frozenset[tuple[str, int]], owner: dict[tuple[str, int], int]) -> dict[int, int]:
    held: dict[int, int] = {}
    for connection in sample:
        if connection in owner:
            held[owner[connection]] = held.get(owner[connection], 0) + 1
    return held


def run_phase(pool: str, client_urls: list[str], database: str, args: Any, users: int) -> dict[str, Any]:
    """Run the clients with one pool; their figures, and the connections they held."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    done = context.Event()
    watch = ServerWatch(client_urls, database)
    processes = [
        context.Process(
            target=client,
            args=(
                client_urls[n % len(client_urls)],  # spread over the URLs given (e.g. cluster nodes)
                n,
                pool,
                args.seconds,
                args.tasks,
                args.idle_seconds,
                users,
                queue,
                done,
            ),
        )
        for n in range(args.clients)
    ]
    watch.start()
    started = time.perf_counter()
    for process in processes:
        process.start()
    results = [queue.get(timeout=args.seconds + 120) for _ in processes]
    elapsed = time.perf_counter() - started
    active_until = time.monotonic()
    # Every client is idle now; wait for the release (the baseline never releases: it waits the whole time).
    deadline = active_until + args.idle_seconds + RELEASE_GRACE_SECONDS
    owner = {
        connection: number for number, result in enumerate(results) for connection in result[3]
    }  # a client's number here is its place in ``results``: only counts per client matter
    while True:
        held = held_per_client(watch.ids(), owner)
        if not held or time.monotonic() >= deadline:
            break
        time.sleep(0.1)
    watch.stop()
    done.set()
    for process in processes:
        process.join()
    peaks: dict[int, int] = {}
    for moment, sample in watch.samples:
        if moment > active_until:
            break
        for number, count in held_per_client(sample, owner).items():
            peaks[number] = max(peaks.get(number, 0), count)
    return {
        "results": results,
        "elapsed": elapsed,
        "peaks": peaks,
        "after idle": sum(held.values()),
        "clients holding after idle": len(held),
    }


def main(argv: list[str]) -> int:
    p = parser(__doc__ or "")
    p.add_argument("--clients", type=int, help="client processes (default 8; 4 with --quick)")
    p.add_argument("--seconds", type=float, help="how long they run (default 60; 5 with --quick)")
    p.add_argument("--tasks", type=int, default=3, help="tasks each client runs at once (default 3)")
    p.add_argument(
        "--idle-seconds", type=int, default=2, help="the clients' DESKTOP_AUTH_DB_IDLE_SECONDS (default 2)"
    )
    # Where the Galera mode plugs in: clients take these URLs in turn (cluster nodes, a proxy); each must
    # reach the same server or cluster, whose scratch database replaces the URL's own database name.
    p.add_argument(
        "--client-url",
        action="append",
        default=[],
        metavar="URL",
        help="a server URL for the clients (repeat to spread them); default: the local MariaDB",
    )
    args = p.parse_args(argv)
    args.clients = args.clients or (4 if args.quick else 8)
    args.seconds = args.seconds or (5.0 if args.quick else 60.0)
    users = 200 if args.quick else 2000
    report = Report(
        f"Many clients: {args.clients} processes x {args.tasks} tasks for {args.seconds:.0f} s against one "
        "MariaDB"
    )
    if not mariadb_available():
        print("MariaDB is not reachable: nothing to measure")
        return 1
    with tempfile.TemporaryDirectory() as scratch, scratch_database("mariadb", Path(scratch)) as url:
        from seed_users import seed
        from sqlalchemy import func, select
        from sqlalchemy.engine import make_url

        from desktop_auth.config import Settings
        from desktop_auth.models import AuditEvent, User
        from desktop_auth.services.facade import Services
        from desktop_auth.services.records import Actor

        database = make_url(url).database or ""
        client_urls = [
            make_url(u).set(database=database).render_as_string(hide_password=False) for u in args.client_url
        ] or [url]
        setup = Services(Settings(database_url=url, hash_method=CHEAP_HASH, allow_weak_hash_for_tests=True))
        root = setup.accounts.create_first_admin("root@example.com", PASSWORD)
        setup.roles.add_role(Actor(root.id, root.email), "staff")
        seed(url, users, prefix="user")
        setup.database.dispose()  # the setup's own connections are not the clients'
        phases = {pool: run_phase(pool, client_urls, database, args, users) for pool in POOLS}

        totals: dict[str, int] = {}
        errors: list[str] = []
        throughput: dict[str, float] = {}
        for pool, phase in phases.items():
            label = f"{pool} ({POOLS[pool]})"
            latencies: dict[str, list[float]] = {}
            for lat, counts, errs, _ in phase["results"]:
                for kind, values in lat.items():
                    latencies.setdefault(kind, []).extend(values)
                for key, value in counts.items():
                    totals[key] = totals.get(key, 0) + value
                errors.extend(errs)
            throughput[pool] = sum(len(v) for v in latencies.values()) / phase["elapsed"]
            ratio = throughput[pool] / throughput["before"] if pool != "before" else None
            report.measure(
                f"{label}: operations per second",
                f"{throughput[pool]:.0f}",
                ratio,
                None if ratio is None else THROUGHPUT_TARGET,
                higher_is_better=True,
            )
            for kind, values in latencies.items():
                ordered = sorted(values)
                p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else 0
                report.measure(
                    f"{pool}: {kind}: p50 / p99",
                    f"{statistics.median(ordered) * 1000:.1f} / {p99 * 1000:.1f} ms" if ordered else "-",
                )
            peaks = list(phase["peaks"].values()) or [0]
            active = f"{max(peaks)} / {statistics.mean(peaks):.1f}"
            idle = f"{phase['after idle']} on {phase['clients holding after idle']} of {args.clients} clients"
            idle_name = f"{pool}: server connections once idle {args.idle_seconds} s (all clients)"
            if pool == "now":
                report.check(
                    f"{pool}: server connections per client while active (most / mean)",
                    active,
                    max(peaks) <= MOST_CONNECTIONS_PER_CLIENT,
                    f"most <= {MOST_CONNECTIONS_PER_CLIENT}",
                )
                report.check(idle_name, idle, phase["after idle"] == 0, "0")
            else:
                report.measure(f"{pool}: server connections per client while active (most / mean)", active)
                report.measure(idle_name, idle)
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
