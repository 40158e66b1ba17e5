"""``desktop-auth users list`` (text and ``--json``) shows must-change, the temporary password's expiry and
the recovery codes left (issue #17)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, insert, select

from desktop_auth.models import RecoveryCode, User
from tests.cli_helpers import cli_url as cli_url
from tests.cli_helpers import run
from tests.conftest import STRONG_PASSWORD


def test_cli_users_list_shows_the_lifecycle(
    cli_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(cli_url, "db", "upgrade") == 0
    create = ("users", "create", "root@example.com", "--role", "admin", "--password-stdin")
    assert run(cli_url, *create, stdin=STRONG_PASSWORD + "\n", monkeypatch=monkeypatch) == 0
    create = ("users", "create", "pat@example.com", "--password-stdin")
    assert run(cli_url, *create, stdin=STRONG_PASSWORD + "\n", monkeypatch=monkeypatch) == 0
    assert run(cli_url, "users", "reset-password", "pat@example.com") == 0
    said = capsys.readouterr().out
    expires = said.rsplit("expires at ", 1)[1].split(". ")[0]
    engine = create_engine(cli_url)
    with engine.begin() as connection:
        pat = connection.scalar(select(User.id).where(User.email == "pat@example.com"))
        connection.execute(
            insert(RecoveryCode),
            [
                {"user_id": pat, "salt": "0" * 32, "digest": f"{n:064x}", "created_at": datetime.now(UTC)}
                for n in range(3)
            ],
        )
    engine.dispose()

    assert run(cli_url, "users", "list") == 0
    lines = capsys.readouterr().out.splitlines()
    assert re.search(r"  MUST CHANGE +TEMPORARY EXPIRES +CODES LEFT +2FA$", lines[0]), lines[0]
    pat_line = next(line for line in lines if line.startswith("pat@example.com"))
    assert re.search(rf"  yes +{re.escape(expires)} +3 +off$", pat_line), pat_line
    root_line = next(line for line in lines if line.startswith("root@example.com"))
    assert root_line.split()[-4:] == ["no", "-", "0", "off"]

    assert run(cli_url, "users", "list", "--json") == 0
    listed = {row["email"]: row for row in json.loads(capsys.readouterr().out)}
    assert listed["pat@example.com"]["must_change_password"] is True
    assert listed["pat@example.com"]["temporary_password_expires_at"] == expires
    assert listed["pat@example.com"]["recovery_codes_left"] == 3
    assert listed["root@example.com"]["temporary_password_expires_at"] is None
    assert listed["root@example.com"]["recovery_codes_left"] == 0
