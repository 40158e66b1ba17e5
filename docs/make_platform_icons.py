"""Render resources/icons/app.svg into the Windows (.ico) and macOS (.icns) icons build.spec embeds.

    python docs/make_platform_icons.py

The SVG is the source; run this again after changing it, and commit the results.
"""

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QSize
from PySide6.QtGui import QGuiApplication, QIcon, QImageWriter

ICONS = Path(__file__).resolve().parent.parent / "resources" / "icons"


def main() -> int:
    app = QGuiApplication(sys.argv[:1])
    icon = QIcon(str(ICONS / "app.svg"))
    for name, fmt, size in (("app.ico", b"ico", 256), ("app.icns", b"icns", 512)):
        writer = QImageWriter(str(ICONS / name), fmt)
        if not writer.write(icon.pixmap(QSize(size, size)).toImage()):
            print(f"{name}: {writer.errorString()}", file=sys.stderr)
            return 1
        print(ICONS / name)
    del app
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
