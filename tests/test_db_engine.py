"""How the engine sets up each SQLite connection it pools."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from desktop_auth.db.engine import SQLITE_CACHE_KIB, Database
from tests.conftest import make_settings


def test_every_pooled_sqlite_connection_is_set_up(tmp_path: Path) -> None:
    database = Database(make_settings(f"sqlite:///{tmp_path / 'pragmas.sqlite3'}"))
    try:
        with database.engine.connect() as first, database.engine.connect() as second:
            for connection in (first, second):
                assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
                assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
                # Negative: a size in KiB. Small on purpose: one count of a large table fills the whole cache.
                assert connection.execute(text("PRAGMA cache_size")).scalar() == -SQLITE_CACHE_KIB
    finally:
        database.dispose()
