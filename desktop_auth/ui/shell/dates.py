"""The GUI's one way of showing a moment: ``i18n.date_time`` (local time with its zone, as the person's
language writes it). ``local_time`` is its former name, kept for the modules that still call it.

The CLI and exports show UTC with its offset instead (services); the GUI shows what the clock on the wall says.
"""

from __future__ import annotations

from desktop_auth.ui.shell.i18n import date_time as local_time

__all__ = ["local_time"]
