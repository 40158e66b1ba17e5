"""TaskRunner: typed errors, keep-only-the-latest by key, dropped outcomes logged, interruptions not swallowed."""

from __future__ import annotations

import csv
import logging
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QObject, QThreadPool
from pytestqt.qtbot import QtBot

from desktop_auth.services import Services
from desktop_auth.services.records import Actor
from desktop_auth.ui.shell.tasks import TaskInterruptedError, TaskRunner, _Job

LOGGER = "desktop_auth.ui.shell.tasks"


@pytest.fixture
def runner(qtbot: QtBot) -> Iterator[TaskRunner]:
    pool = QThreadPool()
    pool.setMaxThreadCount(4)
    task_runner = TaskRunner(pool=pool)
    yield task_runner
    assert task_runner.wait(10_000)
    del task_runner, pool


def unexpected(outcome: object) -> None:
    pytest.fail(f"not to be delivered: {outcome!r}")


def gated(gate: threading.Event, value: object) -> Callable[[], object]:
    def work() -> object:
        assert gate.wait(10), "the test never opened the gate"
        return value

    return work


def test_a_newer_keyed_job_drops_the_older_result_and_logs_it(
    qtbot: QtBot, runner: TaskRunner, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    delivered: list[object] = []
    errors: list[Exception] = []
    older_gate, newer_gate = threading.Event(), threading.Event()
    runner.run(gated(older_gate, "older"), delivered.append, errors.append, key="search")
    runner.run(gated(newer_gate, "newer"), delivered.append, errors.append, key="search")
    newer_gate.set()
    qtbot.waitUntil(lambda: delivered == ["newer"], timeout=10_000)
    with qtbot.waitSignal(runner.idle, timeout=10_000):
        older_gate.set()  # the older job ends last: its result must not replace the newer one
    assert delivered == ["newer"]
    assert errors == []
    assert runner.pending == 0
    dropped = [r for r in caplog.records if r.name == LOGGER and r.levelno == logging.DEBUG]
    assert len(dropped) == 1
    assert "search" in dropped[0].getMessage()
    assert "older" not in dropped[0].getMessage()  # the outcome itself is never logged


def test_a_newer_keyed_job_drops_the_older_error_too(qtbot: QtBot, runner: TaskRunner) -> None:
    delivered: list[object] = []
    errors: list[Exception] = []
    gate = threading.Event()

    def failing() -> object:
        assert gate.wait(10)
        raise ValueError("too late")

    runner.run(failing, delivered.append, errors.append, key="k")
    runner.run(lambda: "newer", delivered.append, errors.append, key="k")
    qtbot.waitUntil(lambda: delivered == ["newer"], timeout=10_000)
    with qtbot.waitSignal(runner.idle, timeout=10_000):
        gate.set()
    assert errors == []


def test_jobs_with_other_keys_or_no_key_are_all_delivered(qtbot: QtBot, runner: TaskRunner) -> None:
    delivered: list[object] = []
    runner.run(lambda: "a", delivered.append, unexpected, key="a")
    runner.run(lambda: "b", delivered.append, unexpected, key="b")
    runner.run(lambda: 1, delivered.append, unexpected)
    runner.run(lambda: 2, delivered.append, unexpected)
    qtbot.waitUntil(lambda: len(delivered) == 4, timeout=10_000)
    assert sorted(map(str, delivered)) == ["1", "2", "a", "b"]


def test_the_latest_keyed_job_is_delivered_again_after_it_settles(qtbot: QtBot, runner: TaskRunner) -> None:
    delivered: list[object] = []
    runner.run(lambda: "first", delivered.append, unexpected, key="k")
    qtbot.waitUntil(lambda: delivered == ["first"], timeout=10_000)
    runner.run(lambda: "second", delivered.append, unexpected, key="k")
    qtbot.waitUntil(lambda: delivered == ["first", "second"], timeout=10_000)


def test_an_exception_in_the_work_reaches_on_error_as_itself(qtbot: QtBot, runner: TaskRunner) -> None:
    class RefusedError(Exception):
        pass

    errors: list[Exception] = []

    def work() -> None:
        raise RefusedError("no")

    runner.run(work, unexpected, errors.append)
    qtbot.waitUntil(lambda: len(errors) == 1, timeout=10_000)
    assert type(errors[0]) is RefusedError
    assert str(errors[0]) == "no"


def test_a_result_for_a_deleted_owner_is_dropped_and_logged(
    qtbot: QtBot, runner: TaskRunner, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    owner = QObject()
    gate = threading.Event()
    runner.run(gated(gate, "late"), unexpected, unexpected, owner=owner)
    import shiboken6

    shiboken6.delete(owner)
    with qtbot.waitSignal(runner.idle, timeout=10_000):
        gate.set()
    assert any("owner was deleted" in r.getMessage() for r in caplog.records if r.name == LOGGER)


@pytest.mark.parametrize("stop", [KeyboardInterrupt, SystemExit])
def test_an_interruption_is_not_swallowed_but_the_job_is_settled(stop: type[BaseException]) -> None:
    """Run on this thread, so the interruption is seen where it goes: out of the worker, not into a result.

    (Through a real pool a SystemExit would end the test process: PySide exits on it, as it should.)
    """
    reports: list[tuple[int, object, bool]] = []

    def work() -> None:
        raise stop()

    job = _Job(7, work, lambda job_id, value, ok: reports.append((job_id, value, ok)))
    with pytest.raises(stop):
        job.run()
    [(job_id, value, ok)] = reports
    assert (job_id, ok) == (7, False)
    assert isinstance(value, TaskInterruptedError)
    assert isinstance(value.__cause__, stop)


def test_an_interrupted_job_reaches_on_error_typed_and_the_runner_goes_idle(
    qtbot: QtBot, runner: TaskRunner
) -> None:
    errors: list[Exception] = []

    def work() -> None:
        raise KeyboardInterrupt  # out of the worker, PySide reports it (pytest-qt captures that) and carries on

    with qtbot.captureExceptions() as escaped:
        with qtbot.waitSignal(runner.idle, timeout=10_000):
            runner.run(work, unexpected, errors.append)
        qtbot.waitUntil(lambda: len(escaped) == 1, timeout=10_000)
    assert escaped[0][0] is KeyboardInterrupt  # not swallowed
    assert len(errors) == 1
    assert isinstance(errors[0], TaskInterruptedError)
    assert isinstance(errors[0].__cause__, KeyboardInterrupt)
    assert runner.pending == 0


def test_an_interruption_escaping_a_worker_is_logged_not_shown_there(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, qapp: object
) -> None:
    """The app's last-resort hook, reached from a worker (PySide reports an interruption there), logs it and
    opens no message box on that thread: widgets belong to the GUI thread."""
    import threading

    from PySide6.QtWidgets import QMessageBox

    from desktop_auth import app

    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *args: shown.append(threading.current_thread().name))
    worker = threading.Thread(
        target=app._show_unexpected, args=(KeyboardInterrupt, KeyboardInterrupt(), None)
    )
    worker.start()
    worker.join()
    assert shown == []
    assert any(record.getMessage() == "Unhandled exception" for record in caplog.records)
    app._show_unexpected(ValueError, ValueError("a bug"), None)  # on the GUI thread: shown
    assert shown == [threading.main_thread().name]


def test_nothing_in_the_runner_catches_base_exception() -> None:
    import inspect

    from desktop_auth.ui.shell import tasks

    source = inspect.getsource(tasks)
    assert "except BaseException" not in source
    assert "except:" not in source


def test_the_history_export_says_when_it_is_done_and_how_many_rows_it_wrote(
    qtbot: QtBot, runner: TaskRunner, services: Services, admin: Actor, tmp_path: Path
) -> None:
    from desktop_auth.ui.role_editor.history_tab import HistoryTab

    tab = HistoryTab(runner, services, admin)
    qtbot.addWidget(tab)
    path = tmp_path / "history.csv"
    tab.export(str(path))
    qtbot.waitUntil(lambda: tab.status_label.text() != "", timeout=10_000)
    rows = len(list(csv.reader(path.open()))) - 1  # less the header
    assert tab.status_label.objectName() == "historyStatusLabel"
    assert tab.status_label.text() == f"Exported {rows:,} history row{'s' if rows != 1 else ''} to {path}"
    assert not tab.status_label.isHidden()
    assert tab.error_label.isHidden()


def test_a_failed_strength_estimate_is_logged_without_the_password(
    qtbot: QtBot, runner: TaskRunner, caplog: pytest.LogCaptureFixture
) -> None:
    from desktop_auth.security import PasswordPolicy
    from desktop_auth.ui.dialogs.strength_meter import StrengthMeter

    def broken_policy() -> PasswordPolicy:
        raise ValueError("cannot rate 'hunter2-secret'")

    meter = StrengthMeter(runner, broken_policy)
    qtbot.addWidget(meter)
    meter.update_for("hunter2-secret", "a@example.com")
    qtbot.waitUntil(lambda: "strength failed" in caplog.text, timeout=10_000)
    assert "ValueError" in caplog.text
    assert "hunter2" not in caplog.text
    assert meter.report is None


def test_left_running_says_whether_shutdown_left_an_abandonable_job_behind(
    qtbot: QtBot, runner: TaskRunner
) -> None:
    """What the entry point asks before quitting (it then ends the process itself: tasks.py's docstring);
    ordinary pool jobs are waited for and never count."""
    gate = threading.Event()
    runner.run(gated(gate, "loaded"), unexpected, unexpected, abandon_at_exit=True)
    runner.run(lambda: None, lambda _r: None, unexpected)
    assert runner.shutdown(10_000)
    assert runner.left_running
    gate.set()
    assert runner.wait(10_000)
    assert not runner.left_running
