"""Many clients: N processes, each a full client (service layer, its own connection pool) running a few
tasks at once like the GUI's background jobs, doing a mix of sign-in, wrong passwords, registration and role
edits for a fixed time (all clients start together), then sitting idle. Reports operations/s and p50/p99
per operation, the server connections each client holds (most at once while active, and after the idle
time, counted from the servers' process lists) and checks: zero errors shown to a person ("busy" and
"unavailable" count), no lost insert (every acknowledged registration present, none unacknowledged), no lost
update (every acknowledged role edit is the last one or was followed by a later acknowledged one; audit rows
= version bumps per account; sign-ins counted), the invariants (an active administrator; no account on a
missing role; failed sign-in counts equal to the wrong passwords typed), at most 2 connections per client
while active and none after the idle time. Each phase works on its own seeded accounts, checked on its own.

Default mode, one MariaDB: the baseline, measured in the same run, is the pool before connection economy
(5 pooled + 10 overflow, never released); "now" is the app's own pool (DESKTOP_AUTH_DB_POOL_SIZE, released
after DESKTOP_AUTH_DB_IDLE_SECONDS, shortened here by --idle-seconds).

Galera mode (--galera): a local 3-node cluster and HAProxy with the shipped config and check agents
(tests/galera_cluster.py, tests/galera_proxy.py) are started on free ports (or reused, --galera-offset), a
scratch database is migrated on it, and the same mix runs (app's pool) with every client on node 1 (the
baseline), then spread: half the clients through HAProxy (which sends them all to its writer, node 1), half
directly on nodes 1, 2, 3 in turn; and, when reachable, on the standalone MariaDB on 3306. The checks also
compare the three nodes' data. Everything started here is stopped by its PIDs at the end, even on failure,
unless --keep-cluster (then: python -m tests.galera_cluster down --offset N).

    python bench/many_clients.py [--quick] [--clients 8] [--seconds 60] [--tasks 3] [--idle-seconds 2]
                                 [--client-url URL ...]
    python bench/many_clients.py --galera [--quick] [--clients 12] [--seconds 60] [--galera-offset N]
                                 [--keep-cluster]
"""

from __future__ import annotations

import logging
import multiprocessing
import random
import signal
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common import (
    CHEAP_HASH,
    MARIADB_SERVER,
    PASSWORD,
    Report,
    mariadb_available,
    parser,
    scratch_database,
)

KINDS = ("sign-in", "wrong password", "register", "role edit")
MIX = ("sign-in", "sign-in", "sign-in", "wrong password", "register", "register", "role edit", "role edit")
# Refusals that are part of the game; anything else a person would see is an error. "Already registered"
# is one too: every address here is registered once, so it would mean a retry met its own first attempt.
EXPECTED = {"wrong password": ("InvalidCredentialsError",), "role edit": ("StaleEditError",)}
WRONG_PASSWORD = "wrong-" + PASSWORD
WRONG_TARGETS = 12  # addresses (real accounts) that only ever get wrong passwords, shared by the clients
LOCKOUT_THRESHOLD = 1_000_000  # the database's shared setting: wrong passwords count, nobody is locked
#: The two pools of the default mode: the baseline first.
POOLS = {"before": "5 + 10 overflow, kept", "now": "app's pool, released when idle"}
OLD_POOL = {"pool_size": 5, "max_overflow": 10, "pool_timeout": 30}
MOST_CONNECTIONS_PER_CLIENT = 2
THROUGHPUT_TARGET = 0.8  # fewer connections may cost a little throughput when tasks queue, not more
RELEASE_GRACE_SECONDS = 5  # beyond the idle time, before connections still held count as kept
# Pooled connections stay open between operations, so a look every 20 ms sees the most a client holds.
WATCH_INTERVAL_SECONDS = 0.02
#: Port offsets tried for the cluster (tests/galera_cluster.py), apart from the test suite's (0-400), so a
#: test run starting its cluster at the same moment cannot take the same ports.
CLUSTER_OFFSETS = (500, 600, 700, 800, 900)
#: Server counters of transactions rolled back for a conflict (the clients retry them), as reported.
CONFLICT_COUNTERS = {
    "wsrep_local_cert_failures": "certification failures",
    "wsrep_local_bf_aborts": "replication aborts",
    "Innodb_deadlocks": "deadlocks",
}


@dataclass
class Phase:
    name: str  # in the report
    label: str  # what it is
    pool: str  # "before" or "now"
    urls: list[str]  # client n takes urls[n % len(urls)]
    watch: dict[str, str]  # name -> URL of every server whose process list counts (no database)
    setup_url: str  # where the accounts are seeded and the checks read
    tag: str  # this phase's accounts: <tag>user..., <tag>wrong..., <tag>reg...
    users: int
    cluster: bool = False  # on the Galera cluster: its certification counters are reported
    routes: dict[str, str] = field(default_factory=dict)  # URL -> name, for latencies by route

    def email(self, kind: str, n: int) -> str:
        return f"{self.tag}{kind}{n:07d}@example.com"


# ------------------------------------------------------------------------------------------------ clients
def client(
    phase: Phase,
    number: int,
    seconds: float,
    tasks: int,
    idle_seconds: int,
    ready: Any,  # multiprocessing Queue: this client is set up (or failed)
    go: Any,  # multiprocessing Event: every client is set up, start now
    queue: Any,  # multiprocessing Queue: the results
    done: Any,  # multiprocessing Event: the main process has counted what this client holds when idle
) -> None:
    result: dict[str, Any] = {
        "latencies": {kind: [] for kind in KINDS},
        "refusals": Counter(),  # expected ones, by kind
        "errors": Counter(),  # shown to a person: "kind: ErrorName"
        "samples": [],  # a few error messages
        "connections": [],  # (server, connection id) of every connection this client opened
        "registered": [],  # acknowledged registrations
        "edits": [],  # acknowledged role edits: (email, version, role)
        "wrong": Counter(),  # wrong passwords refused, per address
        "signed in": 0,  # acknowledged sign-ins of this phase's accounts
        "seconds": 0.0,  # how long this client worked
        "number": number,
    }
    # Each client would repeat the weak-hash warning the test settings cause; it says nothing here.
    logging.getLogger("desktop_auth.services.context").setLevel(logging.ERROR)
    services = None
    try:
        services = _client_services(phase, number, idle_seconds, result["connections"])
        from desktop_auth.services.records import Actor

        admin = services.accounts.authenticate(admin_email(number), PASSWORD)
        actor = Actor(admin.id, admin.email)
    except Exception as error:
        result["errors"]["client set-up"] += 1
        result["samples"].append(f"client crashed: {type(error).__name__}: {error}")
        actor = None
    ready.put(number)
    if go.wait(300) and actor is not None:
        try:
            _work(services, actor, phase, number, seconds, tasks, result)
        except Exception as error:
            result["errors"]["client crashed"] += 1
            result["samples"].append(f"client crashed: {type(error).__name__}: {error}")
    queue.put(result)
    done.wait(600)  # idle, as a desktop whose person has stopped working, until the main process has looked
    if services is not None:
        services.close()


def _client_services(phase: Phase, number: int, idle_seconds: int, connections: list[Any]) -> Any:
    from sqlalchemy import event

    from desktop_auth.config import LONGEST_DB_IDLE_SECONDS, Settings
    from desktop_auth.db.engine import Database, make_engine
    from desktop_auth.services.facade import Services

    settings = Settings(
        database_url=phase.urls[number % len(phase.urls)],
        hash_method=CHEAP_HASH,
        lockout_threshold=LOCKOUT_THRESHOLD,
        allow_weak_hash_for_tests=True,
        # The baseline kept its connections: an idle time longer than the run does the same.
        db_idle_seconds=idle_seconds if phase.pool == "now" else LONGEST_DB_IDLE_SECONDS,
    )
    engine = make_engine(settings, **OLD_POOL) if phase.pool == "before" else make_engine(settings)

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # The server's own id of the connection and which server it is (a proxy's connection lands on a node).
        cursor = dbapi_connection.cursor()
        cursor.execute("SELECT CONNECTION_ID(), @@hostname, @@port")
        connection_id, host, port = cursor.fetchone()
        connections.append((f"{host}:{port}", int(connection_id)))
        cursor.close()

    event.listen(engine, "connect", on_connect)
    return Services(settings, Database(settings, engine))


def _work(
    services: Any, actor: Any, phase: Phase, number: int, seconds: float, tasks: int, result: dict[str, Any]
) -> None:
    started = time.monotonic()
    deadline = started + seconds
    lock = threading.Lock()

    def task(t: int) -> None:
        rng = random.Random(number * 100 + t)
        serial = 0
        while time.monotonic() < deadline:
            kind = rng.choice(MIX)
            begun = time.perf_counter()
            acknowledged: tuple[str, Any] | None = None
            try:
                if kind == "sign-in":
                    services.accounts.authenticate(phase.email("user", rng.randrange(phase.users)), PASSWORD)
                    acknowledged = ("signed in", None)
                elif kind == "wrong password":
                    target = phase.email("wrong", rng.randrange(WRONG_TARGETS))
                    try:
                        services.accounts.authenticate(target, WRONG_PASSWORD)
                    except Exception as error:
                        if type(error).__name__ == "InvalidCredentialsError":
                            acknowledged = ("wrong", target)
                        raise
                    raise RuntimeError("a wrong password signed in")
                elif kind == "register":
                    serial += 1
                    email = f"{phase.tag}reg{number}t{t}-{serial}@example.com"
                    services.accounts.register(email, PASSWORD)
                    acknowledged = ("registered", email)
                else:
                    target = phase.email("user", rng.randrange(phase.users))
                    record = services.admin.get_user(actor, target)
                    flipped = "staff" if record.role == "user" else "user"  # always a real change
                    changed = services.admin.set_role(actor, target, flipped, record.version)
                    acknowledged = ("edits", (target, changed.version, changed.role))
            except Exception as error:
                name = type(error).__name__
                with lock:
                    if name in EXPECTED.get(kind, ()):
                        result["refusals"][kind] += 1
                    else:
                        result["errors"][f"{kind}: {name}"] += 1
                        if len(result["samples"]) < 5:
                            result["samples"].append(f"{kind}: {name}: {error}")
            elapsed = time.perf_counter() - begun
            with lock:
                result["latencies"][kind].append(elapsed)
                if acknowledged is not None:
                    what, value = acknowledged
                    if what == "signed in":
                        result["signed in"] += 1
                    elif what == "wrong":
                        result["wrong"][value] += 1
                    else:
                        result[what].append(value)

    threads = [threading.Thread(target=task, args=(t,)) for t in range(tasks)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result["seconds"] = time.monotonic() - started


# --------------------------------------------------------------------------------------- the servers
class ServerWatch:
    """Samples the process lists of the servers the clients use, for the benchmark's database."""

    def __init__(self, urls: dict[str, str], database: str) -> None:
        import pymysql
        from sqlalchemy.engine import make_url

        self._database = database
        self._servers: dict[str, Any] = {}
        self.names: dict[str, str] = {}  # server ("host:port" as it names itself) -> name given
        for name, url in urls.items():
            parsed = make_url(url)
            connection = pymysql.connect(
                host=parsed.host or "127.0.0.1",
                port=parsed.port or 3306,
                user=parsed.username or "root",
                password=parsed.password or "",
                autocommit=True,  # no database selected: this connection is not counted
            )
            with connection.cursor() as cursor:
                cursor.execute("SELECT @@hostname, @@port")
                host, port = cursor.fetchone()
            key = f"{host}:{port}"
            if key in self._servers:  # the same server by two paths (a proxy): watched once
                connection.close()
                continue
            self._servers[key] = connection
            self.names[key] = name
        self.samples: list[tuple[float, frozenset[tuple[str, int]]]] = []
        self.error: str | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def ids(self) -> frozenset[tuple[str, int]]:
        found: set[tuple[str, int]] = set()
        with self._lock:  # the watch thread and the main thread share the connections
            for key, connection in self._servers.items():
                with connection.cursor() as cursor:
                    # SHOW PROCESSLIST, not information_schema.PROCESSLIST: the latter builds a temporary
                    # table per query, and MariaDB 10.11.19 crashed (signal 11 in free_tmp_table ->
                    # ha_maria::drop_table) on one of this watch's queries, at 200 a second under load.
                    cursor.execute("SHOW PROCESSLIST")
                    found.update((key, int(row[0])) for row in cursor.fetchall() if row[3] == self._database)
        return frozenset(found)

    def conflicts(self) -> Counter[str]:
        """Transactions rolled back for a conflict so far (CONFLICT_COUNTERS), summed over the servers."""
        total: Counter[str] = Counter()
        names = ", ".join(f"'{name}'" for name in CONFLICT_COUNTERS)
        with self._lock:
            for connection in self._servers.values():
                with connection.cursor() as cursor:
                    cursor.execute(f"SHOW GLOBAL STATUS WHERE Variable_name IN ({names})")
                    for name, value in cursor.fetchall():
                        total[str(name)] += int(value)
        return total

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        for connection in self._servers.values():
            connection.close()

    def _watch(self) -> None:
        while not self._stop.is_set():
            try:
                self.samples.append((time.monotonic(), self.ids()))
            except Exception as error:  # a server went away: the main thread's next look says so
                self.error = f"{type(error).__name__}: {error}"
                return
            time.sleep(WATCH_INTERVAL_SECONDS)


def held_per_client(sample: frozenset[tuple[str, int]], owner: dict[tuple[str, int], int]) -> dict[int, int]:
    held: dict[int, int] = {}
    for connection in sample:
        if connection in owner:
            held[owner[connection]] = held.get(owner[connection], 0) + 1
    return held


def run_phase(phase: Phase, database: str, args: Any) -> dict[str, Any]:
    """Run the clients of one phase; their figures, and the connections they held."""
    context = multiprocessing.get_context("spawn")
    ready, queue = context.Queue(), context.Queue()
    go, done = context.Event(), context.Event()
    watch = ServerWatch(phase.watch, database)
    processes = [
        context.Process(
            target=client,
            args=(phase, n, args.seconds, args.tasks, args.idle_seconds, ready, go, queue, done),
            daemon=True,  # never outlives this run
        )
        for n in range(args.clients)
    ]
    try:
        conflicts_before = watch.conflicts()
        watch.start()
        for process in processes:
            process.start()
        for _ in processes:
            ready.get(timeout=180)
        go.set()  # every client is set up and signed in: they start together
        results = [queue.get(timeout=args.seconds + 180) for _ in processes]
        active_until = time.monotonic()
        conflicts = watch.conflicts() - conflicts_before
        # Every client is idle now; wait for the release (the baseline never releases: it waits the whole time).
        deadline = active_until + args.idle_seconds + RELEASE_GRACE_SECONDS
        owner = {
            connection: number
            for number, result in enumerate(results)
            for connection in result["connections"]
        }  # a client's number here is its place in ``results``: only counts per client matter
        while True:
            held = held_per_client(watch.ids(), owner)
            if not held or time.monotonic() >= deadline:
                break
            time.sleep(0.1)
    finally:
        watch.stop()
        go.set()
        done.set()
        for process in processes:
            if process.pid is not None:
                process.join(timeout=30)
            if process.is_alive():
                process.terminate()
                process.join(timeout=10)
    if watch.error is not None:
        raise RuntimeError(f"watching the servers' process lists failed: {watch.error}")
    peaks: dict[int, int] = {}
    for moment, sample in watch.samples:
        if moment > active_until:
            break
        for number, count in held_per_client(sample, owner).items():
            peaks[number] = max(peaks.get(number, 0), count)
    landed = Counter(
        watch.names.get(server, server) for result in results for server, _ in result["connections"]
    )
    return {
        "results": results,
        "seconds": max(result["seconds"] for result in results) or args.seconds,
        "peaks": peaks,
        "after idle": sum(held.values()),
        "clients holding after idle": len(held),
        "conflicts": conflicts,
        "landed": landed,
    }


# ------------------------------------------------------------------------------------ set-up and checks
def admin_email(client: int) -> str:
    return f"admin{client}@example.com"


def prepare(url: str, phases: list[Phase], clients: int) -> dict[str, int]:
    """Give the migrated database at ``url`` its administrators (one per client: each desktop is a
    different person), the 'staff' role and each phase's accounts; returns each phase's sum of login
    counts before it runs."""
    from seed_users import seed
    from sqlalchemy import func, select

    from desktop_auth.config import Settings
    from desktop_auth.models import AppSetting, User
    from desktop_auth.services.facade import Services
    from desktop_auth.services.records import Actor

    setup = Services(
        Settings(
            database_url=url,
            hash_method=CHEAP_HASH,
            lockout_threshold=LOCKOUT_THRESHOLD,
            allow_weak_hash_for_tests=True,
        )
    )
    try:
        root = setup.accounts.create_first_admin("root@example.com", PASSWORD)
        setup.roles.add_role(Actor(root.id, root.email), "staff")
        for number in range(clients):
            setup.admin.create_user(Actor(root.id, root.email), admin_email(number), PASSWORD, "admin")
        setup.accounts.authenticate("root@example.com", PASSWORD)  # stores the shared settings (threshold)
        logins = {}
        for phase in phases:
            seed(url, phase.users, prefix=f"{phase.tag}user")
            seed(url, WRONG_TARGETS, prefix=f"{phase.tag}wrong")
            with setup.database.transaction() as session:
                logins[phase.tag] = int(
                    session.scalar(
                        select(func.sum(User.login_count)).where(User.email.like(f"{phase.tag}user%"))
                    )
                    or 0
                )
        with setup.database.transaction() as session:
            threshold = session.scalar(select(AppSetting.value).where(AppSetting.key == "lockout_threshold"))
        if threshold != str(LOCKOUT_THRESHOLD):
            raise RuntimeError(f"the database's lockout threshold is {threshold}, not {LOCKOUT_THRESHOLD}")
    finally:
        setup.close()  # the set-up's own connections are not the clients'
    return logins


@contextmanager
def reader(url: str) -> Iterator[Any]:
    """A session on ``url`` through the app's own engine: on a Galera node it reads with causality
    (wsrep_sync_wait), so it sees every write the cluster acknowledged."""
    from desktop_auth.config import Settings
    from desktop_auth.db.engine import Database

    database = Database(Settings(database_url=url, hash_method=CHEAP_HASH, allow_weak_hash_for_tests=True))
    try:
        with database.transaction() as session:
            yield session
    finally:
        database.dispose()


def check_phase(
    phase: Phase, outcome: dict[str, Any], logins_before: int
) -> list[tuple[str, str, bool, str]]:
    """The phase's data against what its clients were told: (name, value, ok, target) rows."""
    from sqlalchemy import func, select

    from desktop_auth.models import ADMIN_ROLE, AuditEvent, LoginThrottle, Role, User

    results = outcome["results"]
    registered = [email for r in results for email in r["registered"]]
    edits = [edit for r in results for edit in r["edits"]]
    wrong: Counter[str] = Counter()
    for r in results:
        wrong.update(r["wrong"])
    signed_in = sum(r["signed in"] for r in results)
    with reader(phase.setup_url) as session:
        present = list(session.scalars(select(User.email).where(User.email.like(f"{phase.tag}reg%"))))
        accounts = {
            email: (version, role, logins)
            for email, version, role, logins in session.execute(
                select(User.email, User.version, Role.name, User.login_count)
                .join(Role, Role.id == User.role_id)
                .where(User.email.like(f"{phase.tag}user%"))
            )
        }
        audited = Counter(
            dict(
                session.execute(
                    select(AuditEvent.target, func.count(AuditEvent.id))
                    .where(AuditEvent.action == "role", AuditEvent.target.like(f"{phase.tag}user%"))
                    .group_by(AuditEvent.target)
                ).all()
            )
        )
        throttled = {
            email: (failed, locked)
            for email, failed, locked in session.execute(
                select(LoginThrottle.email, LoginThrottle.failed_count, LoginThrottle.locked_until).where(
                    LoginThrottle.email.like(f"{phase.tag}wrong%")
                )
            )
        }
        admins = session.scalar(
            select(func.count(User.id))
            .join(Role, Role.id == User.role_id)
            .where(Role.name == ADMIN_ROLE, User.active.is_(True))
        )
        orphans = session.scalar(
            select(func.count(User.id))
            .select_from(User)
            .outerjoin(Role, Role.id == User.role_id)
            .where(Role.id.is_(None))
        )
    rows = []
    # No lost insert: every acknowledged registration is there, once; none is there that was not acknowledged.
    missing = set(registered) - set(present)
    unacknowledged = set(present) - set(registered)
    duplicates = len(present) - len(set(present)) + len(registered) - len(set(registered))
    rows.append(
        (
            "registrations kept once (no lost insert)",
            f"{len(present) - len(unacknowledged)} of {len(registered)} (+{len(unacknowledged)} unacknowledged)",
            not missing and not unacknowledged and not duplicates,
            "all (+0)",
        )
    )
    # No lost update: the last acknowledged edit of each account is what it holds (a later, unacknowledged
    # one would show as a higher version), and each account has one audit row per version bump.
    last: dict[str, tuple[int, str]] = {}
    for email, version, role in edits:
        if email not in last or version > last[email][0]:
            last[email] = (version, role)
    lost = [e for e, (v, role) in last.items() if e not in accounts or accounts[e][:2] != (v, role)]
    bumps = sum(version - 1 for version, _, _ in accounts.values())
    uneven = [e for e, (version, _, _) in accounts.items() if audited.get(e, 0) != version - 1]
    versions = Counter((email, version) for email, version, _ in edits)
    rows.append(
        (
            "role edits: acknowledged / audited / version bumps (no lost update)",
            f"{len(edits)} / {sum(audited.values())} / {bumps}, {len(lost)} lost",
            len(edits) == sum(audited.values()) == bumps
            and not lost
            and not uneven
            and max(versions.values(), default=1) == 1,
            "equal, 0 lost",
        )
    )
    logins_now = sum(logins for _, _, logins in accounts.values())
    rows.append(
        (
            "sign-ins counted (login counts)",
            f"{logins_now - logins_before} of {signed_in}",
            logins_now - logins_before == signed_in,
            "all",
        )
    )
    miscounted = [e for e in set(wrong) | set(throttled) if throttled.get(e, (0, None))[0] != wrong.get(e, 0)]
    locked = [e for e, (_, until) in throttled.items() if until is not None]
    rows.append(
        (
            "failed sign-ins counted = wrong passwords typed",
            f"{sum(f for f, _ in throttled.values())} of {sum(wrong.values())} ({len(miscounted)} addresses off)",
            not miscounted and not locked,
            "equal",
        )
    )
    rows.append(
        (
            "invariants: active admins / accounts on a missing role",
            f"{admins} / {orphans}",
            bool(admins and admins >= 1) and orphans == 0,
            ">= 1 / 0",
        )
    )
    return rows


def node_digests(urls: dict[str, str]) -> dict[str, tuple[Any, ...]]:
    """A few sums over the database on each node: equal when the nodes hold the same data."""
    from sqlalchemy import func, select

    from desktop_auth.models import AuditEvent, LoginThrottle, User

    digests = {}
    for name, url in urls.items():
        with reader(url) as session:
            users = session.execute(
                select(
                    func.count(User.id),
                    func.sum(User.version),
                    func.sum(User.login_count),
                    func.sum(User.role_id),
                    func.sum(func.length(User.email)),
                )
            ).one()
            audit = session.execute(select(func.count(AuditEvent.id), func.max(AuditEvent.id))).one()
            throttle = session.scalar(select(func.sum(LoginThrottle.failed_count)))
            digests[name] = (*(int(v or 0) for v in users), *(int(v or 0) for v in audit), int(throttle or 0))
    return digests


# ------------------------------------------------------------------------------------------------ report
def percentile(ordered: list[float], share: float) -> float:
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))] if ordered else 0.0


def spread_ms(ordered: list[float]) -> str:
    if not ordered:
        return "-"
    return (
        f"{statistics.median(ordered) * 1000:.0f} / {percentile(ordered, 0.99) * 1000:.0f} / "
        f"{ordered[-1] * 1000:.0f} ms"
    )


def report_phase(
    report: Report,
    phase: Phase,
    outcome: dict[str, Any],
    logins_before: int,
    baseline: tuple[str, float] | None,
    target: float | None,
    args: Any,
) -> float:
    """The phase's rows; returns its operations per second."""
    results = outcome["results"]
    seconds = outcome["seconds"]
    latencies: dict[str, list[float]] = {kind: [] for kind in KINDS}
    for r in results:
        for kind, values in r["latencies"].items():
            latencies[kind].extend(values)
    throughput = sum(len(v) for v in latencies.values()) / seconds
    ratio = throughput / baseline[1] if baseline else None
    report.measure(
        f"{phase.name} ({phase.label}): operations per second"
        + (f", against {baseline[0]}" if baseline else ""),
        f"{throughput:.0f}",
        ratio,
        target if ratio is not None else None,
        higher_is_better=True,
    )
    for kind in KINDS:
        ordered = sorted(latencies[kind])
        report.measure(
            f"{phase.name}: {kind}: per second, p50 / p99 / max",
            f"{len(ordered) / seconds:.0f}/s, {spread_ms(ordered)}",
        )
    if phase.routes:  # the writes that conflict most, by the way their clients reach the cluster
        by_route: dict[str, list[float]] = {}
        for r in results:
            route = phase.routes[phase.urls[r["number"] % len(phase.urls)]]
            by_route.setdefault(route, []).extend(r["latencies"]["role edit"])
        for route in dict.fromkeys(phase.routes.values()):
            ordered = sorted(by_route.get(route, []))
            report.measure(
                f"{phase.name}: role edit through {route}: edits, p50 / p99 / max",
                f"{len(ordered)}, {spread_ms(ordered)}",
            )
    peaks = list(outcome["peaks"].values()) or [0]
    active = f"{max(peaks)} / {statistics.mean(peaks):.1f}"
    idle = f"{outcome['after idle']} on {outcome['clients holding after idle']} of {args.clients} clients"
    active_name = f"{phase.name}: server connections per client while active (most / mean)"
    idle_name = f"{phase.name}: server connections once idle {args.idle_seconds} s (all clients)"
    if phase.pool == "now":
        report.check(
            active_name,
            active,
            max(peaks) <= MOST_CONNECTIONS_PER_CLIENT,
            f"most <= {MOST_CONNECTIONS_PER_CLIENT}",
        )
        report.check(idle_name, idle, outcome["after idle"] == 0, "0")
    else:
        report.measure(active_name, active)
        report.measure(idle_name, idle)
    if len(phase.watch) > 1:
        landed = ", ".join(f"{name} {outcome['landed'].get(name, 0)}" for name in phase.watch)
        report.measure(f"{phase.name}: client connections opened, per server", landed)
    conflicts = outcome["conflicts"]
    counters = CONFLICT_COUNTERS if phase.cluster else {"Innodb_deadlocks": "deadlocks"}
    report.measure(
        f"{phase.name}: rolled back and retried ({' / '.join(counters.values())})",
        " / ".join(str(conflicts.get(name, 0)) for name in counters),
    )
    refusals: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    for r in results:
        refusals.update(r["refusals"])
        errors.update(r["errors"])
    report.measure(
        f"{phase.name}: refusals expected (stale edits / wrong passwords)",
        f"{refusals.get('role edit', 0)} / {refusals.get('wrong password', 0)}",
    )
    shown = sum(errors.values())
    busy = sum(n for name, n in errors.items() if name.endswith("BusyError"))
    unavailable = sum(
        n for name, n in errors.items() if name.endswith(("UnavailableError", "LostError", "UnknownError"))
    )
    report.check(
        f"{phase.name}: errors shown (busy / unavailable / other)",
        f"{busy} / {unavailable} / {shown - busy - unavailable}",
        shown == 0,
        "0",
    )
    for name, ok_value, ok, target_text in check_phase(phase, outcome, logins_before):
        report.check(f"{phase.name}: {name}", ok_value, ok, target_text)
    for line in [s for r in results for s in r["samples"]][:5]:
        print(f"{phase.name}: shown:", line)
    if errors:
        print(f"{phase.name}: errors by kind: {dict(errors)}")
    return throughput


def run_and_report(
    report: Report, phases: list[Phase], logins: dict[str, int], targets: dict[str, float], args: Any
) -> dict[str, float]:
    """Run the phases in order (the first is the baseline) and add their rows; operations/s by phase."""
    from sqlalchemy.engine import make_url

    throughput: dict[str, float] = {}
    for number, phase in enumerate(phases):
        print(f"running {phase.name}: {phase.label} ...", file=sys.stderr, flush=True)
        outcome = run_phase(phase, make_url(phase.setup_url).database or "", args)
        baseline = (phases[0].name, throughput[phases[0].name]) if number else None
        throughput[phase.name] = report_phase(
            report, phase, outcome, logins[phase.tag], baseline, targets.get(phase.name), args
        )
    return throughput


# ------------------------------------------------------------------------------------------- one server
def single_server(args: Any) -> int:
    report = Report(
        f"Many clients: {args.clients} processes x {args.tasks} tasks for {args.seconds:.0f} s against one "
        "MariaDB"
    )
    if not mariadb_available():
        print("MariaDB is not reachable: nothing to measure")
        return 1
    with tempfile.TemporaryDirectory() as scratch, scratch_database("mariadb", Path(scratch)) as url:
        from sqlalchemy.engine import make_url

        database = make_url(url).database or ""
        client_urls = [
            make_url(u).set(database=database).render_as_string(hide_password=False) for u in args.client_url
        ] or [url]
        watch = {
            f"server {n + 1}": make_url(u).set(database=None).render_as_string(hide_password=False)
            for n, u in enumerate(client_urls)
        }
        phases = [
            Phase(pool, POOLS[pool], pool, client_urls, watch, url, f"p{n}", args.users)
            for n, pool in enumerate(POOLS, 1)
        ]
        logins = prepare(url, phases, args.clients)
        run_and_report(report, phases, logins, {"now": THROUGHPUT_TARGET}, args)
    return report.print()


# -------------------------------------------------------------------------------------------------- Galera
def acquire_cluster(offset: int | None) -> tuple[Any, bool]:
    """A running cluster: the one an earlier ``up`` (or --keep-cluster) left at ``offset``, reused, or a
    new one. Returns it and whether this run started it."""
    from tests.galera_cluster import GaleraCluster, GaleraError, start_on_free_ports

    if offset is None:
        problems = []
        for candidate in CLUSTER_OFFSETS:
            try:
                return start_on_free_ports((candidate,)), True
            except GaleraError as error:  # taken, or lost a race for its ports with another starter
                problems.append(f"offset {candidate}: {str(error).splitlines()[0]}")
        raise GaleraError("no cluster could be started:\n" + "\n".join(problems))
    cluster = GaleraCluster(offset=offset)
    detached = cluster.lock_file.exists() and cluster.lock_file.read_text().strip() == "detached"
    if detached and len(cluster.live_pids()) == len(cluster.nodes):
        cluster.wait_synced(timeout=30)
        return cluster, False
    cluster.start()  # refuses a folder another process owns, cleans up one a crashed run left
    return cluster, True


def galera(args: Any) -> int:
    from tests.galera_cluster import GaleraError, missing_packages, owned_pid
    from tests.galera_proxy import GaleraProxy

    report = Report(
        f"Many clients on a 3-node Galera cluster: {args.clients} processes x {args.tasks} tasks for "
        f"{args.seconds:.0f} s per phase"
    )
    missing = missing_packages(proxy=True)
    if missing:
        print(
            f"Galera mode needs: {', '.join(missing)} (apt-get install galera-4 mariadb-server rsync haproxy)"
        )
        return 1
    began = time.monotonic()
    try:
        cluster, started_cluster = acquire_cluster(args.galera_offset)
    except GaleraError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    proxy = GaleraProxy(cluster)
    proxy_names = ["haproxy", *(f"agent{i}" for i in proxy.agent_ports)]
    proxy_was_running = all(owned_pid(proxy.folder / f"{n}.pid", cluster.folder) for n in proxy_names)
    database = None
    try:
        proxy.start()
        report.measure(
            "cluster and proxy " + ("started, 3 nodes Synced" if started_cluster else "reused"),
            f"{time.monotonic() - began:.1f} s",
        )
        database = cluster.new_database("da_bench")
        nodes = {f"node{n.index}": cluster.url(n.index) for n in cluster.nodes}
        node_urls = {name: url + database for name, url in nodes.items()}
        proxy_url = proxy.url(database)
        one = node_urls["node1"]
        # Half through HAProxy, half on the nodes directly in turn: proxy, node1, proxy, node2, proxy, node3.
        spread = [u for url in node_urls.values() for u in (proxy_url, url)]
        taken = Counter(spread[n % len(spread)] for n in range(args.clients))
        direct = {taken[url] for url in node_urls.values()}
        layout = f"{taken[proxy_url]} through HAProxy, " + (
            f"{direct.pop()} on each node"
            if len(direct) == 1
            else ", ".join(f"{taken[url]} on {name}" for name, url in node_urls.items())
        )
        with ExitStack() as stack:
            from desktop_auth.config import Settings
            from desktop_auth.db import migrate
            from desktop_auth.db.engine import Database

            migration = Database(
                Settings(database_url=one, hash_method=CHEAP_HASH, allow_weak_hash_for_tests=True)
            )
            migrate.upgrade(migration)
            migration.dispose()
            phases = []
            standalone = None
            if mariadb_available():
                scratch = stack.enter_context(tempfile.TemporaryDirectory())
                standalone = stack.enter_context(scratch_database("mariadb", Path(scratch)))
                phases.append(
                    Phase(
                        "standalone",
                        "all clients on MariaDB at 3306",
                        "now",
                        [standalone],
                        {"standalone": MARIADB_SERVER},
                        standalone,
                        "s",
                        args.users,
                    )
                )
            else:
                print("(the standalone MariaDB on 3306 is not reachable: its phase is skipped)")
            cluster_phases = [
                Phase("one node", "all on node 1", "now", [one], nodes, one, "a", args.users, True),
                Phase(
                    "spread",
                    layout,
                    "now",
                    spread,
                    nodes,
                    one,
                    "b",
                    args.users,
                    True,
                    {proxy_url: "HAProxy", **{url: name for name, url in node_urls.items()}},
                ),
            ]
            logins = prepare(one, cluster_phases, args.clients)
            if standalone is not None:
                logins.update(prepare(standalone, phases, args.clients))
            # The baseline (one node) first; the standalone server last, for the second ratio.
            order = [*cluster_phases, *phases]
            throughput = run_and_report(report, order, logins, {}, args)
            if "standalone" in throughput:
                report.measure(
                    "spread against the standalone MariaDB: operations per second",
                    f"{throughput['spread']:.0f} / {throughput['standalone']:.0f}",
                    throughput["spread"] / throughput["standalone"],
                )
            digests = node_digests(node_urls)
            agree = len(set(digests.values())) == 1
            report.check(
                "cluster: the 3 nodes hold the same data (counts, sums of versions, logins, audit rows)",
                "same" if agree else "differ",
                agree,
                "same",
            )
            if not agree:
                for name, digest in digests.items():
                    print(f"{name}: {digest}")
    finally:
        if args.keep_cluster:
            if database is not None:
                cluster.drop_database(database)
            if started_cluster:
                cluster.detach()
            print(
                f"cluster left running in {cluster.folder}; stop it with: "
                f"python -m tests.galera_cluster down --offset {cluster.offset}",
                file=sys.stderr,
            )
        elif started_cluster:
            cluster.stop()  # every process in its folder (nodes, agents, HAProxy), by PID; removes the folder
        else:
            if database is not None:
                cluster.drop_database(database)
            if not proxy_was_running:
                proxy.stop()
    return report.print()


def main(argv: list[str]) -> int:
    p = parser(__doc__ or "")
    p.add_argument("--clients", type=int, help="client processes (default 8, Galera 12; 4 / 6 with --quick)")
    p.add_argument("--seconds", type=float, help="how long they run (default 60; 5 with --quick)")
    p.add_argument("--tasks", type=int, default=3, help="tasks each client runs at once (default 3)")
    p.add_argument(
        "--idle-seconds", type=int, default=2, help="the clients' DESKTOP_AUTH_DB_IDLE_SECONDS (default 2)"
    )
    p.add_argument(
        "--client-url",
        action="append",
        default=[],
        metavar="URL",
        help="a server URL for the clients (repeat to spread them); default: the local MariaDB. Each must "
        "reach the same server or cluster, whose scratch database replaces the URL's own database name",
    )
    p.add_argument("--galera", action="store_true", help="on a local 3-node Galera cluster and HAProxy")
    p.add_argument(
        "--galera-offset",
        type=int,
        metavar="N",
        help="the cluster's port offset (tests/galera_cluster.py); reuses a cluster left running there by "
        "'python -m tests.galera_cluster up --offset N' or --keep-cluster (default: the first free block)",
    )
    p.add_argument(
        "--keep-cluster", action="store_true", help="leave the cluster and HAProxy running for the next run"
    )
    args = p.parse_args(argv)
    if args.galera and args.client_url:
        p.error("--galera chooses the clients' URLs itself; --client-url is for the default mode")
    if not args.galera and (args.galera_offset is not None or args.keep_cluster):
        p.error("--galera-offset and --keep-cluster go with --galera")
    args.clients = args.clients or ((6 if args.quick else 12) if args.galera else (4 if args.quick else 8))
    args.seconds = args.seconds or (5.0 if args.quick else 60.0)
    args.users = 200 if args.quick else 2000
    logging.getLogger("desktop_auth.services.context").setLevel(logging.ERROR)  # the weak-hash warning
    # A terminated run still stops what it started (the finally clauses run on SystemExit).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    return galera(args) if args.galera else single_server(args)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
