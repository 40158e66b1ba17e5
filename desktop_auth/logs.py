"""Logging to a rotating file in the user's log directory. Nothing secret is ever passed to a logger."""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

LOG_FILE_NAME = "desktop-auth.log"
_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(threadName)s] %(message)s"


def configure_logging(log_dir: Path, level: int = logging.INFO) -> Path:
    """Send the app's logs to ``log_dir/desktop-auth.log`` (1 MB x 5 files); return the file's path.

    Safe to call more than once: a handler for the same file is not added twice.
    """
    log_dir.mkdir(parents=True, exist_ok=True)
    path = log_dir / LOG_FILE_NAME
    root = logging.getLogger()
    for handler in root.handlers:
        if isinstance(handler, logging.handlers.RotatingFileHandler) and Path(handler.baseFilename) == path:
            return path
    handler = logging.handlers.RotatingFileHandler(path, maxBytes=1_000_000, backupCount=5, encoding="utf-8")
    handler.setFormatter(logging.Formatter(_FORMAT))
    root.addHandler(handler)
    root.setLevel(level)
    # SQL echo would put hashes and addresses in the log; keep SQLAlchemy's engine logger quiet.
    logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)
    return path
