"""Issue #15's house rule for the GUI: no module in desktop_auth/ui/ over ~300 lines without a reason written at
its top (a comment opening with "Over 300 lines"), so that growth past it is a decision someone wrote down."""

from __future__ import annotations

from pathlib import Path

UI = Path(__file__).resolve().parent.parent / "desktop_auth" / "ui"
LIMIT = 300


def _unexplained(path: Path) -> bool:
    lines = path.read_text(encoding="utf-8").splitlines()
    return len(lines) > LIMIT and not (lines and lines[0].startswith("# Over 300 lines"))


def test_every_long_ui_module_says_why_at_its_top() -> None:
    long_without_reason = {
        str(path.relative_to(UI)): len(path.read_text(encoding="utf-8").splitlines())
        for path in sorted(UI.rglob("*.py"))
        if _unexplained(path)
    }
    assert long_without_reason == {}


def test_the_rule_sees_a_long_module_without_a_reason(tmp_path: Path) -> None:
    body = '"""A module."""\n' + "x = 1\n" * LIMIT
    plain = tmp_path / "plain.py"
    plain.write_text(body, encoding="utf-8")
    explained = tmp_path / "explained.py"
    explained.write_text("# Over 300 lines: a reason.\n" + body, encoding="utf-8")
    assert _unexplained(plain)
    assert not _unexplained(explained)
