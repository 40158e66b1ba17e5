"""Bulk role change at a million users (#15, "bulk actions are queries"), on SQLite and MariaDB.

Every user with the role ``user`` becomes an ``admin``, three ways, each on a fresh database seeded alike:

1. **baseline**: one transaction of raw SQL through the app's engine: the audit rows written by the database
   (``INSERT INTO audit_event (...) SELECT ... FROM user JOIN role ... WHERE role_id = <user>``), then one
   ``UPDATE user SET role_id = <admin>, version = version + 1, update_date = ... WHERE role_id = <user>``;
2. **ours**: ``services.bulk.stage`` (the database's snapshot of who and which versions) and
   ``services.bulk.apply`` (all-or-nothing up to 10,000 users, else a job of 10,000-user chunks), by the
   seeded administrator. Target: stage + apply at most 3x the baseline. Checked afterwards: every user is an
   admin, one audit row each, no snapshot rows left;
3. **the GUI**: the real role editor window (in its own process) on the same data: Ctrl+A on the user
   table, Set role ``admin`` from the action bar, Save, waiting until the change is in the database and the
   window is idle again. Targets: no event-loop stall over 50 ms (a 5 ms QTimer's longest gap, per step)
   and the table model holding a few pages only (at most its ``max_pages`` x ``page_size`` rows), during
   and after.

    python bench/bulk_role_change.py [--quick] [--size N] [--backend sqlite|mariadb|both] [--no-gui]

Stage and apply statements are timed through SQLAlchemy's cursor events and the slowest are printed after
the table (``--statements N``), to show where the time goes.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from common import CHEAP_HASH, PASSWORD, Report, backends, parser, scratch_database
from seed_users import seed

TARGET = 3.0
STALL_MS = 50
ADMIN_EMAIL = "root@example.com"
FROM_ROLE, TO_ROLE = "user", "admin"


# -- the service and the baseline, in this process -----------------------------------------------------------


def _services(url: str) -> Any:
    from desktop_auth.config import Settings
    from desktop_auth.services.facade import Services

    return Services(Settings(database_url=url, hash_method=CHEAP_HASH, allow_weak_hash_for_tests=True))


def prepare(url: str, size: int) -> float:
    """The first administrator, then ``size`` users with the role ``user``; returns the seeding seconds."""
    services = _services(url)
    services.accounts.create_first_admin(ADMIN_EMAIL, PASSWORD)
    services.close()
    return seed(url, size, prefix="bulk", role=FROM_ROLE)


def _role_ids(services: Any) -> dict[str, int]:
    from sqlalchemy import select

    from desktop_auth.models import Role

    with services.database.transaction() as session:
        return dict(session.execute(select(Role.name, Role.id)).all())


def _admin_actor(services: Any) -> Any:
    from sqlalchemy import select

    from desktop_auth.models import User
    from desktop_auth.services.records import Actor

    with services.database.transaction() as session:
        admin_id = session.scalar(select(User.id).where(User.email == ADMIN_EMAIL))
    return Actor(admin_id, ADMIN_EMAIL)


def baseline(url: str) -> tuple[float, int]:
    """The raw change in one transaction: seconds, users updated."""
    from sqlalchemy import bindparam, text

    from desktop_auth.db.types import UTCDateTime, utcnow

    services = _services(url)
    roles, actor = _role_ids(services), _admin_actor(services)
    audit = text(
        "INSERT INTO audit_event (created_at, actor_id, actor, action, target_id, target, old_value, new_value)"
        " SELECT :now, :actor_id, :actor, 'role', u.id, u.email, r.name, :new"
        " FROM user u JOIN role r ON r.id = u.role_id WHERE u.role_id = :old_role"
    ).bindparams(bindparam("now", type_=UTCDateTime()))
    change = text(
        "UPDATE user SET role_id = :new_role, version = version + 1, update_date = :now WHERE role_id = :old_role"
    ).bindparams(bindparam("now", type_=UTCDateTime()))
    values = {
        "now": utcnow(),
        "actor_id": actor.user_id,
        "actor": actor.label,
        "new": TO_ROLE,
        "old_role": roles[FROM_ROLE],
        "new_role": roles[TO_ROLE],
    }
    started = time.perf_counter()
    with services.database.engine.begin() as connection:
        connection.execute(audit, values)
        updated = connection.execute(change, values).rowcount
    seconds = time.perf_counter() - started
    services.close()
    return seconds, updated


@dataclass
class StatementTimes:
    """Time per statement shape (numbers and parameter lists folded), from SQLAlchemy's cursor events."""

    seconds: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    calls: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    @contextmanager
    def watching(self, engine: Any) -> Iterator[None]:
        from sqlalchemy import event

        started: list[float] = []

        def before(*_args: Any) -> None:
            started.append(time.perf_counter())

        def after(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            shape = re.sub(r"\s+", " ", re.sub(r"\b\d+\b", "N", statement)).strip()
            shape = re.sub(r"\((?:[?N%s(), ]+)\)", "(...)", shape)
            self.seconds[shape] += time.perf_counter() - started.pop()
            self.calls[shape] += 1

        event.listen(engine, "before_cursor_execute", before)
        event.listen(engine, "after_cursor_execute", after)
        try:
            yield
        finally:
            event.remove(engine, "before_cursor_execute", before)
            event.remove(engine, "after_cursor_execute", after)

    def top(self, count: int) -> list[str]:
        total = sum(self.seconds.values()) or 1e-9
        lines = []
        for shape, seconds in sorted(self.seconds.items(), key=lambda item: -item[1])[:count]:
            calls = self.calls[shape]
            lines.append(
                f"{seconds:8.2f} s {100 * seconds / total:5.1f}% {calls:6d} x {1000 * seconds / calls:8.1f} ms"
                f"  {shape[:230]}"
            )
        return lines


@dataclass
class Ours:
    stage: float
    apply: float
    chunks: int
    changed: int
    conflicts: int
    slowest_chunk: float
    stage_statements: StatementTimes
    apply_statements: StatementTimes


def ours(url: str) -> Ours:
    """Stage and apply 'every user with role user -> admin' through the service."""
    from desktop_auth.services.records import BulkChangeStatus, BulkSelection, BulkState, UserQuery

    services = _services(url)
    actor = _admin_actor(services)
    engine = services.database.engine
    stage_statements, apply_statements = StatementTimes(), StatementTimes()
    started = time.perf_counter()
    with stage_statements.watching(engine):
        staged = services.bulk.stage(actor, BulkSelection(UserQuery(role=FROM_ROLE)), role=TO_ROLE)
    staged_at = time.perf_counter()
    chunk_times: list[float] = []
    last = [staged_at]

    def progress(_status: BulkChangeStatus) -> None:
        now = time.perf_counter()
        chunk_times.append(now - last[0])
        last[0] = now

    with apply_statements.watching(engine):
        done = services.bulk.apply(actor, staged.id, progress=progress)
    applied_at = time.perf_counter()
    services.close()
    if done.state is not BulkState.DONE:
        raise RuntimeError(f"the bulk change ended {done.state.value}: {done.message}")
    return Ours(
        stage=staged_at - started,
        apply=applied_at - staged_at,
        chunks=len(chunk_times),
        changed=done.changed,
        conflicts=done.conflicts,
        slowest_chunk=max(chunk_times, default=0.0),
        stage_statements=stage_statements,
        apply_statements=apply_statements,
    )


def outcome(url: str) -> dict[str, int]:
    """Admins, audit rows of role changes, snapshot rows left: read after a run."""
    from sqlalchemy import func, select

    from desktop_auth.models import AuditEvent, BulkChangeMember, User

    services = _services(url)
    admin_id = _role_ids(services)[TO_ROLE]
    with services.database.transaction() as session:
        counts = {
            "admins": session.scalar(select(func.count()).select_from(User).where(User.role_id == admin_id)),
            "audit": session.scalar(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "role")
            ),
            "snapshot": session.scalar(select(func.count()).select_from(BulkChangeMember)),
        }
    services.close()
    return {name: int(value or 0) for name, value in counts.items()}


# -- the GUI, in its own process -----------------------------------------------------------------------------


class _DatabaseWatch:
    """Polls the database from a plain thread (own connection) until every user is an admin: the GUI thread
    never waits on it. sqlite3 and PyMySQL's socket reads let go of the interpreter lock while they wait."""

    def __init__(self, url: str, expected_admins: int) -> None:
        from sqlalchemy import create_engine
        from sqlalchemy.pool import NullPool

        self.engine = create_engine(url, poolclass=NullPool)
        self.expected = expected_admins
        self.admins = 0
        self.done = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        from sqlalchemy import text

        while not self._stop.wait(0.25):
            with self.engine.connect() as connection:
                self.admins = int(
                    connection.execute(
                        text(
                            "SELECT COUNT(*) FROM user u JOIN role r ON r.id = u.role_id WHERE r.name = :name"
                        ),
                        {"name": TO_ROLE},
                    ).scalar_one()
                )
            if self.admins >= self.expected:
                self.done.set()
                return

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self.engine.dispose()


class _Meter:
    """A 5 ms QTimer's longest gap (how long the event loop stalled) per step, and the most rows the table
    model held, read at every tick."""

    def __init__(self, model: Any) -> None:
        from PySide6.QtCore import QElapsedTimer, QTimer

        self.model = model
        self.clock = QElapsedTimer()
        self.timer = QTimer()
        self.timer.setInterval(5)
        self.timer.timeout.connect(self._tick)
        self.step = ""
        self.gaps: dict[str, int] = {}
        self.held_most = 0
        self.last = 0

    def start(self, step: str) -> None:
        if not self.timer.isActive():
            self.clock.start()
            self.last = 0
            self.timer.start()
        self.step = step
        self.gaps.setdefault(step, 0)

    def _tick(self) -> None:
        now = self.clock.elapsed()
        self.gaps[self.step] = max(self.gaps[self.step], now - self.last)
        self.last = now
        self.held_most = max(self.held_most, self.model.loaded_rows)

    def stop(self) -> None:
        self.timer.stop()


class _DialogAnswerer:
    """Answers any question box the window asks (a confirmation before a change to a million users) with its
    affirmative button, and keeps what it said, so the run does not hang on a modal dialog."""

    def __init__(self) -> None:
        from PySide6.QtCore import QTimer

        self.seen: list[str] = []
        self.timer = QTimer()
        self.timer.setInterval(50)
        self.timer.timeout.connect(self.answer)
        self.timer.start()

    def answer(self) -> None:
        from PySide6.QtWidgets import QApplication, QMessageBox

        for widget in QApplication.topLevelWidgets():
            if isinstance(widget, QMessageBox) and widget.isVisible():
                self.seen.append(f"{widget.windowTitle()}: {widget.text()}"[:300])
                buttons = QMessageBox.StandardButton
                for choice in (buttons.Yes, buttons.Ok, buttons.Save, buttons.Apply):
                    button = widget.button(choice)
                    if button is not None:
                        button.click()
                        break
                else:
                    default = widget.defaultButton()
                    (default.click if default is not None else widget.accept)()


def _run_until(done: Callable[[], bool], timeout_s: float, what: str) -> float:
    """Process events until ``done()``; returns the seconds it took."""
    from PySide6.QtCore import QCoreApplication, QEventLoop

    started = time.monotonic()
    while not done():
        if time.monotonic() - started > timeout_s:
            raise TimeoutError(f"{what}: not done after {timeout_s:.0f} s")
        QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents, 20)
    return time.monotonic() - started


def _settle(ms: int) -> None:
    from desktop_auth.ui.shell.waiting import wait

    wait(ms)


def gui_in_process(url: str, size: int, timeout_s: float) -> dict[str, Any]:
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from desktop_auth.services.records import Actor
    from desktop_auth.ui.role_editor.table_view import show_with_first_rows
    from desktop_auth.ui.role_editor.window import RoleEditor
    from desktop_auth.ui.shell.tasks import TaskRunner

    app = QApplication([])
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    settings_dir = os.environ.get("DESKTOP_AUTH_BENCH_SETTINGS") or tempfile.mkdtemp()
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, settings_dir)
    services = _services(url)
    signed_in = services.accounts.authenticate(ADMIN_EMAIL, PASSWORD)
    actor = Actor(signed_in.id, signed_in.email)
    runner = TaskRunner()
    editor = RoleEditor(runner, services, actor)
    tab, model, table = editor.users_tab, editor.model, editor.table
    show_with_first_rows(editor.show, model, editor)
    _run_until(
        lambda: editor.isVisible() and model.total is not None and not model.loading and editor.roles_loaded,
        120,
        "opening the role editor",
    )
    _settle(200)
    # As the app does once the role editor's modules are loaded (ui/shell/controller.py, _freeze_garbage):
    # without it a full collection, triggered on the worker, walks every object and stalls the window.
    from desktop_auth.ui.shell.controller import _freeze_garbage

    _freeze_garbage()
    limit = model.max_pages * model.page_size
    meter, answers = _Meter(model), _DialogAnswerer()
    watch = _DatabaseWatch(url, size + 1)
    result: dict[str, Any] = {"limit": limit, "error": ""}

    def idle() -> bool:
        busy = getattr(tab, "_saving", False) or getattr(tab, "_staging", False)
        return not busy and not model.loading and not tab.busy_bar.isVisible()

    def error_shown() -> str:
        return tab.error_label.text() if tab.error_label.isVisible() else ""

    def step(name: str, action: Callable[[], None], done: Callable[[], bool]) -> None:
        meter.start(name)
        QTimer.singleShot(0, action)  # from the event loop, as a click would be
        result[f"{name} s"] = _run_until(lambda: done() or bool(error_shown()), timeout_s, name)
        _settle(100)
        if error_shown():
            raise RuntimeError(f"{name}: the window says: {error_shown()}")

    answers.answer()  # PySide wraps the top-level widgets once, before any step is timed
    meter.start("idle, before")  # the floor: the same event loop with nothing asked of it
    _settle(300)
    started = time.monotonic()
    try:
        table.setFocus()
        step("select all", table.selectAll, table.selectionModel().hasSelection)

        def set_role() -> None:
            bar = tab.action_bar
            bar.bulk_role.setCurrentIndex(bar.bulk_role.findData(TO_ROLE))
            if bar.set_role_button.isEnabled():
                bar.set_role_button.click()
            else:
                tab._bulk(role=TO_ROLE)

        step("set role", set_role, lambda: tab.save_button.isEnabled() and idle())
        watch.start()
        step("save", tab.save_button.click, lambda: watch.done.is_set() and idle())
        result["total s"] = time.monotonic() - started
        meter.start("after")
        _settle(500)
        result["held after"] = model.loaded_rows
    except (TimeoutError, RuntimeError) as error:
        result["error"] = str(error)
    finally:
        meter.stop()
        watch.stop()
        answers.timer.stop()
    result["gaps"] = meter.gaps
    result["held most"] = meter.held_most
    result["admins"] = watch.admins
    result["dialogs"] = answers.seen
    editor.close_without_asking()
    runner.wait()
    services.close()
    app.processEvents()
    return result


def gui(url: str, size: int, timeout_s: float, scratch: str) -> dict[str, Any]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", DESKTOP_AUTH_BENCH_SETTINGS=scratch)
    command = [sys.executable, __file__, "--gui-measure", "--database-url", url]
    command += ["--size", str(size), "--gui-timeout", str(timeout_s)]
    try:
        output = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout_s * 3 + 120)
    except subprocess.TimeoutExpired:
        return {"error": f"the GUI process did not finish within {timeout_s * 3 + 120:.0f} s"}
    if output.returncode != 0:
        return {"error": f"the GUI process failed: {output.stderr[-2000:]}"}
    return dict(json.loads(output.stdout.strip().splitlines()[-1]))


# -- the report ---------------------------------------------------------------------------------------------


def _report_gui(report: Report, backend: str, size: int, result: dict[str, Any], raw: float) -> None:
    if result.get("error"):
        report.check(
            f"{backend}: GUI select all + set role + save", result["error"][:300], False, "completes"
        )
    for step, gap in result.get("gaps", {}).items():
        report.check(
            f"{backend}: GUI longest stall, {step}", f"{gap} ms", gap <= STALL_MS, f"≤ {STALL_MS} ms"
        )
    if "held most" in result:
        limit = result["limit"]
        report.check(
            f"{backend}: GUI rows held by the model, most during",
            f"{result['held most']:,}",
            result["held most"] <= limit,
            f"≤ {limit:,}",
        )
    if "held after" in result:
        limit = result["limit"]
        report.check(
            f"{backend}: GUI rows held by the model, after",
            f"{result['held after']:,}",
            result["held after"] <= limit,
            f"≤ {limit:,}",
        )
    if "total s" in result:
        steps = ", ".join(
            f"{name.removesuffix(' s')} {result[name]:.1f}"
            for name in ("select all s", "set role s", "save s")
        )
        report.measure(
            f"{backend}: GUI wall time ({steps} s)", f"{result['total s']:.1f} s", result["total s"] / raw
        )
        report.check(
            f"{backend}: GUI result: admins",
            f"{result['admins']:,}",
            result["admins"] == size + 1,
            f"{size + 1:,}",
        )
    for said in result.get("dialogs", []):
        print(f"({backend}: the window asked: {said})")


def run_backend(report: Report, backend: str, size: int, args: argparse.Namespace, scratch: Path) -> None:
    with scratch_database(backend, scratch) as url:
        print(f"{backend}: seeded {size:,} users in {prepare(url, size):.1f} s (baseline)", flush=True)
        raw, updated = baseline(url)
        after = outcome(url)
    report.measure(f"{backend}: baseline: raw audit INSERT ... SELECT + UPDATE ... WHERE", f"{raw:.2f} s")
    report.check(
        f"{backend}: baseline rows updated, audited",
        f"{updated:,}, {after['audit']:,}",
        updated == after["audit"] == size,
        f"{size:,}",
    )

    with scratch_database(backend, scratch) as url:
        print(f"{backend}: seeded {size:,} users in {prepare(url, size):.1f} s (service)", flush=True)
        result = ours(url)
        after = outcome(url)
    total = result.stage + result.apply
    report.measure(f"{backend}: stage (the snapshot)", f"{result.stage:.2f} s", result.stage / raw)
    report.measure(
        f"{backend}: apply ({result.chunks} chunks, slowest {result.slowest_chunk * 1000:.0f} ms)",
        f"{result.apply:.2f} s",
        result.apply / raw,
    )
    report.measure(f"{backend}: stage + apply", f"{total:.2f} s", total / raw, TARGET)
    report.check(
        f"{backend}: changed, conflicts / admins, audit rows, snapshot rows left",
        f"{result.changed:,}, {result.conflicts} / {after['admins']:,}, {after['audit']:,}, {after['snapshot']}",
        result.changed == after["audit"] == size and after["admins"] == size + 1 and after["snapshot"] == 0,
        f"{size:,}, 0 / {size + 1:,}, {size:,}, 0",
    )
    if args.statements:
        for name, times in (("stage", result.stage_statements), ("apply", result.apply_statements)):
            print(f"\n{backend}: slowest statements of {name} (total, share, calls, per call):")
            print("\n".join(times.top(args.statements)))

    if not args.no_gui:
        with scratch_database(backend, scratch) as url:
            print(f"{backend}: seeded {size:,} users in {prepare(url, size):.1f} s (GUI)", flush=True)
            found = gui(url, size, args.gui_timeout, str(scratch))
        _report_gui(report, backend, size, found, raw)


def main(argv: list[str]) -> int:
    p = parser(__doc__ or "")
    p.add_argument("--size", type=int, help="users to change (default 1,000,000; 20,000 with --quick)")
    p.add_argument("--no-gui", action="store_true", help="skip the role editor window")
    p.add_argument("--gui-timeout", type=float, default=900.0, help="seconds for each GUI step (default 900)")
    p.add_argument("--statements", type=int, default=8, help="slowest statement shapes printed (0: none)")
    p.add_argument("--gui-measure", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    size = args.size or (20_000 if args.quick else 1_000_000)
    if args.gui_measure:
        print(json.dumps(gui_in_process(args.database_url, size, args.gui_timeout)))
        return 0
    report = Report(f"Bulk role change of {size:,} users (every 'user' -> 'admin'), with an audit row each")
    with tempfile.TemporaryDirectory() as scratch:
        for backend in backends(args):
            run_backend(report, backend, size, args, Path(scratch))
    return report.print()


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
