"""Guards against known-bad Qt bindings: the app emits signals constantly, so a refcount bug there
would abort the interpreter after a while (PySide6 6.12.0 did, and is excluded in pyproject.toml). And
against a Qt runtime that cannot open a window on Linux: the xcb platform plugin's libraries."""

import sys

import pytest
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


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the xcb plugin is Linux's")
def test_every_library_of_the_xcb_platform_plugin_loads() -> None:
    """The machine running the tests (CI: .ci/run installs them) has every library Qt's xcb platform plugin
    and its Qt libraries link to: the list the README gives per distribution. Same check the app makes."""
    from desktop_auth.ui.qt_platform import install_hint, missing_libraries, xcb_plugin

    plugin = xcb_plugin()
    assert plugin is not None, "PySide6's wheel has Qt/plugins/platforms/libqxcb.so"
    missing = missing_libraries(plugin)
    assert not missing, f"missing {', '.join(missing)}: {install_hint(missing)}"
