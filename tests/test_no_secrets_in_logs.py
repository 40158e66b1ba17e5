"""After a full run of the flows, the log file holds no password, no hash and no database password."""

from __future__ import annotations

import io
import logging
import re
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select

from desktop_auth.cli import main as cli_main
from desktop_auth.logs import LOG_FILE_NAME, configure_logging
from desktop_auth.models import User
from desktop_auth.services import Services
from desktop_auth.services.records import Actor
from tests.conftest import CHEAP_HASH, MARIADB, make_settings, mariadb_admin

PASSWORDS = [
    "violet-tundra-quartz-88-lagoon",
    "amber-glacier-piano-71-thistle",
    "maple-harbor-velvet-19-comet",
    "temporary-orbit-cactus-55-meadow",
    "wrong-guess-for-the-log-test",
]
DB_PASSWORD = "Db-S3cret-" + uuid.uuid4().hex[:8]
HASH_PATTERN = re.compile(r"(scrypt|pbkdf2):[^$\s]*\$[^$\s]+\$[0-9a-f]{16,}")


@pytest.fixture
def url_with_password(backend: str, fresh_url: str) -> str:
    """On MariaDB, a real account with a password, so the URL carries a secret worth hiding."""
    if backend == "sqlite":
        return fresh_url
    database = fresh_url.rsplit("/", 1)[1]
    user = f"logscan_{uuid.uuid4().hex[:8]}"
    mariadb_admin(f"CREATE USER '{user}'@'%' IDENTIFIED BY '{DB_PASSWORD}'")
    mariadb_admin(f"GRANT ALL PRIVILEGES ON `{database}`.* TO '{user}'@'%'")
    return f"mysql+pymysql://{user}:{DB_PASSWORD}@{MARIADB['host']}:{MARIADB['port']}/{database}"


def test_full_run_leaves_no_secret_in_the_log(
    url_with_password: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    log_dir = tmp_path / "logs"
    log_file = configure_logging(log_dir, level=logging.DEBUG)
    monkeypatch.setenv("DESKTOP_AUTH_LOG_DIR", str(log_dir))
    monkeypatch.setenv("DESKTOP_AUTH_HASH_METHOD", CHEAP_HASH)
    url = url_with_password
    admin_pw, user_pw, new_pw, temp_pw, wrong_pw = PASSWORDS
    try:
        assert cli_main(["--database-url", url, "db", "upgrade"]) == 0
        monkeypatch.setattr(sys, "stdin", io.StringIO(admin_pw + "\n"))
        assert (
            cli_main(
                [
                    "--database-url",
                    url,
                    "users",
                    "create",
                    "root@example.com",
                    "--role",
                    "admin",
                    "--password-stdin",
                ]
            )
            == 0
        )
        monkeypatch.setattr(sys, "stdin", io.StringIO("short\n"))
        assert cli_main(["--database-url", url, "users", "create", "x@example.com", "--password-stdin"]) == 1

        services = Services(make_settings(url, lockout_threshold=3, log_dir=log_dir))
        user = services.accounts.register("user@example.com", user_pw)
        for _ in range(3):
            with pytest.raises(Exception):  # noqa: B017,PT011 - wrong passwords, then the lockout
                services.accounts.authenticate("user@example.com", wrong_pw)
        admin = services.accounts.authenticate("root@example.com", admin_pw)
        services.admin.unlock(admin.actor, ["user@example.com"])
        services.accounts.authenticate("user@example.com", user_pw)
        services.accounts.change_password(user.id, user_pw, new_pw)
        reset = services.admin.reset_password(Actor(admin.id, admin.email), [user.id])
        generated = [entry.password for entry in reset.entries]
        services.accounts.authenticate("user@example.com", generated[0])
        monkeypatch.setattr(sys, "stdin", io.StringIO(temp_pw + "\n"))
        chosen = ["--database-url", url, "users", "reset-password", "user@example.com", "--password-stdin"]
        assert cli_main(chosen) == 0
        services.accounts.authenticate("user@example.com", temp_pw)
        assert cli_main(["--database-url", url, "users", "reset-password", "user@example.com"]) == 0
        generated.append(capsys.readouterr().out.splitlines()[-2].rsplit(" ", 1)[1])
        services.accounts.authenticate("user@example.com", generated[-1])
        with pytest.raises(Exception):  # noqa: B017,PT011
            services.accounts.register("user@example.com", wrong_pw)
        # A refused connection with a password in its URL.
        bad_url = f"mysql+pymysql://ops:{DB_PASSWORD}@127.0.0.1:1/nowhere"
        assert cli_main(["--database-url", bad_url, "users", "list"]) == 1
        with services.database.transaction() as session:
            hashes = [h for h in session.scalars(select(User.password_hash)) if h]
        services.close()
    finally:
        root = logging.getLogger()
        for handler in list(root.handlers):
            handler.flush()
            if getattr(handler, "baseFilename", None) == str(log_file):
                root.removeHandler(handler)
                handler.close()
        root.setLevel(logging.WARNING)

    text = "\n".join(path.read_text(encoding="utf-8") for path in log_dir.glob(f"{LOG_FILE_NAME}*"))
    assert "Account" in text, "the flows did log something"
    for secret in [*PASSWORDS, *generated, DB_PASSWORD, *hashes, *(h.split("$")[-1] for h in hashes)]:
        assert secret not in text, f"a secret leaked into {log_file}"
    assert not HASH_PATTERN.search(text)
