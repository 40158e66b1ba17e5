"""The catalogs are what the code says, complete, and every word the code shows is marked for translation.

- ``tools/translations.py check``: the .ts files are what extracting the sources now gives (a stale catalog fails
  the build), every message is translated with its placeholders and Alt-key, and each .qm is compiled from its
  .ts.
- Every marker call in the sources is in the catalog: pyside6-lupdate's Python reader silently skips a call whose
  count is not a plain name (``len(rows)``, ``self.total``) or whose words are not literals.
- A literal handed to a Qt text setter in ``desktop_auth/ui``, or to a service error, without a marker fails here.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tools import translations

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "desktop_auth"
MARKERS = {"translate", "translate_n", "message", "message_n"}
PLURAL_MARKERS = {"translate_n", "message_n"}


def _sources(*parts: str) -> Iterator[tuple[Path, ast.Module]]:
    for part in parts:
        base = PACKAGE / part
        for path in sorted(base.rglob("*.py") if base.is_dir() else [base.with_suffix(".py")]):
            yield path, ast.parse(path.read_text(encoding="utf-8"), str(path))


def _where(path: Path, node: ast.AST) -> str:
    return f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', '?')}"


def _literal(node: ast.expr) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


class _MarkerCalls(ast.NodeVisitor):
    """(context, source, comment) of every marker call, and the calls lupdate cannot read."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.classes: list[str] = []
        self.found: list[tuple[tuple[str, str, str], str]] = []
        self.unreadable: list[str] = []

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.classes.append(node.name)
        self.generic_visit(node)
        self.classes.pop()

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        where = _where(self.path, node)
        if isinstance(func, ast.Name) and func.id in MARKERS:
            texts = [_literal(arg) for arg in node.args[:3]]
            wanted = 4 if func.id in PLURAL_MARKERS else 2
            if len(node.args) != wanted or node.keywords or None in texts[: wanted - 1 if wanted == 4 else 2]:
                self.unreadable.append(
                    f"{where}: {func.id}() needs {wanted} positional arguments, literals first"
                )
            elif func.id in PLURAL_MARKERS and not isinstance(node.args[3], ast.Name | ast.Constant):
                self.unreadable.append(
                    f"{where}: {func.id}()'s count must be a plain name (lupdate skips the call otherwise)"
                )
            else:
                comment = texts[2] if wanted == 4 else ""
                self.found.append(((texts[0] or "", texts[1] or "", comment or ""), where))
        elif (
            isinstance(func, ast.Attribute)
            and func.attr == "tr"
            and isinstance(func.value, ast.Name)
            and func.value.id == "self"
        ):
            source = _literal(node.args[0]) if node.args else None
            if source is None or len(node.args) != 1 or not self.classes:
                self.unreadable.append(f"{where}: self.tr() takes one literal (use translate_n for counts)")
            else:
                self.found.append(((self.classes[-1], source, ""), where))
        self.generic_visit(node)


def test_the_catalogs_are_fresh_complete_and_compiled(capsys: pytest.CaptureFixture[str]) -> None:
    assert translations.check() == 0, capsys.readouterr().err


def test_every_marked_word_reaches_the_catalog() -> None:
    extracted = {entry.key for entry in translations.extract("de")}
    missing, unreadable = [], []
    for path, tree in _sources("."):
        calls = _MarkerCalls(path)
        calls.visit(tree)
        unreadable += calls.unreadable
        missing += [f"{where}: {key}" for key, where in calls.found if key not in extracted]
    assert not unreadable, "\n".join(unreadable)
    assert not missing, "marked but not extracted by pyside6-lupdate:\n" + "\n".join(missing)


#: Qt setters and constructors whose text a person reads or hears (index of the text argument; None: all).
TEXT_SETTERS = {
    "setText": None,
    "setWindowTitle": None,
    "setToolTip": None,
    "setStatusTip": None,
    "setWhatsThis": None,
    "setPlaceholderText": None,
    "setAccessibleName": None,
    "setAccessibleDescription": None,
    "setTitle": None,
    "setLabelText": None,
    "setInformativeText": None,
    "setCancelButtonText": None,
    "setSpecialValueText": None,
    "setSuffix": None,
    "setPrefix": None,
    "addItem": None,
    "addItems": None,
    "addTab": None,
    "insertTab": None,
    "setTabText": None,
    "setTabToolTip": None,
    "setHorizontalHeaderLabels": None,
    "showMessage": None,
    "show_message": None,
    "show_notice": None,
    "announce": None,
    "addRow": None,
    "addAction": None,
    "addButton": None,
    "getSaveFileName": None,
    "getOpenFileName": None,
    "question": None,
    "information": None,
    "warning": None,
    "critical": None,
}
TEXT_WIDGETS = {
    "QLabel",
    "QPushButton",
    "QCheckBox",
    "QRadioButton",
    "QGroupBox",
    "QAction",
    "QToolButton",
    "QMessageBox",
    "QProgressDialog",
    "QStandardItem",
    "QCommandLinkButton",
}
WORDS = re.compile(r"[A-Za-z]{2,}")


def _literal_texts(node: ast.expr) -> Iterator[str]:
    """The literal text in an argument: a string, an f-string's words, or a list/tuple of them."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node.value
    elif isinstance(node, ast.JoinedStr):
        yield "".join(part.value for part in node.values if isinstance(part, ast.Constant))
    elif isinstance(node, ast.List | ast.Tuple):
        for item in node.elts:
            yield from _literal_texts(item)
    elif isinstance(node, ast.BinOp):
        yield from _literal_texts(node.left)
        yield from _literal_texts(node.right)


def _called_name(func: ast.expr) -> str:
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


#: Not words: file names and globs ("codes.txt", "*.csv"), a code's shape ("xxxx-xxxx").
NOT_WORDS = re.compile(r"\S*[.*]\S*|\b[x-]{4,}\b")
LOGGERS = {"log", "logger", "logging"}


def test_no_unmarked_words_in_the_gui() -> None:
    unmarked = []
    for path, tree in _sources("ui"):
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = _called_name(node.func)
            if name not in TEXT_SETTERS and name not in TEXT_WIDGETS:
                continue
            receiver = node.func.value if isinstance(node.func, ast.Attribute) else None
            if isinstance(receiver, ast.Name) and receiver.id in LOGGERS:
                continue
            arguments = [*node.args, *(keyword.value for keyword in node.keywords)]
            for argument in arguments:
                for text in _literal_texts(argument):
                    if WORDS.search(NOT_WORDS.sub(" ", text)):
                        unmarked.append(
                            f"{_where(path, node)}: {name}({text!r}) is not marked for translation"
                        )
    assert not unmarked, "\n".join(unmarked)


def _our_error_classes() -> set[str]:
    """Every DesktopAuthError subclass: what the GUI shows (builtin errors are bugs, logged, never shown)."""
    import importlib
    import pkgutil

    import desktop_auth
    from desktop_auth.errors import DesktopAuthError

    for module in pkgutil.walk_packages(desktop_auth.__path__, "desktop_auth."):
        if not module.name.startswith("desktop_auth.ui") and module.name not in ("desktop_auth.__main__",):
            importlib.import_module(module.name)
    found, queue = set(), [DesktopAuthError]
    while queue:
        kind = queue.pop()
        found.add(kind.__name__)
        queue += kind.__subclasses__()
    return found


def test_no_unmarked_words_in_service_errors() -> None:
    """A refusal raised below the GUI is a Message (``message()``): a plain sentence would reach the GUI in
    English. Field names ("email") have no spaces; sentences do."""
    ours = _our_error_classes()
    unmarked = []
    for path, tree in _sources(
        "services", "security", "db", "config", "identity", "errors", "paths", "file_modes"
    ):
        classes = {node: node.name for node in ast.walk(tree) if isinstance(node, ast.ClassDef)}
        for class_node, class_name in [*classes.items(), (tree, "")]:
            for node in ast.walk(class_node):
                if not isinstance(node, ast.Call):
                    continue
                called = _called_name(node.func)
                if (
                    called == "__init__"
                ):  # super().__init__(…) or Base.__init__(self, …) inside an error class
                    called = class_name
                if called not in ours or (class_node is tree and _called_name(node.func) == "__init__"):
                    continue
                for argument in [*node.args, *(keyword.value for keyword in node.keywords)]:
                    for text in _literal_texts(argument):
                        if " " in text.strip() and WORDS.search(text):
                            unmarked.append(f"{_where(path, node)}: {called}({text!r}) is not a message()")
    assert not unmarked, "\n".join(sorted(set(unmarked)))


def test_the_catalog_check_catches_missing_words_placeholders_and_alt_keys() -> None:
    entry = translations.Entry
    found = translations.problems(
        "de",
        [
            entry("Ctx", "&Save", "", [""]),
            entry("Ctx", "Signed in as {email}", "", ["Angemeldet"]),
            entry("Ctx", "&Delete", "", ["Löschen"]),
            entry("Ctx", "{n} user", "{n} users", ["{n} Benutzer", "{n} Benutzer {extra}"]),
            entry("Ctx", "&Open", "", ["Ö&ffnen"]),
        ],
    )
    assert len(found) == 4, found
    assert "not translated" in found[0]
    assert "{email}" in found[1]
    assert "Alt-key" in found[2]
    assert "{extra}" in found[3]


def test_a_stale_catalog_keeps_its_translations_and_gains_the_new_words() -> None:
    entry = translations.Entry
    extracted = [
        entry("Ctx", "Keep", "", [""]),
        entry("Ctx", "New", "", [""]),
        entry("Ctx", "{n} a", "{n} as", [""]),
    ]
    existing = [entry("Ctx", "Keep", "", ["Behalten"]), entry("Ctx", "Gone", "", ["Weg"])]
    merged = translations.merged("ar", extracted, existing)
    assert [(item.source, item.forms) for item in merged] == [
        ("Keep", ["Behalten"]),
        ("New", [""]),
        ("{n} a", [""] * 6),  # Arabic: six plural forms to give
    ]


def test_pseudo_words_keep_placeholders_alt_keys_and_markup() -> None:
    word = translations.pseudo_word("&Save {count} users to <b>{path}</b>")
    assert word.startswith("[&")
    assert word.endswith("~]")
    for kept in ("{count}", "{path}", "<b>", "</b>"):
        assert kept in word
    assert "users" not in word  # accented: an untranslated word stands out


def test_a_message_missing_a_parameter_is_shown_not_raised(qapp: object) -> None:
    """A message rendered without one of its parameters (a bug) shows with the gap, never raises where a
    person was to read something."""
    from desktop_auth.messages import Message
    from desktop_auth.ui.shell import i18n

    assert (
        i18n.render(Message("Ctx", "Your account {email} was deleted."))
        == "Your account {email} was deleted."
    )
    assert i18n.render(Message("Ctx", "{a} and {b}").format(a="x")) == "x and {b}"
    assert i18n.render(Message("Ctx", "broken {0} {")) == "broken {0} {"


def test_text_that_could_reorder_a_sentence_is_isolated_in_every_language(qapp: object) -> None:
    """An override (U+202E) or right-to-left letters in a value cannot reverse the German or English sentence
    around it; plain ASCII stays as it is."""
    from desktop_auth.messages import message
    from desktop_auth.ui.shell import i18n

    sneaky = "evil\u202emoc.x@"
    shown = i18n.render(message("Ctx", "Signed in as {email}, welcome.").format(email=sneaky))
    assert shown == f"Signed in as \u2068{sneaky}\u2069, welcome."
    assert i18n.isolate("ada@example.com") == "ada@example.com"
    assert i18n.isolate("مدير") == "\u2068مدير\u2069"
