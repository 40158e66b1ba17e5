"""Start-up: process start to the sign-in dialog shown and accepting input, against a bare PySide6 script
that shows one QDialog. Median of at least 5 runs each, interleaved. Target: at most 1.5x.

Also checks that nothing on the way to the sign-in dialog builds PySide's Qt enum namespace (16-21 ms here,
0.08-0.2x of the target; see desktop_auth/ui/shell/qt_values.py), and reports what building it costs.

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

# Notes whether PySide creates the Qt namespace's enums (AlignmentFlag is one) before the sign-in dialog is
# on screen, then names Qt, to prove the probe sees it when it happens and to time it.
ENUM_PROBE = """
import enum, os, sys, time
created = []
plain_call = enum.EnumType.__call__
def call(cls, value, names=None, *args, **kwargs):
    if names is not None:
        created.append(value)
    return plain_call(cls, value, names, *args, **kwargs)
enum.EnumType.__call__ = call
from PySide6.QtCore import QTimer
from desktop_auth import app as app_module
def ready():
    before = "AlignmentFlag" in created
    started = time.perf_counter()
    from PySide6.QtCore import Qt
    Qt.AlignmentFlag.AlignLeft
    cost = (time.perf_counter() - started) * 1000
    print("before", before, "after", "AlignmentFlag" in created, "cost", f"{cost:.1f}", flush=True)
    os._exit(0)
QTimer.singleShot(0, ready)
app_module.main(["--database-url", sys.argv[1]])
"""


def enum_probe(env: dict[str, str], url: str) -> tuple[bool, float]:
    """Whether the Qt enum namespace was built before the sign-in dialog was ready, and what building it
    then cost (ms)."""
    env = {key: value for key, value in env.items() if key != "DESKTOP_AUTH_STARTUP_PROBE"}
    result = subprocess.run(
        [sys.executable, "-c", ENUM_PROBE, url], capture_output=True, text=True, timeout=60, env=env
    )
    words = result.stdout.split()
    if "before" not in words or words[words.index("after") + 1] != "True":
        raise RuntimeError(f"the enum probe saw nothing:\n{result.stdout}{result.stderr[-3000:]}")
    return words[words.index("before") + 1] == "True", float(words[words.index("cost") + 1])


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
        built_early, enum_cost = enum_probe(env, env["DATABASE_URL"])
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
    report.check(
        "Qt enum namespace built before the sign-in dialog",
        "yes" if built_early else "no",
        not built_early,
        "no",
    )
    report.measure("building it afterwards (not on the start-up path)", f"{enum_cost:.1f} ms")
    return report.print()


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
