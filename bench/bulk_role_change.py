"""Bulk role change: 10,000 selected users given a role through the service (version checks, last-admin
guard, audit rows, one transaction) against one raw ``UPDATE user SET role_id = ? WHERE id IN (...)``.
Target: <= 3x.

    python bench/bulk_role_change.py [--quick] [--backend sqlite|mariadb|both]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from common import CHEAP_HASH, PASSWORD, Report, backends, median_ms, parser, scratch_database
from seed_users import seed

TARGET = 3.0


def measure(url: str, count: int, rounds: int) -> tuple[float, float]:
    from sqlalchemy import select, text

    from desktop_auth.config import Settings
    from desktop_auth.models import Role, User
    from desktop_auth.services.facade import Services
    from desktop_auth.services.records import Actor

    services = Services(Settings(database_url=url, hash_method=CHEAP_HASH, allow_weak_hash_for_tests=True))
    admin = services.accounts.create_first_admin("root@example.com", PASSWORD)
    actor = Actor(admin.id, admin.email)
    services.roles.add_role(actor, "staff")
    seed(url, count, prefix="bulk")
    with services.database.transaction() as session:
        ids = list(session.scalars(select(User.id).where(User.email.like("bulk%"))))
        role_ids = dict(session.execute(select(Role.name, Role.id)).all())
    service_times, raw_times = [], []
    roles = ["staff", "user"]
    for round_number in range(rounds):
        role = roles[round_number % 2]
        with services.database.transaction() as session:  # what the editor holds: ids and versions
            versions = dict(session.execute(select(User.id, User.version).where(User.id.in_(ids))).all())
        started = time.perf_counter()
        services.admin.bulk_set_role(actor, versions, role)
        service_times.append(time.perf_counter() - started)

        other = role_ids[roles[(round_number + 1) % 2]]
        started = time.perf_counter()
        with services.database.engine.begin() as connection:
            connection.execute(
                text(f"UPDATE user SET role_id = :role WHERE id IN ({','.join(map(str, ids))})"),
                {"role": other},
            )
        raw_times.append(time.perf_counter() - started)
    services.close()
    return median_ms(service_times), median_ms(raw_times)


def main(argv: list[str]) -> int:
    args = parser(__doc__ or "").parse_args(argv)
    count, rounds = (10_000, 3) if args.quick else (10_000, 7)
    report = Report(f"Bulk role change of {count:,} users, with audit rows")
    with tempfile.TemporaryDirectory() as scratch:
        for backend in backends(args):
            with scratch_database(backend, Path(scratch)) as url:
                service, raw = measure(url, count, rounds)
            report.measure(f"{backend}: raw UPDATE ... WHERE id IN (...)", f"{raw:.0f} ms")
            report.measure(f"{backend}: bulk_set_role()", f"{service:.0f} ms", service / raw, TARGET)
    return report.print()


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
