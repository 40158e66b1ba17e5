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


def test_timeouts_in_the_url_win_over_the_defaults() -> None:
    import pytest
    from sqlalchemy import event

    from desktop_auth.db.engine import make_engine

    engine = make_engine(make_settings("mysql+pymysql://app@127.0.0.1:9/app?connect_timeout=20"))
    seen: dict[str, object] = {}

    def capture(dialect: object, record: object, cargs: object, cparams: dict[str, object]) -> None:
        seen.update(cparams)
        raise RuntimeError("captured: no connection needed")

    event.listen(engine, "do_connect", capture)
    with pytest.raises(RuntimeError, match="captured"):
        engine.raw_connection()
    assert seen["connect_timeout"] == 20
    assert seen["read_timeout"] == 30  # the default where the URL says nothing
    engine.dispose()
