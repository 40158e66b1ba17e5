"""Logging to a rotating file in the user's log directory. Nothing secret is ever passed to a logger.

Log files are created 0600 (``file_modes``), and configuring logging at start-up is also when the app's
own folders are tightened, so the log says what was. Secrets the app cannot help holding (the database
password) are registered with ``hide_in_logs`` and replaced by ``***`` in every line, tracebacks included.
"""

from __future__ import annotations

import io
import logging
import logging.handlers
import os
import threading
from pathlib import Path

from desktop_auth import file_modes, paths

LOG_FILE_NAME = "desktop-auth.log"
_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(threadName)s] %(message)s"
MASK = "***"

log = logging.getLogger(__name__)

_secrets: set[str] = set()
_secrets_lock = threading.Lock()


def hide_in_logs(*secrets: str) -> None:
    """Replace each of ``secrets`` by *** wherever it would appear in the log file (empty ones are ignored)."""
    with _secrets_lock:
        _secrets.update(secret for secret in secrets if secret)


class _RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        for secret in sorted(_secrets, key=len, reverse=True):  # longest first: no half-masked secret
            text = text.replace(secret, MASK)
        return text


class _PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """Opens each log file (the first, and each one after a rotation) with mode 0600."""

    def _open(self) -> io.TextIOWrapper:
        descriptor = file_modes.open_private(Path(self.baseFilename), os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        return open(descriptor, "a", encoding=self.encoding, errors=self.errors)


def configure_logging(log_dir: Path, level: int = logging.INFO) -> Path:
    """Send the app's logs to ``log_dir/desktop-auth.log`` (1 MB x 5 files); return the file's path.

    The first call also tightens the app's own folders (data, config, log) and logs what it changed. A log
    folder of the app's own is created 0700; one a person chose (``DESKTOP_AUTH_LOG_DIR``) is left as it is.
    Safe to call more than once: a handler for the same file is not added twice.
    """
    path = log_dir / LOG_FILE_NAME
    root = logging.getLogger()
    for handler in root.handlers:
        if isinstance(handler, logging.handlers.RotatingFileHandler) and Path(handler.baseFilename) == path:
            return path
    tightened = file_modes.tighten(paths.app_dirs())
    if paths.is_app_owned(log_dir):
        file_modes.make_private_dir(log_dir)
    else:
        log_dir.mkdir(parents=True, exist_ok=True)
    handler = _PrivateRotatingFileHandler(path, maxBytes=1_000_000, backupCount=5, encoding="utf-8")
    handler.setFormatter(_RedactingFormatter(_FORMAT))
    root.addHandler(handler)
    root.setLevel(level)
    # SQL echo would put hashes and addresses in the log; keep SQLAlchemy's engine logger quiet.
    logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)
    if tightened:
        log.info(
            "Tightened to owner-only permissions (others could read them): %s", ", ".join(map(str, tightened))
        )
    return path
