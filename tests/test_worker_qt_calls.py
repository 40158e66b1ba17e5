"""The check that the task runner's work makes no Qt call on its worker (tests/worker_qt_calls.py) sees the
calls it must: methods of Qt classes and of ours derived from them, static ones, signals; and work touching
no Qt passes. (Each runs inside its own watch: the autouse one around it sees none of them.)"""

from __future__ import annotations

import pytest
from PySide6.QtCore import QCoreApplication, QLocale, QObject, Signal
from pytestqt.qtbot import QtBot

from desktop_auth.ui.shell.tasks import TaskRunner
from tests.worker_qt_calls import imports_qt_when_loaded, qt_calls_on_workers


class _Ours(QObject):
    said = Signal(str)


def _run(qtbot: QtBot, work: object, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    runner = TaskRunner()
    with qt_calls_on_workers(monkeypatch) as calls, qtbot.waitSignal(runner.idle, timeout=10_000):
        runner.run(work, lambda _result: None, lambda _error: None)  # type: ignore[arg-type]
    return calls


@pytest.mark.parametrize(
    ("work", "seen"),
    [
        (lambda ours, locale: ours.tr("x"), "tr"),  # a method of our subclass of QObject
        (lambda ours, locale: ours.objectName(), "objectName"),
        (lambda ours, locale: QCoreApplication.translate("Ctx", "x"), "QCoreApplication.translate"),
        (lambda ours, locale: locale.toString(1234), "toString"),
        (lambda ours, locale: ours.said.emit("x"), "emit"),
    ],
)
def test_qt_calls_on_a_worker_are_seen(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch, work: object, seen: str
) -> None:
    ours, locale = _Ours(), QLocale()  # made here, on the GUI thread
    calls = _run(qtbot, lambda: work(ours, locale), monkeypatch)  # type: ignore[operator]
    assert any(seen in call for call in calls), calls


def test_work_without_qt_passes(qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _run(qtbot, lambda: sorted(str(n) for n in range(100)), monkeypatch) == []


def test_the_modules_that_import_qt_when_loaded_are_told_apart() -> None:
    assert imports_qt_when_loaded("desktop_auth.ui.account_window")
    assert imports_qt_when_loaded("desktop_auth.ui.shell.tasks")
    assert not imports_qt_when_loaded("desktop_auth.ui.startup")  # the worker imports it at start-up
    assert not imports_qt_when_loaded("desktop_auth.services.accounts")
    assert not imports_qt_when_loaded("desktop_auth.ui.role_editor.core.page_cache")
