"""Guards against known-bad Qt bindings: the app emits signals constantly, so a refcount bug there
would abort the interpreter after a while (PySide6 6.12.0 did, and is excluded in pyproject.toml)."""

import sys

from PySide6.QtCore import QObject, Signal


class _Emitter(QObject):
    ping = Signal()


def test_signal_emit_keeps_true_alive(qapp) -> None:
    emitter = _Emitter()
    emitter.ping.connect(lambda: None)
    before = sys.getrefcount(True)
    for _ in range(200):
        emitter.ping.emit()
    assert sys.getrefcount(True) >= before - 10, "this PySide6 release leaks references on emit()"
