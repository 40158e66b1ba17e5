"""The role editor at a million users (SQLite and MariaDB): time to first rows, rows held after scrolling
one screen, memory growth, filter-by-prefix and sort latency. On SQLite, side by side with Qt's own
QSqlTableModel on the same file. Targets: first rows and memory no worse than QSqlTableModel (ratio <= 1.0),
first rows under 300 ms, memory growth under 50 MB.

    python bench/role_editor_scale.py [--quick] [--size N] [--backend sqlite|mariadb|both]
"""

from __future__ import annotations

import gc
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from common import CHEAP_HASH, PASSWORD, Report, backends, parser, rss_mb, scratch_database
from seed_users import seed


def qsql_baseline(path: str) -> tuple[float, float, int]:
    """(ms to first rows, MB of memory growth, rows held after one screen) for QSqlTableModel."""
    from PySide6.QtSql import QSqlDatabase, QSqlTableModel
    from PySide6.QtWidgets import QTableView

    from desktop_auth.ui.waiting import wait

    gc.collect()
    before = rss_mb()
    started = time.perf_counter()
    database = QSqlDatabase.addDatabase("QSQLITE", "bench")
    database.setDatabaseName(path)
    database.open()
    model = QSqlTableModel(None, database)
    model.setTable("user")
    model.select()
    view = QTableView()
    view.setModel(model)
    view.resize(1100, 600)
    view.show()
    first_rows = (time.perf_counter() - started) * 1000
    wait(50)
    view.verticalScrollBar().setValue(view.verticalScrollBar().value() + view.viewport().height())
    wait(200)
    growth = rss_mb() - before
    held = model.rowCount()
    view.close()
    view.setModel(None)
    model.deleteLater()
    del view, model
    database.close()
    del database
    wait(10)
    QSqlDatabase.removeDatabase("bench")
    return first_rows, growth, held


def editor_measurements(url: str, size: int) -> dict[str, float]:
    from PySide6.QtWidgets import QApplication, QTableView

    from desktop_auth.config import Settings
    from desktop_auth.services.facade import Services
    from desktop_auth.services.records import Actor, SortKey, UserQuery
    from desktop_auth.ui.role_editor import RoleEditor
    from desktop_auth.ui.tasks import TaskRunner
    from desktop_auth.ui.waiting import wait, wait_for

    app = QApplication.instance() or QApplication([])
    services = Services(Settings(database_url=url, hash_method=CHEAP_HASH))
    admin = services.accounts.create_first_admin("root@example.com", PASSWORD)
    actor = Actor(admin.id, admin.email)
    services.admin.list_users(actor, limit=1)  # warm the pool: the editor of a running app finds it warm
    gc.collect()
    before = rss_mb()
    runner = TaskRunner()
    started = time.perf_counter()
    editor = RoleEditor(runner, services, actor)
    editor.show()
    model = editor.model
    wait_for(lambda: model.record(0) is not None, what="first rows")
    first_rows = (time.perf_counter() - started) * 1000
    wait_for(lambda: model.total is not None, timeout_ms=60_000, what="the count")
    table = editor.findChild(QTableView, "userTable")
    assert table is not None
    table.verticalScrollBar().setValue(table.verticalScrollBar().value() + table.viewport().height())
    wait(50)
    wait_for(lambda: not model.loading, what="the next screen")
    held = model.loaded_rows
    growth = rss_mb() - before

    def until_loaded(query: UserQuery) -> float:
        started = time.perf_counter()
        model.set_query(query)
        wait_for(lambda: model.record(0) is not None or model.total == 0, timeout_ms=60_000, what="rows")
        return (time.perf_counter() - started) * 1000

    prefix = until_loaded(UserQuery("seed00123", prefix=True))
    sort = until_loaded(UserQuery(sort=SortKey.CREATED, descending=True))
    editor.close_without_asking()
    runner.wait()
    services.close()
    app.processEvents()
    return {
        "first_rows": first_rows,
        "growth": growth,
        "held": held,
        "prefix": prefix,
        "sort": sort,
        "total": float(model.total or 0),
    }


def main(argv: list[str]) -> int:
    p = parser(__doc__ or "")
    p.add_argument("--size", type=int, help="users to seed (default 1,000,000; 20,000 with --quick)")
    args = p.parse_args(argv)
    size = args.size or (20_000 if args.quick else 1_000_000)
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    report = Report(f"Role editor with {size:,} users")
    with tempfile.TemporaryDirectory() as scratch:
        QSettings.setDefaultFormat(QSettings.Format.IniFormat)
        QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, scratch)
        for backend in backends(args):
            with scratch_database(backend, Path(scratch)) as url:
                seconds = seed(url, size)
                print(f"{backend}: seeded {size:,} users in {seconds:.1f} s")
                ours = editor_measurements(url, size)
                report.check(
                    f"{backend}: first rows",
                    f"{ours['first_rows']:.0f} ms",
                    ours["first_rows"] < 300,
                    "< 300 ms",
                )
                report.check(
                    f"{backend}: rows held after one screen",
                    f"{ours['held']:.0f}",
                    ours["held"] < 0.01 * size + 5000,
                    "a few pages, not the table",
                )
                report.check(
                    f"{backend}: memory growth", f"{ours['growth']:.1f} MB", ours["growth"] < 50, "< 50 MB"
                )
                report.measure(f"{backend}: filter by email prefix", f"{ours['prefix']:.0f} ms")
                report.measure(f"{backend}: sort by created (indexed)", f"{ours['sort']:.0f} ms")
                if backend == "sqlite":
                    path = url.removeprefix("sqlite:///")
                    base_first, base_growth, base_held = qsql_baseline(path)
                    report.measure("sqlite: QSqlTableModel first rows", f"{base_first:.0f} ms")
                    report.measure(
                        "sqlite: first rows against QSqlTableModel",
                        f"{ours['first_rows']:.0f} ms",
                        ours["first_rows"] / base_first,
                        1.0,
                    )
                    report.measure(
                        "sqlite: QSqlTableModel memory growth / rows held",
                        f"{base_growth:.1f} MB / {base_held}",
                    )
                    report.measure(
                        "sqlite: memory against QSqlTableModel",
                        f"{ours['growth']:.1f} MB",
                        max(ours["growth"], 0.1) / max(base_growth, 0.1),
                        1.0,
                    )
    del app
    return report.print()


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
