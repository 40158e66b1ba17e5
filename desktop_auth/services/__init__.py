"""All rules and transactions. Used alike by the GUI and the CLI; never imports Qt.

Every method opens its own short transaction, returns plain frozen dataclasses and raises typed errors
(subclasses of ``desktop_auth.errors.DesktopAuthError``) whose message can be shown as it is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from desktop_auth.services.facade import Services


def __getattr__(name: str) -> Any:
    # Importing the package stays cheap (the GUI imports `errors` and `records` at start-up); the
    # facade, which pulls in SQLAlchemy, loads on first use.
    if name == "Services":
        from desktop_auth.services.facade import Services

        return Services
    raise AttributeError(name)


__all__ = ["Services"]
