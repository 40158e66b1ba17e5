"""The way to the first window: the flags the sign-in dialog sets by value match Qt's own, and the theme
reads light or dark at start-up. (That no Qt enum namespace is built on the way is checked by
bench/startup.py, with the time it saves.)"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from desktop_auth.ui.dialogs.fields import email_edit
from desktop_auth.ui.dialogs.form import FormDialog
from desktop_auth.ui.shell import theme
from desktop_auth.ui.shell.qt_values import EMAIL_INPUT_HINTS, LABEL_ALIGNMENT


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
