"""Quitting while the database layer is still loading behind the sign-in dialog never crashes.

The case bench/quit.py saw die with SIGSEGV ("SQLite, Escape 0 ms after ready": 1 launch in 40 of that case,
1 in 360 of all its cases): the loader, a daemon thread, was still importing when the interpreter
finalized, and CPython freed its import lock under the thread about to wait for it. The app now ends
such a process with ``os._exit`` once Python's exit handlers have run (``desktop_auth/ui/shell/tasks.py``).

The race is rare, so this is a guard, not a proof: before the fix about 1 run of this test in 25 failed
(3 crashes in 1,820 launches of this case). The deterministic check of the mechanism is
``test_first_minute.test_a_process_leaving_a_job_running_ends_before_python_finalizes...``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from desktop_auth.db import migrate
from desktop_auth.db.engine import Database
from tests.conftest import make_settings

LAUNCHES = 30
# Two at once, each process on a CPU of its own: the race needs the loader, having let go of the
# interpreter, to wait for a CPU while the GUI thread finalizes, which sharing one CPU makes likelier.
AT_ONCE = 2
# Escape this long after the sign-in dialog is ready: all while the loader is still importing (it needs
# 250 ms and more before it connects).
DELAYS_MS = (0, 0, 5, 10, 20)

DRIVER = """
import os, sys
if hasattr(os, "sched_setaffinity"):  # one CPU: see AT_ONCE
    os.sched_setaffinity(0, {int(sys.argv[2])})
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from desktop_auth import app as app_module
from desktop_auth.ui.shell.theme import make_application

make_application(sys.argv[0])
delay_ms = int(sys.argv[1])

def escape(dialog):
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    print("escape loaded", dialog.ready, flush=True)
    QTest.keyClick(dialog.focusWidget() or dialog, Qt.Key.Key_Escape)

def ready():
    for widget in QApplication.topLevelWidgets():
        if widget.objectName() == "loginDialog" and widget.isVisible():
            QTimer.singleShot(delay_ms, lambda: escape(widget))
            return
    QTimer.singleShot(1, ready)

QTimer.singleShot(0, ready)
code = app_module.main(sys.argv[3:])
print("exit", code, flush=True)
sys.exit(code)
"""


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'quit.sqlite3'}"
    database = Database(make_settings(url))
    migrate.upgrade(database)
    database.dispose()
    return url


def test_escape_while_the_database_layer_loads_never_crashes(sqlite_url: str, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "PYTHONFAULTHANDLER": "1",  # a crash prints its Python stacks ("Fatal Python error")
        "XDG_CONFIG_HOME": str(tmp_path),
        "XDG_DATA_HOME": str(tmp_path),
        "DESKTOP_AUTH_LOG_DIR": str(tmp_path),
    }
    for variable in ("DATABASE_URL", "DESKTOP_AUTH_HASH_METHOD", "DESKTOP_AUTH_ALLOW_WEAK_HASH_FOR_TESTS"):
        env.pop(variable, None)  # the app's own defaults, as a person runs it

    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else [0]

    def launch(n: int) -> subprocess.CompletedProcess[str]:
        delay = DELAYS_MS[n % len(DELAYS_MS)]
        cpu = cpus[n % AT_ONCE % len(cpus)]
        command = [sys.executable, "-c", DRIVER, str(delay), str(cpu), "--database-url", sqlite_url]
        return subprocess.run(command, capture_output=True, text=True, timeout=60, env=env)

    with ThreadPoolExecutor(AT_ONCE) as pool:
        results = list(pool.map(launch, range(LAUNCHES)))

    failed = [
        f"run {n}: exit code {result.returncode}\n{result.stderr[-2000:]}"
        for n, result in enumerate(results)
        if result.returncode != 0
        or "exit 0" not in result.stdout
        or "Traceback" in result.stderr
        or "Fatal" in result.stderr
    ]
    assert not failed, f"{len(failed)} of {LAUNCHES} quits failed:\n" + "\n".join(failed[:3])
    assert all("escape loaded False" in result.stdout for result in results), "Escape came too late"
