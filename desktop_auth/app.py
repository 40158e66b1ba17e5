"""The GUI entry point: ``desktop_auth.app.main(argv)``."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from types import TracebackType

log = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="desktop-auth", description="Open the desktop-auth app.")
    parser.add_argument(
        "--database-url", metavar="URL", help="database to use (overrides DATABASE_URL and .env)"
    )
    return parser


def _show_unexpected(kind: type[BaseException], error: BaseException, trace: TracebackType | None) -> None:
    """Last resort for exceptions escaping a Qt slot: log the traceback, tell the person, keep running."""
    from PySide6.QtWidgets import QApplication, QMessageBox

    from desktop_auth.ui.messages import UNEXPECTED

    log.error("Unhandled exception", exc_info=(kind, error, trace))
    if QApplication.instance() is not None:
        QMessageBox.warning(None, "desktop-auth", UNEXPECTED)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the app until the person quits; return the exit code. Reuses an existing QApplication."""
    args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))

    from PySide6.QtWidgets import QApplication, QMessageBox

    from desktop_auth.config import load_settings
    from desktop_auth.errors import DesktopAuthError
    from desktop_auth.logs import configure_logging
    from desktop_auth.ui.controller import AppController
    from desktop_auth.ui.theme import apply_theme

    app = QApplication.instance()
    if not isinstance(app, QApplication):
        app = QApplication(sys.argv[:1])
    app.setOrganizationName("desktop-auth")
    app.setApplicationName("desktop-auth")
    app.setApplicationDisplayName("desktop-auth")
    apply_theme(app)
    try:
        settings = load_settings(database_url=args.database_url)
    except DesktopAuthError as error:
        QMessageBox.critical(None, "desktop-auth", f"The settings cannot be used: {error.message}")
        return 1
    configure_logging(settings.effective_log_dir)
    previous_hook = sys.excepthook
    sys.excepthook = _show_unexpected
    controller = AppController(settings)
    controller.finished.connect(app.exit)
    try:
        controller.start()
        return int(app.exec())
    finally:
        sys.excepthook = previous_hook
        controller.shutdown()
