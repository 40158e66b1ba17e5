"""The GUI entry point: ``desktop_auth.app.main(argv)``.

The sign-in dialog is the first thing done: settings, logging and the database layer load behind it,
on a worker thread, so the window appears about as fast as a bare Qt dialog.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import threading
from collections.abc import Sequence
from types import TracebackType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PySide6.QtWidgets import QApplication

    from desktop_auth.config import Settings

log = logging.getLogger(__name__)

STARTUP_PROBE = "DESKTOP_AUTH_STARTUP_PROBE"


def database_option(args: argparse.Namespace) -> str:
    """The database given on the command line as an option to repeat in a suggested command
    (--database-url with its password masked, or --database-url-file); '' for DATABASE_URL or the
    embedded database, which the same command finds again."""
    import shlex

    if args.database_url and args.database_url.strip():
        from desktop_auth.db.urls import mask_url  # only now: it loads SQLAlchemy

        return f"--database-url {shlex.quote(mask_url(args.database_url.strip()))}"
    if args.database_url_file:
        return f"--database-url-file {shlex.quote(str(args.database_url_file))}"
    return ""


def add_database_options(parser: argparse.ArgumentParser) -> None:
    """--database-url URL or --database-url-file PATH (not both); the CLI's parser shares them."""
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--database-url",
        metavar="URL",
        help="database to use (overrides DATABASE_URL and .env); other users see it in 'ps': "
        "prefer --database-url-file when it holds a password",
    )
    where.add_argument(
        "--database-url-file",
        metavar="PATH",
        help="a file whose first line is the database URL (overrides DATABASE_URL and DATABASE_URL_FILE)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="desktop-auth", description="Open the desktop-auth app.")
    add_database_options(parser)
    return parser


def _show_unexpected(kind: type[BaseException], error: BaseException, trace: TracebackType | None) -> None:
    """Last resort for exceptions escaping a Qt slot: log the traceback, tell the person, keep running.

    One escaping a worker (an interruption ``shell/tasks.py`` lets through) is only logged: widgets belong to
    the GUI thread, and the job's window hears of it as a TaskInterruptedError."""
    log.error("Unhandled exception", exc_info=(kind, error, trace))
    if threading.current_thread() is not threading.main_thread():
        return
    from PySide6.QtWidgets import QApplication, QMessageBox

    from desktop_auth.ui.shell.messages import unexpected

    if QApplication.instance() is not None:
        QMessageBox.warning(None, "desktop-auth", unexpected())


def _report_ready_and_quit(app: QApplication) -> None:
    """For bench/startup.py: once the sign-in dialog is on screen and the event loop has turned, say so."""
    from PySide6.QtCore import QTimer

    def ready() -> None:
        print("ready", flush=True)
        app.exit(0)

    QTimer.singleShot(0, ready)


def _application_exists() -> bool:
    """Whether a QApplication is already up (tests, the self-test), without importing Qt to find out."""
    widgets = sys.modules.get("PySide6.QtWidgets")
    return widgets is not None and widgets.QApplication.instance() is not None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the app until the person quits; return the exit code. Reuses an existing QApplication.

    When quitting leaves the database layer loading (it is not waited for), the process ends at
    interpreter exit with this code, after the atexit handlers (``ui/shell/tasks.end_process_at_exit``):
    the caller is expected to exit with it, as the console script does."""
    args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    if not _application_exists():
        # Before Qt loads: a missing X library or no display is one line here, not Qt's abort.
        from desktop_auth.ui.qt_platform import window_problem

        problem = window_problem()
        if problem is not None:
            print(f"desktop-auth: {problem}", file=sys.stderr)
            return 1

    from PySide6.QtWidgets import QApplication

    from desktop_auth.ui.shell import i18n
    from desktop_auth.ui.shell.controller import AppController
    from desktop_auth.ui.shell.tasks import end_process_at_exit
    from desktop_auth.ui.shell.theme import apply_theme, make_application

    app = QApplication.instance()
    if not isinstance(app, QApplication):
        app = make_application(sys.argv[0] if sys.argv else "desktop-auth")
    app.setOrganizationName("desktop-auth")
    app.setApplicationName("desktop-auth")
    app.setApplicationDisplayName("desktop-auth")
    # The person's language before any window is built (QSettings, where it is remembered, needs the names).
    i18n.install(app, i18n.chosen_language())
    apply_theme(app)

    def load_settings() -> Settings:
        # Runs on the worker; a bad setting is shown in the start-up dialog, with Retry and Quit.
        from desktop_auth.config import load_settings
        from desktop_auth.logs import configure_logging

        settings = load_settings(database_url=args.database_url, database_url_file=args.database_url_file)
        configure_logging(settings.effective_log_dir)
        return settings

    previous_hook = sys.excepthook
    sys.excepthook = _show_unexpected
    controller = AppController(load_settings, database_option=lambda: database_option(args))
    controller.finished.connect(app.exit)
    code = 1  # an exception escaping exec() ends the process with 1, as Python would
    try:
        controller.start()
        if os.environ.get(STARTUP_PROBE):
            _report_ready_and_quit(app)
        code = int(app.exec())
        return code
    finally:
        sys.excepthook = previous_hook
        controller.shutdown()
        if controller.runner.left_running:
            # Python must not finalize under the loader still importing or connecting: it crashed there.
            end_process_at_exit(code)
