"""Insert N users fast: set-based multi-row INSERTs sharing one precomputed hash.

    python bench/seed_users.py 1000000 [--database-url URL] [--prefix seed]

1,000,000 users take about a minute on SQLite and a few on MariaDB.
"""

from __future__ import annotations

import argparse
import sys
import time

from common import CHEAP_HASH, PASSWORD

BATCH = 10_000


def seed(url: str, count: int, prefix: str = "seed", role: str = "user", start: int = 0) -> float:
    """Insert ``count`` users into the migrated database at ``url``; return the seconds it took."""
    from sqlalchemy import insert, select
    from werkzeug.security import generate_password_hash

    from desktop_auth.config import Settings
    from desktop_auth.db.engine import Database
    from desktop_auth.db.types import utcnow
    from desktop_auth.models import Role, User

    database = Database(Settings(database_url=url, hash_method=CHEAP_HASH, allow_weak_hash_for_tests=True))
    password_hash = generate_password_hash(PASSWORD, method=CHEAP_HASH)  # one hash for every row
    now = utcnow()
    started = time.perf_counter()
    with database.transaction() as session:
        role_id = session.scalar(select(Role.id).where(Role.name == role))
    for batch_start in range(start, start + count, BATCH):
        rows = [
            {
                "email": f"{prefix}{n:07d}@example.com",
                "password_hash": password_hash,
                "role_id": role_id,
                "active": True,
                "must_change_password": False,
                "login_count": n % 50,
                "version": 1,
                "create_date": now,
                "update_date": now,
            }
            for n in range(batch_start, min(batch_start + BATCH, start + count))
        ]
        with database.transaction(write=True) as session:
            session.execute(insert(User.__table__), rows)
    database.dispose()
    return time.perf_counter() - started


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("count", type=int)
    parser.add_argument("--database-url", help="default: DATABASE_URL / the embedded database")
    parser.add_argument("--prefix", default="seed")
    args = parser.parse_args(argv)
    from desktop_auth.config import load_settings
    from desktop_auth.db import migrate
    from desktop_auth.db.engine import Database

    settings = load_settings(args.database_url)
    database = Database(settings)
    migrate.upgrade(database)
    database.dispose()
    seconds = seed(settings.database_url, args.count, args.prefix)
    print(f"inserted {args.count:,} users in {seconds:.1f} s ({args.count / max(seconds, 1e-9):,.0f} rows/s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
