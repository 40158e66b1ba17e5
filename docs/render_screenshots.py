"""Render every window and dialog of the app to PNG, in the light and the dark theme.

    python docs/render_screenshots.py [--language de] [OUTPUT_DIR]      (default: docs/screenshots)

Runs offscreen on a throw-away SQLite database, with the real widgets and services (tools/app_tour.py). In a
language other than English the files are named ``NAME-LANGUAGE-THEME.png``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication, QWidget

from desktop_auth.ui.shell import i18n
from tools.app_tour import tour


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--language", choices=sorted(i18n.LANGUAGES), default=i18n.ENGLISH)
    parser.add_argument("out", nargs="?", type=Path, default=Path(__file__).resolve().parent / "screenshots")
    args = parser.parse_args(argv)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance() or QApplication([sys.argv[0]])
    i18n.install(app, args.language)
    suffix = "" if args.language == i18n.ENGLISH else f"-{args.language}"
    with tempfile.TemporaryDirectory() as scratch:
        QSettings.setDefaultFormat(QSettings.Format.IniFormat)
        QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, scratch)
        app.setOrganizationName("desktop-auth-screenshots")
        for theme in ("light", "dark"):

            def save(widget: QWidget, name: str, theme: str = theme) -> None:
                path = out / f"{name}{suffix}-{theme}.png"
                widget.grab().save(str(path))
                print(path)

            tour(save, theme, Path(scratch))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
