"""``desktop-auth roles rename|describe|list`` (issue #17): what the operator sees, one-line refusals."""

from __future__ import annotations

import pytest

from desktop_auth.cli import main
from tests.cli_helpers import cli_url as cli_url
from tests.cli_helpers import one_error_line, run

# -- the command line --------------------------------------------------------------------------------------


def test_cli_rename_describe_and_list(cli_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(cli_url, "db", "upgrade") == 0
    assert run(cli_url, "roles", "add", "auditor") == 0
    capsys.readouterr()
    assert run(cli_url, "roles", "describe", "auditor", "Reads the audit log") == 0
    assert capsys.readouterr().out == "Role auditor: Reads the audit log\n"
    assert run(cli_url, "roles", "rename", "auditor", "Reviewer") == 0
    assert capsys.readouterr().out == "Renamed role auditor to reviewer.\n"
    assert run(cli_url, "roles", "list") == 0
    listed = capsys.readouterr().out.splitlines()
    reviewer = next(line for line in listed if line.startswith("reviewer"))
    assert reviewer.endswith("  Reads the audit log")
    assert not any(line.rstrip() != line for line in listed)
    assert run(cli_url, "roles", "describe", "reviewer", "") == 0
    assert capsys.readouterr().out == "Cleared the description of role reviewer.\n"
    assert run(cli_url, "roles", "list") == 0
    assert "Reads" not in capsys.readouterr().out


def test_cli_rename_refusals_are_one_line(cli_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(cli_url, "db", "upgrade") == 0
    assert run(cli_url, "roles", "add", "auditor") == 0
    capsys.readouterr()
    for args, says in (
        (("roles", "rename", "admin", "boss"), "built in and cannot be renamed"),
        (("roles", "rename", "auditor", "user"), "already exists"),
        (("roles", "rename", "ghost", "spirit"), "no role named 'ghost'"),
        (("roles", "rename", "auditor", "two words"), "starts with a letter"),
        (("roles", "describe", "auditor", "a\nb"), "one line"),
        (("roles", "describe", "ghost", "x"), "no role named 'ghost'"),
    ):
        assert run(cli_url, *args) == 1, args
        err = one_error_line(capsys.readouterr().err)
        assert says in err, (args, err)
    with pytest.raises(SystemExit):
        main(["roles", "rename", "onlyone"])
