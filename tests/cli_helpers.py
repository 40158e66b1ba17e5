"""Helpers for driving the operator CLI in-process through ``main(argv)`` (shared by the CLI test modules):
the ``cli_url`` fixture, ``run``, ``one_error_line``, the CLI's date pattern and a terminal for stdin; and
``seed_with_cli``, which runs it as a process, as an operator would, for tests that start the app itself."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from desktop_auth.cli import main
from tests.conftest import CHEAP_HASH

#: The one date format of the CLI and the exports (desktop_auth.services.timestamps).
UTC_TEXT = r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\+00:00"


class Terminal(io.StringIO):
    """Standard input that is a terminal, as when an operator types at a prompt."""

    def isatty(self) -> bool:
        return True


def one_error_line(err: str) -> str:
    """The single ``desktop-auth: error: ...`` line ``err`` must be (no traceback, no "unexpected")."""
    assert err.count("\n") == 1, err
    assert err.startswith("desktop-auth: error: "), err
    assert "Traceback" not in err
    return err


@pytest.fixture
def cli_url(fresh_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh database URL on each backend, with the cheap hash and no DATABASE_URL in the environment."""
    monkeypatch.setenv("DESKTOP_AUTH_HASH_METHOD", CHEAP_HASH)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    return fresh_url


def run(url: str, *args: str, stdin: str | None = None, monkeypatch: pytest.MonkeyPatch | None = None) -> int:
    """``desktop-auth --database-url URL ARGS...`` in-process, with ``stdin`` as standard input if given."""
    if stdin is not None:
        assert monkeypatch is not None
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    return main(["--database-url", url, *args])


def seed_with_cli(env: dict[str, str], url: str, users: tuple[tuple[str, str, str], ...]) -> None:
    """A migrated database at ``url`` holding ``users`` ((email, role, password) each), through the app's own
    commands run as processes with ``env`` (the schema is an operator's step: the app does not create it).
    No users: the first run."""
    commands: list[tuple[list[str], str | None]] = [(["db", "upgrade"], None)]
    commands += [
        (["users", "create", email, "--role", role_name, "--password-stdin"], password + "\n")
        for email, role_name, password in users
    ]
    for args, stdin in commands:
        done = subprocess.run(
            [sys.executable, "-m", "desktop_auth", "--database-url", url, *args],
            env=env,
            cwd=Path(__file__).resolve().parent.parent,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
