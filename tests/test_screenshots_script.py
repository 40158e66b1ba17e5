"""The screenshot script keeps working (it renders every window, in both themes)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_render_screenshots_produces_every_png(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "docs" / "render_screenshots.py"), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    names = {path.name for path in tmp_path.glob("*.png")}
    for window in (
        "setup-admin",
        "sign-in",
        "register",
        "account",
        "change-password",
        "change-email",
        "delete-account",
        "about",
        "import-users",
        "two-factor-setup",
        "two-factor-code",
        "database-unavailable",
    ):
        for theme in ("light", "dark"):
            assert f"{window}-{theme}.png" in names
    assert all(path.stat().st_size > 2_000 for path in tmp_path.glob("*.png"))
