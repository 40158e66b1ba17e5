"""What the way to the first window costs: the sign-in dialog is built without PySide's Qt enum namespace
(~15 ms to build), and the flags it sets by value match Qt's own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from desktop_auth.ui.dialogs.fields import EMAIL_INPUT_HINTS, email_edit
from desktop_auth.ui.dialogs.form import LABEL_ALIGNMENT, FormDialog
from desktop_auth.ui.shell import theme

# Notes whether PySide creates the Qt namespace's enums (AlignmentFlag is one) before the sign-in dialog
# is on screen, then names Qt to prove the probe sees it when it happens.
PROBE = """
import enum, os, sys
created = []
plain_call = enum.EnumType.__call__
def call(cls, value, names=None, *args, **kwargs):
    if names is not None:
        created.append(value)
    return plain_call(cls, value, names, *args, **kwargs)
enum.EnumType.__call__ = call
from PySide6.QtCore import QTimer
from desktop_auth import app as app_module
def ready():
    before = "AlignmentFlag" in created
    from PySide6.QtCore import Qt
    Qt.AlignmentFlag.AlignLeft
    print("before", before, "after", "AlignmentFlag" in created, flush=True)
    os._exit(0)
QTimer.singleShot(0, ready)
app_module.main(["--database-url", sys.argv[1]])
"""


def test_the_sign_in_dialog_shows_without_building_the_qt_enum_namespace(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "XDG_CONFIG_HOME": str(tmp_path),
        "DESKTOP_AUTH_LOG_DIR": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "-c", PROBE, f"sqlite:///{tmp_path / 'app.sqlite3'}"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert "before False after True" in result.stdout, result.stdout + result.stderr[-3000:]


def test_flags_set_by_value_are_qts(qtbot: QtBot) -> None:
    assert (Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter).value == LABEL_ALIGNMENT
    assert (
        Qt.InputMethodHint.ImhEmailCharactersOnly | Qt.InputMethodHint.ImhNoAutoUppercase
    ).value == EMAIL_INPUT_HINTS
    edit = email_edit()
    assert (
        edit.inputMethodHints()
        == Qt.InputMethodHint.ImhEmailCharactersOnly | Qt.InputMethodHint.ImhNoAutoUppercase
    )
    dialog = FormDialog("formDialog", "Title", "Subtitle")
    qtbot.addWidget(dialog)
    assert dialog.form.labelAlignment() == Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter


def test_start_up_reads_light_or_dark_from_the_palette(qapp: QApplication) -> None:
    dark, light = QPalette(), QPalette()
    dark.setColor(QPalette.ColorRole.Window, QColor("#1f2125"))
    light.setColor(QPalette.ColorRole.Window, QColor("#efefef"))
    assert theme._palette_is_dark(dark)
    assert not theme._palette_is_dark(light)


def test_a_forced_scheme_wins_and_an_unknown_system_scheme_changes_nothing(qapp: QApplication) -> None:
    original = qapp.palette(), qapp.styleSheet(), qapp.property("themeDark")
    try:
        theme.apply_theme(qapp, Qt.ColorScheme.Dark)
        assert qapp.property("themeDark") == "yes"
        assert theme._palette_is_dark(qapp.palette())
        if qapp.styleHints().colorScheme() == Qt.ColorScheme.Unknown:  # offscreen says nothing
            theme._follow_system(qapp)
            assert qapp.property("themeDark") == "yes"
        theme.apply_theme(qapp, Qt.ColorScheme.Light)
        assert qapp.property("themeDark") == "no"
        assert not theme._palette_is_dark(qapp.palette())
    finally:
        qapp.setPalette(original[0])
        qapp.setStyleSheet(original[1])
        qapp.setProperty("themeDark", original[2])
