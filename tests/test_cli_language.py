"""The command line stays in English whatever the GUI speaks: operators script it and search its messages."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

STRONG_PASSWORD = "violet-tundra-quartz-88-lagoon"


def _cli(url: str, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "DESKTOP_AUTH_LANGUAGE": "de",
        "LANG": "ar_EG.UTF-8",
        "LANGUAGE": "ar",
        "DESKTOP_AUTH_HASH_METHOD": "pbkdf2:sha256:1000",
        "DESKTOP_AUTH_ALLOW_WEAK_HASH_FOR_TESTS": "1",
    }
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from desktop_auth.cli import main; sys.exit(main())",
            "--database-url",
            url,
            *args,
        ],
        input=stdin,
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
    )


def test_cli_refusals_are_english_under_a_german_or_arabic_desktop(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    assert _cli(url, "db", "upgrade").returncode == 0
    created = _cli(
        url,
        "users",
        "create",
        "ada@example.com",
        "--role",
        "admin",
        "--password-stdin",
        stdin=STRONG_PASSWORD + "\n",
    )
    assert created.returncode == 0, created.stderr
    again = _cli(url, "users", "create", "ada@example.com", "--password-stdin", stdin=STRONG_PASSWORD + "\n")
    assert again.returncode == 1
    assert "An account with this email address already exists." in again.stderr
    weak = _cli(url, "users", "create", "bob@example.com", "--password-stdin", stdin="password\n")
    assert weak.returncode == 1
    assert "password" in weak.stderr.lower(), weak.stderr
    assert weak.stderr.isascii(), weak.stderr
