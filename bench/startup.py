"""Start-up: process start to the sign-in dialog shown and accepting input, against a bare PySide6 script
that shows one QDialog. Median of at least 5 runs each, interleaved. Target: at most 1.5x.

    python bench/startup.py [--quick] [--runs N] [--bundle dist/desktop-auth/desktop-auth]
"""

from __future__ import annotations

import os
import selectors
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, Report, median_ms, parser

TARGET = 1.5
BARE_DIALOG = """
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QDialog, QLineEdit, QVBoxLayout
app = QApplication([])
dialog = QDialog()
QVBoxLayout(dialog).addWidget(QLineEdit())
dialog.show()
def ready():
    print("ready", flush=True)
    app.exit(0)
QTimer.singleShot(0, ready)
app.exec()
"""


def time_until_ready(command: list[str], env: dict[str, str], timeout: float = 60) -> float:
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True)
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            process.kill()
            raise RuntimeError(f"{command[0]} did not report ready within {timeout:.0f} s (an old bundle?)")
    line = process.stdout.readline()
    elapsed = time.perf_counter() - started
    process.wait(timeout=timeout)
    if line.strip() != "ready":
        raise RuntimeError(f"{command[0]} did not report ready (got {line!r})")
    return elapsed


def main(argv: list[str]) -> int:
    p = parser(__doc__ or "")
    p.add_argument("--runs", type=int, default=7)
    p.add_argument("--bundle", default=str(ROOT / "dist" / "desktop-auth" / "desktop-auth"))
    args = p.parse_args(argv)
    runs = max(5, 5 if args.quick else args.runs)
    report = Report("Start-up: launch to the sign-in dialog accepting input")
    with tempfile.TemporaryDirectory() as scratch:
        env = {
            **os.environ,
            "QT_QPA_PLATFORM": "offscreen",
            "DESKTOP_AUTH_STARTUP_PROBE": "1",
            "DATABASE_URL": f"sqlite:///{Path(scratch) / 'startup.sqlite3'}",
            "DESKTOP_AUTH_LOG_DIR": scratch,
            "XDG_CONFIG_HOME": scratch,  # QSettings and .env of a fresh user
            "DESKTOP_AUTH_HASH_METHOD": "pbkdf2:sha256:1000",
        }
        commands = {
            "bare PySide6 QDialog": [sys.executable, "-c", BARE_DIALOG],
            "desktop-auth (source)": [sys.executable, "-m", "desktop_auth"],
        }
        if Path(args.bundle).exists():
            commands["desktop-auth (bundle)"] = [args.bundle]
        for command in commands.values():  # warm the file cache once
            time_until_ready(command, env)
        samples: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(runs):
            for name, command in commands.items():
                samples[name].append(time_until_ready(command, env))
    baseline = median_ms(samples["bare PySide6 QDialog"])
    report.measure("bare PySide6 QDialog (baseline)", f"{baseline:.0f} ms")
    for name in commands:
        if name.startswith("desktop-auth"):
            value = median_ms(samples[name])
            target = TARGET if "source" in name else None
            report.measure(name, f"{value:.0f} ms", value / baseline, target)
    if "desktop-auth (bundle)" in commands:
        bundle = median_ms(samples["desktop-auth (bundle)"])
        report.measure("bundle against the bare dialog", f"{bundle:.0f} ms", bundle / baseline, TARGET)
    return report.print()


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
