"""Sign-in overhead: the service's authenticate() against its floor, which is werkzeug verifying the same
hash plus one raw DBAPI SELECT by email. Real default hash (scrypt), SQLite and MariaDB. Target: <= 1.10x.

    python bench/signin_overhead.py [--quick] [--backend sqlite|mariadb|both]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from common import PASSWORD, Report, backends, median_ms, parser, scratch_database

TARGET = 1.10
DEFAULT_HASH = "scrypt:131072:8:1"


def floor_once(url: str, raw_connection: object, email: str) -> float:
    from werkzeug.security import check_password_hash

    started = time.perf_counter()
    cursor = raw_connection.cursor()  # type: ignore[attr-defined]
    placeholder = "?" if url.startswith("sqlite") else "%s"
    cursor.execute(f"SELECT id, password_hash FROM user WHERE email = {placeholder}", (email,))
    _id, password_hash = cursor.fetchone()
    cursor.close()
    if url.startswith("sqlite"):
        raw_connection.commit()  # type: ignore[attr-defined]
    assert check_password_hash(password_hash, PASSWORD)
    return time.perf_counter() - started


def measure(url: str, rounds: int) -> tuple[float, float]:
    from desktop_auth.config import Settings
    from desktop_auth.services.facade import Services

    services = Services(Settings(database_url=url, hash_method=DEFAULT_HASH))
    services.accounts.register("bench@example.com", PASSWORD)
    services.accounts.authenticate("bench@example.com", PASSWORD)  # warm: pool, caches
    raw = services.database.engine.raw_connection()
    floor_once(url, raw, "bench@example.com")
    service_times, floor_times = [], []
    for _ in range(rounds):  # interleaved, so load drift hits both
        started = time.perf_counter()
        services.accounts.authenticate("bench@example.com", PASSWORD)
        service_times.append(time.perf_counter() - started)
        floor_times.append(floor_once(url, raw, "bench@example.com"))
    raw.close()
    services.close()
    return median_ms(service_times), median_ms(floor_times)


def main(argv: list[str]) -> int:
    args = parser(__doc__ or "").parse_args(argv)
    rounds = 7 if args.quick else 25
    report = Report("Sign-in overhead: authenticate() against werkzeug verify + one raw SELECT")
    with tempfile.TemporaryDirectory() as scratch:
        for backend in backends(args):
            with scratch_database(backend, Path(scratch)) as url:
                service, floor = measure(url, rounds)
            report.measure(f"{backend}: floor (verify + SELECT)", f"{floor:.1f} ms")
            report.measure(f"{backend}: authenticate()", f"{service:.1f} ms", service / floor, TARGET)
    return report.print()


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
