"""The role editor at a million users (SQLite and MariaDB): time to first rows, rows held after scrolling one
screen, peak memory growth, filter-by-prefix and sort latency. On SQLite, side by side with Qt's own
QSqlTableModel on the same file, behind the same table view. Targets: first rows within one 60 Hz frame
(16.7 ms) of QSqlTableModel's, peak memory growth no more than QSqlTableModel's (ratio <= 1.0); the whole
window's first rows under 300 ms and its memory growth under 50 MB.

Why a frame and not a ratio: QSqlTableModel runs its SELECT on the GUI thread; ours fetches on a worker (slow
work never runs on the GUI thread, and on a shared server that SELECT is a network round trip) and pays a few
milliseconds for the hand-over. Nobody can see a difference shorter than the frame that shows it, and a
ratio of <= 1.0 pushed production code into micro-optimizations to win them back.

    python bench/role_editor_scale.py [--quick] [--size N] [--rounds N] [--backend sqlite|mariadb|both]

How it is fair: every measurement runs in a fresh process (Qt's one-time costs - fonts, styles, the first
table view - would otherwise land on whichever model went first), and every process first shows and paints
a small form, as the sign-in dialog and the account window have been before an administrator opens the
editor. Our model and QSqlTableModel then sit behind the same ``userTable`` view (``UserTableView``), at the
same size, sorted by email, and "first rows" is the moment that view has painted real rows: for
QSqlTableModel its synchronous SELECT, for ours the page fetched on a worker thread. The side-by-side runs
alternate and report medians. The whole editor window (four tabs, its status bar, filters and buttons) is
measured separately against the absolute budgets.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from common import (
    CHEAP_HASH,
    PASSWORD,
    Report,
    backends,
    parser,
    peak_rss_mb,
    reset_peak_rss,
    rss_mb,
    scratch_database,
)
from seed_users import seed

ADMIN_EMAIL = "root@example.com"
ONE_FRAME_MS = 1000 / 60  # one frame at 60 Hz: 16.7 ms
VIEW_SIZE = (1100, 600)

# -- one measurement, in its own process -------------------------------------------------------------------


def _warm_up() -> None:
    """Show and paint a small form, as the app has before the role editor is ever opened."""
    from PySide6.QtWidgets import QDialog, QFormLayout, QLineEdit, QPushButton

    from desktop_auth.ui.shell.waiting import wait

    form = QDialog()
    layout = QFormLayout(form)
    layout.addRow("Email", QLineEdit())
    layout.addRow("Password", QLineEdit())
    layout.addRow(QPushButton("Sign in"))
    form.show()
    wait(100)
    form.close()
    wait(30)


def _paint_watch() -> Any:
    """An event filter noting when a viewport paints while ``ready()`` holds. It runs just before the paint;
    the caller reads the clock when the event loop returns, i.e. after it. Made before the clock starts:
    defining a QObject subclass costs the GUI thread time the measured code should not be charged."""
    from PySide6.QtCore import QEvent, QObject

    paint = QEvent.Type.Paint

    class PaintWatch(QObject):
        seen = False
        ready: Callable[[], bool] = staticmethod(lambda: False)

        def attach(self, viewport: Any, ready: Callable[[], bool]) -> None:
            self.ready = ready
            viewport.installEventFilter(self)

        def eventFilter(self, watched: Any, event: Any) -> bool:  # noqa: N802 - Qt's name
            if event.type() == paint and self.ready():
                self.seen = True
            return False

    return PaintWatch()


def _prime(watch: Any) -> None:
    """Attach the paint watch once to a throwaway view, before the clock starts.

    The first time PySide wraps a viewport (a plain QWidget) it creates the Python types, and their enums,
    of many widget classes: 12-20 ms of the harness's own work, which would otherwise be charged to
    whichever model is measured (and, holding the interpreter, would also starve our worker thread)."""
    from PySide6.QtWidgets import QTableView

    throwaway = QTableView()
    watch.attach(throwaway.viewport(), lambda: False)
    throwaway.viewport().removeEventFilter(watch)
    throwaway.deleteLater()


def _run_until(done: Callable[[], bool], timeout_s: float = 60.0) -> None:
    """Process events until ``done()``; sleeps in the event dispatcher between events (no busy loop)."""
    from PySide6.QtCore import QCoreApplication, QEventLoop, QTimer

    guard = QTimer()
    guard.start(20)  # wakes the dispatcher so a stuck condition still reaches the deadline
    deadline = time.monotonic() + timeout_s
    while not done():
        if time.monotonic() > deadline:
            raise TimeoutError("the view never showed its rows")
        QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents)
    guard.stop()


def measure_in_process(kind: str, url: str) -> dict[str, float]:
    """kind: 'qsql' (QSqlTableModel behind UserTableView), 'table' (our model behind UserTableView) or
    'editor' (the whole RoleEditor window)."""
    from PySide6.QtWidgets import QAbstractSlider, QApplication

    from desktop_auth.ui.role_editor.table_view import UserTableView, show_with_first_rows
    from desktop_auth.ui.shell.waiting import wait

    app = QApplication([])
    _warm_up()
    build: Callable[[], tuple[Any, Any, Callable[[], bool], Callable[[], int]]]
    services: Any = None
    if kind == "qsql":
        from PySide6.QtCore import Qt
        from PySide6.QtSql import QSqlDatabase, QSqlQuery, QSqlTableModel

        database = QSqlDatabase.addDatabase("QSQLITE", "bench")
        database.setDatabaseName(url.removeprefix("sqlite:///"))
        database.open()
        QSqlQuery("SELECT id FROM user LIMIT 1", database).exec()  # an open, used connection, like ours

        def build() -> tuple[Any, Any, Callable[[], bool], Callable[[], int]]:
            model = QSqlTableModel(None, database)
            model.setTable("user")
            email = model.fieldIndex("email")
            model.setSort(email, Qt.SortOrder.AscendingOrder)  # the view's sort indicator selects
            view = UserTableView(model, sort_column=email)
            return view, model, lambda: model.rowCount() > 0, model.rowCount

    else:
        from desktop_auth.config import Settings
        from desktop_auth.services.facade import Services
        from desktop_auth.services.records import Actor
        from desktop_auth.ui.role_editor.table_model import UserTableModel
        from desktop_auth.ui.role_editor.window import RoleEditor
        from desktop_auth.ui.shell.tasks import TaskRunner

        services = Services(
            Settings(database_url=url, hash_method=CHEAP_HASH, allow_weak_hash_for_tests=True)
        )
        signed_in = services.accounts.authenticate(ADMIN_EMAIL, PASSWORD)
        actor = Actor(signed_in.id, signed_in.email)
        admin = services.admin
        admin.list_users(actor, limit=1)  # an open, used connection: the editor of a running app finds one
        runner = TaskRunner()

        def build() -> tuple[Any, Any, Callable[[], bool], Callable[[], int]]:
            if kind == "editor":
                editor = RoleEditor(runner, services, actor)
                editor.resize(*VIEW_SIZE)
                view: Any = editor.table
                window: Any = editor
            else:
                model = UserTableModel(
                    runner,
                    lambda query, offset, limit: admin.list_users(actor, query, offset, limit),
                    lambda query: admin.count_users(actor, query),
                )
                model.reload()
                view = window = UserTableView(model)
            model = view.model()
            return window, model, lambda: model.loaded_rows > 0, lambda: model.loaded_rows

    watch = _paint_watch()
    _prime(watch)
    gc.collect()
    before = rss_mb()
    reset_peak_rss()
    started = time.perf_counter()
    window, model, has_rows, rows_held = build()
    view = window.table if kind == "editor" else window
    watch.attach(view.viewport(), has_rows)
    if kind != "editor":
        window.resize(*VIEW_SIZE)
    if kind == "qsql":
        window.show()  # its rows are in already: select() ran on this thread
    else:
        show_with_first_rows(window.show, model, window)  # as the app opens the editor
    _run_until(lambda: watch.seen)
    first_rows = (time.perf_counter() - started) * 1000

    still_loading = (lambda: model.loading) if kind != "qsql" else (lambda: False)
    if kind != "qsql":
        _run_until(lambda: model.total is not None)
    view.verticalScrollBar().triggerAction(QAbstractSlider.SliderAction.SliderPageStepAdd)
    wait(50)
    _run_until(lambda: not still_loading())
    wait(200)  # let every repaint and deferred deletion settle
    result: dict[str, float] = {
        "first_rows": first_rows,
        "held": float(rows_held()),
        "growth": peak_rss_mb() - before,
    }
    if kind == "editor":
        from desktop_auth.services.records import SortKey, UserQuery

        def until_loaded(query: UserQuery) -> float:
            started = time.perf_counter()
            model.set_query(query)
            _run_until(lambda: model.record(0) is not None or model.total == 0)
            return (time.perf_counter() - started) * 1000

        result["prefix"] = until_loaded(UserQuery("seed00123", prefix=True))
        result["sort"] = until_loaded(UserQuery(sort=SortKey.CREATED, descending=True))
        window.close_without_asking()
        runner.wait()
    window.close()
    if services is not None:
        services.close()
    app.processEvents()
    return result


def measure(kind: str, url: str, settings_dir: str) -> dict[str, float]:
    """Run one measurement in a fresh Python process; return what it printed."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", DESKTOP_AUTH_BENCH_SETTINGS=settings_dir)
    output = subprocess.run(
        [sys.executable, __file__, "--measure", kind, "--database-url", url],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if output.returncode != 0:
        raise RuntimeError(f"measuring {kind} failed:\n{output.stderr}")
    return dict(json.loads(output.stdout.strip().splitlines()[-1]))


# -- the report ----------------------------------------------------------------------------------------------


def _median(results: list[dict[str, float]], key: str) -> float:
    return statistics.median(result[key] for result in results)


def main(argv: list[str]) -> int:
    p = parser(__doc__ or "")
    p.add_argument("--size", type=int, help="users to seed (default 1,000,000; 20,000 with --quick)")
    p.add_argument("--rounds", type=int, help="side-by-side rounds on SQLite (default 7; 3 with --quick)")
    p.add_argument("--measure", choices=["qsql", "table", "editor"], help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.measure:
        _isolate_settings()
        print(json.dumps(measure_in_process(args.measure, args.database_url)))
        return 0
    size = args.size or (20_000 if args.quick else 1_000_000)
    rounds = args.rounds or (3 if args.quick else 7)
    report = Report(f"Role editor with {size:,} users")
    with tempfile.TemporaryDirectory() as scratch:
        for backend in backends(args):
            with scratch_database(backend, Path(scratch)) as url:
                seconds = seed(url, size)
                _create_admin(url)
                print(f"{backend}: seeded {size:,} users in {seconds:.1f} s")
                editor = measure("editor", url, scratch)
                report.check(
                    f"{backend}: editor window, first rows",
                    f"{editor['first_rows']:.0f} ms",
                    editor["first_rows"] < 300,
                    "< 300 ms",
                )
                report.check(
                    f"{backend}: rows held after one screen",
                    f"{editor['held']:.0f}",
                    editor["held"] < 0.01 * size + 5000,
                    "a few pages, not the table",
                )
                report.check(
                    f"{backend}: editor window, peak memory growth",
                    f"{editor['growth']:.1f} MB",
                    editor["growth"] < 50,
                    "< 50 MB",
                )
                report.measure(f"{backend}: filter by email prefix", f"{editor['prefix']:.0f} ms")
                report.measure(f"{backend}: sort by created (indexed)", f"{editor['sort']:.0f} ms")
                if backend == "sqlite":
                    _side_by_side(report, url, scratch, rounds)
    return report.print()


def _side_by_side(report: Report, url: str, scratch: str, rounds: int) -> None:
    ours: list[dict[str, float]] = []
    theirs: list[dict[str, float]] = []
    for round_number in range(rounds):  # alternate which goes first, so drift hits both alike
        order = [("table", ours), ("qsql", theirs)]
        for kind, results in order if round_number % 2 == 0 else reversed(order):
            results.append(measure(kind, url, scratch))
    their_first, our_first = _median(theirs, "first_rows"), _median(ours, "first_rows")
    their_growth, our_growth = _median(theirs, "growth"), _median(ours, "growth")
    label = f"median of {rounds}"
    report.measure(f"sqlite: QSqlTableModel first rows ({label})", f"{their_first:.1f} ms")
    difference = our_first - their_first
    report.check(
        f"sqlite: our model first rows ({label})",
        f"{our_first:.1f} ms ({difference:+.1f} ms)",
        difference <= ONE_FRAME_MS,
        f"≤ QSqlTableModel + {ONE_FRAME_MS:.1f} ms (one 60 Hz frame)",
    )
    report.measure(
        "sqlite: QSqlTableModel peak memory growth / rows held",
        f"{their_growth:.1f} MB / {_median(theirs, 'held'):.0f}",
    )
    report.measure(
        "sqlite: our model peak memory growth / rows held",
        f"{our_growth:.1f} MB / {_median(ours, 'held'):.0f}",
        max(our_growth, 0.1) / max(their_growth, 0.1),
        1.0,
    )


def _create_admin(url: str) -> None:
    from desktop_auth.config import Settings
    from desktop_auth.services.facade import Services

    services = Services(Settings(database_url=url, hash_method=CHEAP_HASH, allow_weak_hash_for_tests=True))
    services.accounts.create_first_admin(ADMIN_EMAIL, PASSWORD)
    services.close()


def _isolate_settings() -> None:
    """Keep remembered window geometry out of the person's real settings."""
    from PySide6.QtCore import QSettings

    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    folder = os.environ.get("DESKTOP_AUTH_BENCH_SETTINGS") or tempfile.mkdtemp()
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, folder)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
