"""Every benchmark script still runs (at a tiny size), so none of them rots. Their targets are judged by
`python bench/run_all.py`, not here: timing targets do not belong in unit tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"
TINY = {
    "startup.py": ["--quick", "--bundle", "/nonexistent"],
    "signin_overhead.py": ["--quick"],
    "signin_what_it_takes.py": ["--quick", "--rounds", "3"],
    "quit.py": ["--quick", "--runs", "1"],
    "responsiveness.py": ["--quick", "--size", "500"],
    "role_editor_scale.py": ["--quick", "--size", "500", "--rounds", "1"],
    "bulk_role_change.py": ["--quick", "--size", "2000"],
    "import_users.py": ["--quick", "--size", "200"],
    "many_clients.py": ["--quick", "--clients", "2", "--seconds", "2"],
}


@pytest.mark.parametrize("script", sorted(TINY))
def test_benchmark_script_runs(script: str, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "XDG_CONFIG_HOME": str(tmp_path),
        "DESKTOP_AUTH_LOG_DIR": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, str(BENCH / script), *TINY[script]],
        cwd=BENCH,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert result.returncode in (0, 1), result.stderr[-3000:]  # 1: a target missed at this tiny size
    assert "## " in result.stdout
    assert "measurement" in result.stdout


def test_seed_users_inserts_the_requested_count(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'seed.sqlite3'}"
    result = subprocess.run(
        [sys.executable, str(BENCH / "seed_users.py"), "1234", "--database-url", url],
        cwd=BENCH,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "inserted 1,234 users" in result.stdout
    import sqlite3

    assert sqlite3.connect(tmp_path / "seed.sqlite3").execute("SELECT COUNT(*) FROM user").fetchone() == (
        1234,
    )
