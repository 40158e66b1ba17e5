"""An installed wheel carries its migrations: it can upgrade a fresh database far from this repository."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

from desktop_auth.db.schema import REVISIONS

ROOT = Path(__file__).resolve().parent.parent

HEAD = REVISIONS[-1]


def test_wheel_migrates_a_fresh_database_outside_the_repository(tmp_path: Path) -> None:
    wheel_dir = tmp_path / "wheel"
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(wheel_dir),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = wheel_dir.glob("desktop_auth-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "desktop_auth/_bundled/alembic/env.py" in names
    assert any(name.startswith(f"desktop_auth/_bundled/alembic/versions/{HEAD}_") for name in names)
    assert "desktop_auth/_bundled/resources/unicode/confusables.txt" in names
    assert "desktop_auth/_bundled/README.md" in names  # Help (F1) opens its sections
    for language in ("de", "ar"):  # the languages the GUI speaks (Qt's own come with PySide6)
        assert f"desktop_auth/translations/desktop_auth_{language}.qm" in names

    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    database = elsewhere / "fresh.sqlite3"
    env = {
        **os.environ,
        "PYTHONPATH": str(site),  # the wheel's copy, not the repository's
        "DESKTOP_AUTH_HASH_METHOD": "pbkdf2:sha256:1000",
    }
    script = (
        "import sys;"
        "from desktop_auth import paths; print(paths.bundled_path('alembic'));"
        "from desktop_auth.cli import main; sys.exit(main(sys.argv[1:]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, "--database-url", f"sqlite:///{database}", "db", "upgrade"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert str(site / "desktop_auth" / "_bundled" / "alembic") in result.stdout
    assert f"revision {HEAD}" in result.stdout
