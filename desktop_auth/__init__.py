"""desktop_auth: a desktop account manager on SQLite or a shared MySQL/MariaDB server."""

from typing import Any


def __getattr__(name: str) -> Any:
    # importlib.metadata costs ~40 ms to import: only pay for it when the version is asked for.
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("desktop-auth")
        except PackageNotFoundError:  # a source tree that was never installed
            return "0.0.0+unknown"
    raise AttributeError(name)
