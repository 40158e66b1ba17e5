"""Help (F1): every window opens the README's section about it in the system's browser.

The README ships with the app: an installed wheel carries it as ``desktop_auth/_bundled/README.md``
(pyproject.toml's force-include), the PyInstaller bundle at its root (build.spec), a source checkout has it
at the top. F1 renders the window's section (a heading and what follows it, down to the next heading of
the same level) to an HTML page with Qt's own Markdown reader, writes it to the user cache folder and opens
it with ``QDesktopServices.openUrl``; a section that is not found opens the whole README. Nothing here is
loaded before F1 is pressed but the shortcut itself.

The README is English in every language; the action's name and the page's title are translated.

``set_opener`` replaces the opener (tests record the URL instead of launching a browser).
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtGui import QAction, QKeySequence

from desktop_auth.ui.shell.i18n import translate

if TYPE_CHECKING:
    from PySide6.QtCore import QUrl
    from PySide6.QtWidgets import QWidget

log = logging.getLogger(__name__)

README = "README.md"
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


def _open_with_system(url: QUrl) -> bool:
    from PySide6.QtGui import QDesktopServices

    return QDesktopServices.openUrl(url)


_opener: Callable[[QUrl], bool] = _open_with_system


def set_opener(opener: Callable[[QUrl], bool] | None) -> None:
    """Open help pages with ``opener`` instead of the system browser (None: the system's again)."""
    global _opener
    _opener = opener or _open_with_system


def install_help(widget: QWidget, section: str) -> QAction:
    """F1 in ``widget``'s window opens the README section whose GitHub anchor is ``section``."""
    action = QAction(translate("help", "Help"), widget)
    action.setObjectName("helpAction")
    # setShortcuts, not setShortcut: resolving setShortcut's overloads builds PySide's whole Qt enum
    # namespace (~15 ms), and the sign-in dialog gets its F1 on the start-up path (bench/startup.py).
    action.setShortcuts([QKeySequence("F1")])
    action.triggered.connect(lambda: open_help(section))
    widget.addAction(action)
    widget.setProperty("helpSection", section)
    return action


def readme_path() -> Path | None:
    """The README the app carries (see the module docstring), or None when it is missing."""
    from desktop_auth.paths import PACKAGE_DIR

    candidates = []
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root:
        candidates.append(Path(frozen_root) / README)
    candidates += [PACKAGE_DIR / "_bundled" / README, PACKAGE_DIR.parent / README]
    return next((path for path in candidates if path.is_file()), None)


def anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"[`*_]", "", heading).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def section(markdown: str, wanted: str) -> tuple[str, str] | None:
    """``(heading, text)`` of the section whose anchor is ``wanted``, or None. Headings inside code blocks
    do not count."""
    lines = markdown.splitlines()
    in_code, start, level, title = False, -1, 0, ""
    for number, line in enumerate(lines):
        if line.lstrip().startswith("```"):
            in_code = not in_code
            continue
        match = None if in_code else _HEADING.match(line)
        if match is None:
            continue
        depth = len(match.group(1))
        if start >= 0 and depth <= level:
            return title, "\n".join(lines[start:number]).strip() + "\n"
        if start < 0 and anchor(match.group(2)) == wanted:
            start, level, title = number, depth, match.group(2)
    return (title, "\n".join(lines[start:]).strip() + "\n") if start >= 0 else None


def help_page(wanted: str, folder: Path) -> Path | None:
    """Write the HTML page of one README section (the whole README if it is not found) into ``folder``."""
    from PySide6.QtGui import QTextDocument

    path = readme_path()
    if path is None:
        log.warning("Help: the README is missing from this copy of the app")
        return None
    markdown = path.read_text(encoding="utf-8")
    found = section(markdown, wanted)
    title, text = found if found is not None else ("desktop-auth", markdown)
    document = QTextDocument()
    document.setMarkdown(text)
    page_title = translate("help", "{title} — desktop-auth help").format(title=title)
    document.setMetaInformation(QTextDocument.MetaInformation.DocumentTitle, page_title)
    folder.mkdir(parents=True, exist_ok=True)
    page = folder / f"{anchor(title) or 'readme'}.html"
    page.write_text(document.toHtml(), encoding="utf-8")
    return page


def help_folder() -> Path:
    from PySide6.QtCore import QStandardPaths

    cache = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.CacheLocation)
    return Path(cache or Path.home() / ".cache" / "desktop-auth") / "help"


def open_help(wanted: str) -> bool:
    """Open the help page of the README section ``wanted``; False when it could not be opened."""
    from PySide6.QtCore import QUrl

    try:
        page = help_page(wanted, help_folder())
    except OSError as error:
        log.warning("Help: could not write the help page: %s", error)
        return False
    return page is not None and _opener(QUrl.fromLocalFile(str(page)))
