"""``desktop-auth --self-test`` (what CI runs inside the PyInstaller bundle) passes from the source tree too:
a flow that changes (say, registration now showing recovery codes) breaks it here first, not only in the
bundle step at the end of CI."""

from __future__ import annotations

import os
import subprocess
import sys


def test_the_self_test_passes() -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    env.pop("DESKTOP_AUTH_ALLOW_WEAK_HASH_FOR_TESTS", None)  # the self-test uses the real default hash
    done = subprocess.run(
        [sys.executable, "-m", "desktop_auth", "--self-test"],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "self-test passed" in done.stdout
