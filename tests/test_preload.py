"""Windows imported ahead of time (desktop_auth/ui/shell/preload.py): never on a worker thread, and a module
per turn of the event loop.

The app crashed (SIGSEGV) right after the first run's setup, 1 start in 15 without a bytecode cache: a worker
importing the role editor made PySide types while the GUI thread made or used others. Each test runs the
app's own code in a fresh interpreter (tests/preload_probe.py), where nothing is imported yet: in this one
the windows' modules are imported already.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.cli_helpers import seed_with_cli
from tests.conftest import CHEAP_HASH, STRONG_PASSWORD
from tests.worker_qt_calls import imports_qt_when_loaded

ROOT = Path(__file__).resolve().parent.parent
PROBE = Path(__file__).with_name("preload_probe.py")
EMAIL = "root@example.com"


def _probe(env: dict[str, str], *args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, str(PROBE), *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    found: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


def _environment(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "home"
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "QT_QPA_PLATFORM": "offscreen",
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_STATE_HOME": str(home / "state"),
        "XDG_DATA_HOME": str(home / "data"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'preload.sqlite3'}",
        "DESKTOP_AUTH_HASH_METHOD": CHEAP_HASH,
        "DESKTOP_AUTH_ALLOW_WEAK_HASH_FOR_TESTS": "1",
        "DESKTOP_AUTH_LOG_DIR": str(tmp_path / "logs"),
    }


def test_no_module_that_imports_qt_is_imported_on_a_worker(tmp_path: Path) -> None:
    """An administrator signs in (every preload of the app runs: the windows a sign-in leads to, then the
    role editor's): no PySide module, and no project module importing one, is imported off the GUI thread."""
    env = _environment(tmp_path)
    seed_with_cli(env, env["DATABASE_URL"], ((EMAIL, "admin", STRONG_PASSWORD),))
    found = _probe(env, "threads", EMAIL, STRONG_PASSWORD)
    assert all(found["loaded"]), found
    off_main = found["imported_off_main"]
    assert not [module for module in off_main if not module.startswith("desktop_auth")], off_main
    assert not [module for module in off_main if imports_qt_when_loaded(module)], off_main


def test_each_preloading_step_imports_one_module(tmp_path: Path) -> None:
    """import_order puts every project module the windows load after those it imports, so that importing
    them in its order brings in one project module per step (one per turn of the event loop)."""
    found = _probe(_environment(tmp_path), "order")
    steps = found["steps"]
    assert len(steps) > 20, steps  # the windows' own modules, not only the three named
    assert [brought for _module, brought in steps] == [[module] for module, _brought in steps], steps
    assert found["windows_already_imported"] == [], found  # the probe imports them here for the first time
    assert found["order"][-1] == "desktop_auth.ui.role_editor.window", found["order"]
