"""Shared helpers for the benchmark scripts: arguments, databases, timing, memory and the result table.

Every script prints a table of measurements and ratios against a baseline measured in the same run, and
exits 1 when a target is missed. Absolute times on shared machines are noise; ratios are the targets.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MARIADB_SERVER = "mysql+pymysql://root:@127.0.0.1:3306"
CHEAP_HASH = "pbkdf2:sha256:1000"
PASSWORD = "violet-tundra-quartz-88-lagoon"


@dataclass
class Report:
    title: str
    rows: list[tuple[str, str, str, str]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def measure(
        self,
        name: str,
        value: str,
        ratio: float | None = None,
        target: float | None = None,
        higher_is_better: bool = False,
    ) -> None:
        verdict = ""
        if ratio is not None and target is not None:
            ok = ratio >= target if higher_is_better else ratio <= target
            verdict = (
                f"{ratio:.2f} ({'≥' if higher_is_better else '≤'} {target:g}: {'ok' if ok else 'MISSED'})"
            )
            if not ok:
                self.failures.append(f"{name}: {ratio:.2f} against a target of {target:g}")
        elif ratio is not None:
            verdict = f"{ratio:.2f}"
        self.rows.append((name, value, verdict, ""))

    def check(self, name: str, value: str, ok: bool, target: str) -> None:
        self.rows.append((name, value, f"{target}: {'ok' if ok else 'MISSED'}", ""))
        if not ok:
            self.failures.append(f"{name}: {value} (target {target})")

    def print(self) -> int:
        print(f"\n## {self.title}\n")
        width = max([len(r[0]) for r in self.rows] + [11])
        vwidth = max([len(r[1]) for r in self.rows] + [5])
        print(f"{'measurement':<{width}}  {'value':>{vwidth}}  ratio / target")
        for name, value, verdict, _ in self.rows:
            print(f"{name:<{width}}  {value:>{vwidth}}  {verdict}")
        if self.failures:
            print("\nMISSED: " + "; ".join(self.failures))
            return 1
        print("\nall targets met")
        return 0


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    p.add_argument("--database-url", help="an existing database to use (default: scratch SQLite and MariaDB)")
    p.add_argument("--backend", choices=["sqlite", "mariadb", "both"], default="both")
    return p


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def _status_mb(field: str) -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def rss_mb() -> float:
    """Resident memory of this process, from /proc (Linux)."""
    current = _status_mb("VmRSS")
    if current is not None:
        return current
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak_rss() -> None:
    """Start peak-memory tracking afresh (Linux: writing 5 to clear_refs resets VmHWM)."""
    with suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def peak_rss_mb() -> float:
    """The highest resident memory since the last reset_peak_rss() (or since the process started)."""
    peak = _status_mb("VmHWM")
    return peak if peak is not None else rss_mb()


def mariadb_available() -> bool:
    import pymysql

    try:
        pymysql.connect(host="127.0.0.1", user="root", password="", connect_timeout=3).close()
    except pymysql.MySQLError:
        return False
    return True


@contextmanager
def scratch_database(backend: str, workdir: Path) -> Iterator[str]:
    """A fresh, migrated database URL on ``backend``; MariaDB ones are dropped afterwards."""
    from desktop_auth.config import Settings
    from desktop_auth.db import migrate
    from desktop_auth.db.engine import Database

    if backend == "sqlite":
        url = f"sqlite:///{workdir / f'bench-{uuid.uuid4().hex[:8]}.sqlite3'}"
        drop = None
    else:
        import pymysql

        name = f"da_bench_{uuid.uuid4().hex[:10]}"
        connection = pymysql.connect(host="127.0.0.1", user="root", password="", autocommit=True)
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        url, drop = f"{MARIADB_SERVER}/{name}", (connection, name)
    database = Database(Settings(database_url=url, hash_method=CHEAP_HASH, allow_weak_hash_for_tests=True))
    migrate.upgrade(database)
    database.dispose()
    try:
        yield url
    finally:
        if drop is not None:
            connection, name = drop
            with connection.cursor() as cursor:
                cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
            connection.close()


def backends(args: argparse.Namespace) -> list[str]:
    wanted = ["sqlite", "mariadb"] if args.backend == "both" else [args.backend]
    if "mariadb" in wanted and not mariadb_available():
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            raise SystemExit("MariaDB is not reachable on 127.0.0.1:3306")
        print("(MariaDB not reachable: its measurements are skipped)")
        wanted.remove("mariadb")
    return wanted
