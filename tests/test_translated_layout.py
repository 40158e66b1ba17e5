"""Every window and dialog, in the pseudo-translation, German and Arabic: no clipped text, no English left.

The tour (tools/app_tour.py) opens each window and dialog with the real widgets and services, in a telling state
(a refused sign-in, a locked account, a weak password, unsaved edits, the role editor's four tabs, an import
preview…). At each stop every visible label, button, tab, header, placeholder and accessible name is read:

- **pseudo**: every word of ours is bracketed, accented and 40% longer (``[Ŝàvé~~~]``): a word outside brackets
  was not marked for translation, and a label or button smaller than its text is clipped;
- **German**: a text that reads the same as at the same place in English was not translated;
- **Arabic**: no Latin word is left, the layout runs right to left, the role editor's columns mirror, and an
  email keeps its left-to-right order.

Data stays as it is in every language: addresses, role names, codes, the app's name, acronyms.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QApplication,
    QComboBox,
    QDialogButtonBox,
    QGroupBox,
    QHeaderView,
    QLabel,
    QLineEdit,
    QStyle,
    QStyleOptionComboBox,
    QTabBar,
    QWidget,
)

from desktop_auth.ui.shell import i18n
from tools import translations
from tools.app_tour import tour

pytestmark = pytest.mark.usefixtures("isolated_qsettings")

#: What stays as it is in every language: addresses, URLs, file names, tokens with digits (codes, secrets,
#: dates in Latin digits), acronyms (CSV, QR, 2FA, UTC), the app's name, the tour's role names.
DATA = re.compile(
    r"\u2068[^\u2069]*\u2069|\S+@\S+|\S+://\S+|\b[x-]{4,}\b|\b(SQLite|MariaDB|MySQL)\b|\S+\.(csv|sqlite3|log|txt)\b|\S*\d\S*|\b[A-Z]{2,}\b|desktop-auth|"
    r"\b(admin|user|auditor|boss)\b|\b(Ctrl|Shift|Alt|Esc|Enter|Tab|Strg|Umschalt|Eingabe)\b|[#'\"(){}\[\]<>+]"
)
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
#: Texts that are data or names by design: the languages named in themselves, role descriptions an
#: administrator typed, a command to run.
NOT_OURS = re.compile(r"^(languageCombo item|rolesTable cell \d+,1$|fixCommand label)")
#: Words German writes as English does (checked by hand): not a sign of a missing translation.
SAME_IN_GERMAN = {
    "Status",
    "Name",
    "Administrator",
    "OK",
    "Code",
    "Codes",
    "Tab",
    "E-Mail",
    "Filter",
    "Export",
}


def _strip_markup(text: str) -> str:
    return re.sub(r"<[^>]+>", " ", text).replace("&nbsp;", " ").replace("&&", "&").replace("&", "")


def _texts(window: QWidget) -> Iterator[tuple[str, str, QWidget]]:
    """(where, text, widget) for every text a person sees or hears in ``window``."""
    yield "window title", window.windowTitle(), window
    for widget in [window, *window.findChildren(QWidget)]:
        if not widget.isVisible():
            continue
        name = widget.objectName() or type(widget).__name__
        if widget.accessibleName():
            yield f"{name} accessible name", widget.accessibleName(), widget
        if widget.accessibleDescription():
            yield f"{name} accessible description", widget.accessibleDescription(), widget
        if widget.toolTip():
            yield f"{name} tooltip", widget.toolTip(), widget
        if isinstance(widget, QLabel) and widget.pixmap().isNull():
            yield f"{name} label", widget.text(), widget
        elif isinstance(widget, QAbstractButton):
            box = widget.parent()
            if (
                isinstance(box, QDialogButtonBox)
                and box.standardButton(widget) != QDialogButtonBox.StandardButton.NoButton
            ):
                continue  # Qt's own words (qtbase_*.qm): checked in German and Arabic, not ours to pseudo-translate
            yield f"{name} button", widget.text(), widget
        elif isinstance(widget, QGroupBox):
            yield f"{name} title", widget.title(), widget
        elif isinstance(widget, QTabBar):
            for tab in range(widget.count()):
                yield f"{name} tab {tab}", widget.tabText(tab), widget
        elif isinstance(widget, QHeaderView) and widget.model() is not None:
            for section in range(widget.count()):
                if not widget.isSectionHidden(section):
                    text = widget.model().headerData(
                        section, widget.orientation(), Qt.ItemDataRole.DisplayRole
                    )
                    if isinstance(text, str) and widget.orientation() == Qt.Orientation.Horizontal:
                        yield f"{name} header {section}", text, widget
        elif isinstance(widget, QLineEdit) and not widget.text():
            yield f"{name} placeholder", widget.placeholderText(), widget
        elif isinstance(widget, QAbstractItemView) and widget.model() is not None:
            model = widget.model()
            for row in range(min(model.rowCount(), 30)):
                for column in range(model.columnCount()):
                    value = model.index(row, column).data(Qt.ItemDataRole.DisplayRole)
                    if isinstance(value, str):
                        yield f"{name} cell {row},{column}", value, widget
        elif isinstance(widget, QComboBox):
            for item in range(widget.count()):
                yield f"{name} item {item}", widget.itemText(item), widget


def _clipped(window: QWidget) -> list[str]:
    """Labels, buttons and group boxes smaller than their text (a pixel of rounding allowed)."""
    found = []
    for widget in window.findChildren(QWidget):
        if not widget.isVisible():
            continue
        name = widget.objectName() or type(widget).__name__
        if isinstance(widget, QLabel) and widget.text():
            if widget.wordWrap():
                needed = widget.heightForWidth(widget.width())
                if widget.height() + 1 < needed:
                    found.append(
                        f"{name}: {widget.height()} px high, its text needs {needed}: {widget.text()!r}"
                    )
            elif widget.width() + 1 < widget.sizeHint().width():
                found.append(
                    f"{name}: {widget.width()} px wide, its text needs {widget.sizeHint().width()}: {widget.text()!r}"
                )
        elif isinstance(widget, QLineEdit) and not widget.text() and widget.placeholderText():
            room = widget.contentsRect().width() - 8  # less the frame and the text's margins
            needed = widget.fontMetrics().horizontalAdvance(widget.placeholderText())
            if room < needed:
                found.append(
                    f"{name}: its placeholder needs {needed} px, it has {room}: {widget.placeholderText()!r}"
                )
        elif isinstance(widget, QComboBox) and widget.currentText():
            option = QStyleOptionComboBox()
            widget.initStyleOption(option)
            field = widget.style().subControlRect(
                QStyle.ComplexControl.CC_ComboBox, option, QStyle.SubControl.SC_ComboBoxEditField, widget
            )
            needed = widget.fontMetrics().horizontalAdvance(widget.currentText())
            if field.width() + 1 < needed:
                found.append(
                    f"{name}: its text needs {needed} px, it shows {field.width()}: {widget.currentText()!r}"
                )
        elif (
            isinstance(widget, QAbstractButton | QGroupBox)
            and widget.width() + 1 < widget.minimumSizeHint().width()
        ):
            found.append(f"{name}: {widget.width()} px wide, needs {widget.minimumSizeHint().width()}")
    return found


def _words_left(text: str) -> list[str]:
    return LATIN_WORD.findall(DATA.sub(" ", _strip_markup(text)))


def _outside_brackets(text: str) -> str:
    """``text`` without its pseudo-translated parts (brackets may nest: a message inside a message)."""
    previous = None
    while previous != text:
        previous, text = text, re.sub(r"\[[^\[\]]*\]", " ", text)
    return text


@pytest.fixture
def app() -> Iterator[QApplication]:
    application = QApplication.instance()
    assert isinstance(application, QApplication)
    yield application
    i18n.install(application, i18n.ENGLISH)


def _run_tour(tmp_path: Path) -> dict[str, list[tuple[str, str, QWidget]]]:
    seen: dict[str, list[tuple[str, str, QWidget]]] = {}
    clipped: list[str] = []

    def look(window: QWidget, name: str) -> None:
        QApplication.processEvents()
        seen[name] = [
            (where, text, widget)
            for where, text, widget in _texts(window)
            if text.strip() and not NOT_OURS.match(where)
        ]
        clipped.extend(f"{name}: {problem}" for problem in _clipped(window))

    tour(look, "light", tmp_path)
    assert not clipped, "clipped text:\n" + "\n".join(clipped)
    return seen


def test_pseudo_translation_every_word_marked_and_nothing_clipped(app: QApplication, tmp_path: Path) -> None:
    i18n.install(app, "de", catalog=translations.pseudo(tmp_path / "pseudo"))
    seen = _run_tour(tmp_path)
    untranslated = [
        f"{stop}: {where}: {text!r}"
        for stop, texts in seen.items()
        for where, text, _widget in texts
        if _words_left(_outside_brackets(text))
    ]
    assert not untranslated, "words not marked for translation:\n" + "\n".join(untranslated)


def test_german_every_flow_without_english(app: QApplication, tmp_path: Path) -> None:
    english = {
        stop: {where: text for where, text, _widget in texts}
        for stop, texts in _run_tour(tmp_path / "en").items()
    }
    i18n.install(app, "de")
    german = _run_tour(tmp_path / "de")
    same = [
        f"{stop}: {where}: {text!r}"
        for stop, texts in german.items()
        for where, text, _widget in texts
        if english.get(stop, {}).get(where) == text and set(_words_left(text)) - SAME_IN_GERMAN
    ]
    assert not same, "reads the same in German as in English:\n" + "\n".join(same)


def test_arabic_right_to_left_without_english(app: QApplication, tmp_path: Path) -> None:
    i18n.install(app, "ar")
    assert app.layoutDirection() == Qt.LayoutDirection.RightToLeft
    seen = _run_tour(tmp_path)
    latin = [
        f"{stop}: {where}: {text!r}"
        for stop, texts in seen.items()
        for where, text, _widget in texts
        if _words_left(text)
    ]
    assert not latin, "English left in Arabic:\n" + "\n".join(latin)
    arabic_letter = re.compile("[\u0600-\u06ff]")
    for stop, texts in seen.items():
        window = texts[0][2]
        assert window.layoutDirection() == Qt.LayoutDirection.RightToLeft, f"{stop} is laid out left to right"
        for where, text, widget in texts:
            for email in re.findall(r"[^\s\u2068\u2069()]+@[^\s\u2068\u2069()]+", text):
                if arabic_letter.search(text):  # inside an Arabic sentence: isolated, so it is not reordered
                    assert f"{i18n.FIRST_STRONG_ISOLATE}{email}" in text, f"{stop}: {where}: {text!r}"
            if isinstance(widget, QLineEdit) and "@" in widget.text():
                assert widget.layoutDirection() == Qt.LayoutDirection.LeftToRight, f"{stop}: {where}"


def _ink_right_edge(label: QLabel) -> int:
    """The rightmost column of ``label`` that its text is drawn in (its background is the corner pixel)."""
    image = label.grab().toImage()
    background = image.pixelColor(0, 0)
    for x in range(image.width() - 1, -1, -1):
        for y in range(image.height()):
            if image.pixelColor(x, y) != background:
                return x
    return -1


def test_arabic_values_sit_beside_their_captions(app: QApplication, tmp_path: Path) -> None:
    """A value in Latin letters (an address, a version) is drawn at the right, beside its caption, not at the
    far left of a right-to-left form."""
    i18n.install(app, "ar")
    far: list[str] = []

    def look(window: QWidget, name: str) -> None:
        if name not in ("account", "about"):
            return
        for label in window.findChildren(QLabel):
            shown = label.objectName().endswith("Value") and label.isVisible() and bool(label.text())
            if shown and _ink_right_edge(label) < label.width() - 12:
                far.append(f"{name}: {label.objectName()} {label.text()!r}")

    tour(look, "light", tmp_path)
    assert not far, "values away from their captions:\n" + "\n".join(far)


def test_arabic_role_editor_columns_mirror(app: QApplication, tmp_path: Path) -> None:
    i18n.install(app, "ar")
    headers: dict[str, tuple[int, int]] = {}

    def look(window: QWidget, name: str) -> None:
        if name == "role-editor-users":
            header = window.findChild(QWidget, "userTable").horizontalHeader()  # type: ignore[union-attr]
            headers[name] = (header.sectionViewportPosition(0), header.sectionViewportPosition(1))

    tour(look, "light", tmp_path)
    first, second = headers["role-editor-users"]
    assert first > second, "the email column should be the rightmost in Arabic"
