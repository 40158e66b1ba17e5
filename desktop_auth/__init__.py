"""desktop_auth: a desktop account manager on SQLite or a shared MySQL/MariaDB server."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("desktop-auth")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"
