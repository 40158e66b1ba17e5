"""The GUI entry point (the windows themselves arrive with the desktop-app issue)."""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    print(
        "desktop-auth: the graphical app is not built yet; see `desktop-auth --help` for the CLI.",
        file=sys.stderr,
    )
    return 0
