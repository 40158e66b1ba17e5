"""Run by tests/test_preload.py in a fresh interpreter (nothing imported yet), printing JSON on its last line.

preload_probe.py order             import_order's list for the windows, then each module imported in turn:
                                   which project modules each import brought in
preload_probe.py threads EMAIL PW  the app signs EMAIL in (offscreen, DATABASE_URL from the environment)
                                   and waits until the windows are preloaded: which project and PySide
                                   modules were imported on a thread other than the GUI thread
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

WINDOWS = (
    "desktop_auth.ui.account_window",
    "desktop_auth.ui.dialogs.register",
    "desktop_auth.ui.role_editor.window",
)
MAIN = threading.main_thread()
imported_off_main: list[str] = []


class OffMainImports:
    """A meta path finder that finds nothing: it notes each module imported on a thread not the main one."""

    @staticmethod
    def find_spec(name: str, path: object = None, target: object = None) -> None:
        if threading.current_thread() is not MAIN and name.split(".")[0] in (
            "desktop_auth",
            "PySide6",
            "shiboken6",
        ):
            imported_off_main.append(name)


def order() -> dict[str, Any]:
    # What the app has imported by the time it works the order out: the sign-in dialog and the database layer.
    import desktop_auth.ui.shell.controller
    import desktop_auth.ui.startup  # noqa: F401
    from desktop_auth.ui.shell.preload import import_order

    already = set(sys.modules)
    modules = import_order(WINDOWS)
    steps = []
    for module in modules:
        before = set(sys.modules)
        importlib.import_module(module)
        steps.append([module, sorted(m for m in set(sys.modules) - before if m.startswith("desktop_auth"))])
    return {
        "order": modules,
        "steps": steps,
        "windows_already_imported": [w for w in WINDOWS if w in already],
    }


def threads(email: str, password: str) -> dict[str, Any]:
    sys.meta_path.insert(0, OffMainImports)  # type: ignore[arg-type]
    from PySide6.QtWidgets import QApplication, QLineEdit, QPushButton

    from desktop_auth.config import load_settings
    from desktop_auth.ui.shell.controller import AppController

    app = QApplication([])
    controller = AppController(load_settings)
    controller.start()

    def wait(condition: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + 60
        while not condition():
            if time.monotonic() > deadline:
                raise SystemExit(f"not within 60 s: {what}")
            app.processEvents()
            time.sleep(0.005)

    login = controller.login
    sign_in = login.findChild(QPushButton, "signInButton")
    wait(lambda: login.ready and sign_in.isEnabled(), "the sign-in dialog, ready")
    login.findChild(QLineEdit, "emailEdit").setText(email)
    login.findChild(QLineEdit, "passwordEdit").setText(password)
    sign_in.click()
    wait(lambda: controller.window is not None and controller.window.isVisible(), "the account window")
    wait(lambda: all(module in sys.modules for module in WINDOWS), "the windows, preloaded")
    wait(lambda: controller.runner.pending == 0, "the workers, done")
    return {"imported_off_main": imported_off_main, "loaded": [module in sys.modules for module in WINDOWS]}


if __name__ == "__main__":
    found = order() if sys.argv[1] == "order" else threads(sys.argv[2], sys.argv[3])
    print(json.dumps(found), flush=True)
    os._exit(0)  # the session's background checks need not finish
