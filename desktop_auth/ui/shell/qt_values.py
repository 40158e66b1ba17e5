"""Qt flags the sign-in dialog sets by number, with the names they stand for.

Why numbers: the first time anything names a member of the ``Qt`` namespace (``Qt.AlignmentFlag.AlignRight``),
PySide builds every enum of that namespace, 90-odd Python enums, 16-21 ms on the project's machine, and
the sign-in dialog is built from these before its first paint. bench/startup.py needs that time (its
target is at most 1.5x a bare dialog; naming Qt there took 0.08-0.2x of it) and checks that nothing on
the way to the first window builds the namespace. Nowhere else in ``ui`` is a number used for a Qt
name: windows opened later name their flags. tests/test_startup_path.py checks each value against Qt's.
"""

from __future__ import annotations

# Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter: the form's labels (QFormLayout.labelAlignment)
LABEL_ALIGNMENT = 0x0082
# Qt.InputMethodHint.ImhEmailCharactersOnly | Qt.InputMethodHint.ImhNoAutoUppercase: the email field
EMAIL_INPUT_HINTS = 0x0020_0004
