"""Help (F1) in every window opens its README section (through an opener the tests replace: no browser is
launched), the README travels with the wheel and the bundle, and About shows the version, the database with
its password masked, and the licence."""

from __future__ import annotations

import re
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
import shiboken6
from PySide6.QtCore import Qt, QUrl
from PySide6.QtWidgets import QApplication, QDialog, QLabel, QWidget
from pytestqt.qtbot import QtBot

from desktop_auth import __version__
from desktop_auth.db.engine import Database
from desktop_auth.services import Services
from desktop_auth.services.records import Actor
from desktop_auth.ui.shell import help as app_help
from desktop_auth.ui.shell.tasks import TaskRunner
from tests.conftest import STRONG_PASSWORD as PASSWORD
from tests.conftest import FakeClock, make_settings, register_accounts
from tests.ui_helpers import child, click, front, login_ready, sign_in
from tests.ui_helpers import start_app as start_app  # the fixture

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
pytestmark = pytest.mark.usefixtures("isolated_qsettings")


@pytest.fixture
def opened(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[QUrl]]:
    """The URLs help asked to open, instead of a browser; pages are written under tmp_path."""
    urls: list[QUrl] = []

    def record(url: QUrl) -> bool:
        urls.append(url)
        return True

    monkeypatch.setattr(app_help, "help_folder", lambda: tmp_path / "help")
    app_help.set_opener(record)
    yield urls
    app_help.set_opener(None)


def _press_f1(qtbot: QtBot, window: QWidget) -> None:
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5_000)
    target = QApplication.focusWidget() or window
    qtbot.keyClick(target, Qt.Key.Key_F1)


def _page(qtbot: QtBot, opened: list[QUrl], count: int) -> str:
    qtbot.waitUntil(lambda: len(opened) == count, timeout=5_000)
    url = opened[-1]
    assert url.isLocalFile()
    return Path(url.toLocalFile()).read_text(encoding="utf-8")


def _dialog(qtbot: QtBot, window: QWidget, button: str, name: str) -> QDialog:
    click(qtbot, window, button)
    qtbot.waitUntil(lambda: window.findChild(QDialog, name) is not None, timeout=10_000)
    dialog = window.findChild(QDialog, name)
    assert dialog is not None
    qtbot.waitUntil(dialog.isVisible, timeout=10_000)
    return dialog


def test_f1_opens_each_windows_section_of_the_readme(
    qtbot: QtBot, services: Services, admin: Actor, start_app, opened: list[QUrl]
) -> None:
    controller = start_app(services)
    login = login_ready(qtbot, controller)
    _press_f1(qtbot, login)
    assert "Signing in and registering" in _page(qtbot, opened, 1)

    window = sign_in(qtbot, controller, "root@example.com", PASSWORD)
    _press_f1(qtbot, window)
    page = _page(qtbot, opened, 2)
    assert "Your account" in page
    assert "Changing your email address" in page  # its subsections come with it
    assert "Deploying on a shared" not in page  # the next section of its level stops it
    click(qtbot, window, "helpButton")
    assert "Your account" in _page(qtbot, opened, 3)

    count = 3
    for button, name, heading in (
        ("changeEmailButton", "changeEmailDialog", "Changing your email address"),
        ("deleteAccountButton", "deleteAccountDialog", "Deleting your account"),
        ("changePasswordButton", "changePasswordDialog", "Your account"),
        ("aboutButton", "aboutDialog", "Help and About"),
    ):
        dialog = _dialog(qtbot, window, button, name)
        _press_f1(qtbot, dialog)
        count += 1
        page = _page(qtbot, opened, count)
        assert heading in page, name
        assert (name != "changeEmailDialog") or "Deleting your account" not in page
        dialog.reject()
        qtbot.waitUntil(lambda d=dialog: not shiboken6.isValid(d) or not d.isVisible(), timeout=5_000)

    click(qtbot, window, "roleEditorButton")
    editor = front(qtbot, controller, "roleEditor")
    _press_f1(qtbot, editor)
    assert "Changing many users at once" in _page(qtbot, opened, count + 1)


def test_f1_on_the_register_form(qtbot: QtBot, services: Services, admin: Actor, start_app, opened) -> None:
    controller = start_app(services)
    click(qtbot, login_ready(qtbot, controller), "createAccountButton")
    register = front(qtbot, controller, "registerDialog")
    _press_f1(qtbot, register)
    assert "Signing in and registering" in _page(qtbot, opened, 1)


def test_f1_on_the_first_run_form(qtbot: QtBot, services: Services, start_app, opened: list[QUrl]) -> None:
    controller = start_app(services)
    setup = front(qtbot, controller, "setupAdminDialog")
    _press_f1(qtbot, setup)
    assert "first administrator" in _page(qtbot, opened, 1)


def test_every_help_section_named_in_the_code_is_in_the_readme() -> None:
    sources = [*(ROOT / "desktop_auth").rglob("*.py")]
    named = {
        match
        for path in sources
        for match in re.findall(r'install_help\([^,]+,\s*"([^"]+)"\)', path.read_text(encoding="utf-8"))
    }
    named |= {"your-account"}  # account_window.HELP_SECTION
    assert len(named) >= 5, named
    missing = sorted(name for name in named if app_help.section(README, name) is None)
    assert missing == []


def test_sections_end_at_the_next_heading_of_their_level_and_ignore_code() -> None:
    text = "# A\nintro\n## B c!\nbody\n```sh\n# not a heading\n```\n### Deeper\nmore\n## Next\nafter\n"
    assert app_help.section(text, "b-c") == (
        "B c!",
        "## B c!\nbody\n```sh\n# not a heading\n```\n### Deeper\nmore\n",
    )
    assert app_help.section(text, "next") == ("Next", "## Next\nafter\n")
    assert app_help.section(text, "not-a-heading") is None
    assert app_help.anchor("Deploying on a shared MySQL/MariaDB server") == (
        "deploying-on-a-shared-mysqlmariadb-server"
    )


def test_an_unknown_section_opens_the_whole_readme(tmp_path: Path, opened: list[QUrl], qapp) -> None:
    assert app_help.open_help("no-such-section")
    page = Path(opened[-1].toLocalFile()).read_text(encoding="utf-8")
    assert "The command line" in page
    assert "Your account" in page


def test_the_readme_ships_with_the_wheel_and_the_bundle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    included = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["force-include"]
    assert included["README.md"] == "desktop_auth/_bundled/README.md"
    assert '(str(ROOT / "README.md"), ".")' in (ROOT / "build.spec").read_text(encoding="utf-8")
    # A PyInstaller bundle: the README at its root is the one found.
    (tmp_path / "README.md").write_text("# From the bundle\n", encoding="utf-8")
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert app_help.readme_path() == tmp_path / "README.md"
    monkeypatch.delattr(sys, "_MEIPASS")
    assert app_help.readme_path() == ROOT / "README.md"  # a source checkout


def test_about_shows_the_version_the_masked_database_and_the_licence(
    qtbot: QtBot, database: Database, clock: FakeClock
) -> None:
    from desktop_auth.ui.dialogs.about import AboutDialog

    url = "mysql+pymysql://desktop_auth:s3cr%40t-pass@db.example:3306/desktop_auth?ssl_key=/k.pem"
    services = Services(make_settings(url), database, clock)
    runner = TaskRunner()  # held: the runner delivers the result
    dialog = AboutDialog(runner, services)
    qtbot.addWidget(dialog)
    dialog.show()
    value = child(dialog, QLabel, "databaseValue")
    qtbot.waitUntil(lambda: value.text() != "", timeout=10_000)
    assert value.text() == "mysql+pymysql://desktop_auth:***@db.example:3306/desktop_auth?ssl_key=/k.pem"
    assert "s3cr" not in value.text()
    assert child(dialog, QLabel, "versionValue").text() == __version__
    licence = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["license"]
    assert child(dialog, QLabel, "licenceValue").text() == licence
    # Each value is named by its caption and can be reached with the keyboard (to select and copy it).
    captions = {
        label.buddy().objectName(): label.text() for label in dialog.findChildren(QLabel) if label.buddy()
    }
    assert captions == {
        "versionValue": "&Version:",
        "databaseValue": "&Database:",
        "licenceValue": "&Licence:",
    }
    assert value.focusPolicy() == Qt.FocusPolicy.StrongFocus


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "sqlite:////home/ada/.local/share/desktop-auth/desktop_auth.sqlite3",
            "/home/ada/.local/share/desktop-auth/desktop_auth.sqlite3 (SQLite)",
        ),
        ("sqlite:///relative.sqlite3", "relative.sqlite3 (SQLite)"),
        ("mysql+pymysql://app:p@ss:w0rd@db.example/accounts", "mysql+pymysql://app:***@db.example/accounts"),
        (
            "mysql+pymysql://app@db.example/accounts?password=hunter2",
            "mysql+pymysql://app@db.example/accounts?password=***",
        ),
        ("sqlite3://user:secret@host/x", "sqlite3://user:***@host/x"),
    ],
)
def test_the_database_is_shown_as_a_path_or_a_masked_url(url: str, shown: str) -> None:
    from desktop_auth.services.about import database_location

    assert database_location(url) == shown


def test_about_opens_from_the_account_window(
    qtbot: QtBot, services: Services, admin: Actor, start_app
) -> None:
    register_accounts(services, "ada@example.com")
    controller = start_app(services)
    window = sign_in(qtbot, controller, "ada@example.com", PASSWORD)
    dialog = _dialog(qtbot, window, "aboutButton", "aboutDialog")
    value = child(dialog, QLabel, "versionValue")
    qtbot.waitUntil(lambda: value.text() == __version__, timeout=10_000)
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not shiboken6.isValid(dialog) or not dialog.isVisible(), timeout=5_000)


ENUM_PROBE = """
import enum
created = []
plain_call = enum.EnumType.__call__
def call(cls, value, names=None, *args, **kwargs):
    if names is not None:
        created.append(value)
    return plain_call(cls, value, names, *args, **kwargs)
enum.EnumType.__call__ = call
from PySide6.QtWidgets import QApplication, QWidget
app = QApplication([])
from desktop_auth.ui.shell.help import install_help
install_help(QWidget(), "your-account")
print("AlignmentFlag" in created)
"""


def test_installing_f1_builds_no_qt_enum_namespace() -> None:
    """The sign-in dialog gets its F1 on the start-up path, where building PySide's Qt enum namespace costs
    ~15 ms (bench/startup.py): setShortcut(QKeySequence) would build it, setShortcuts does not."""
    import os
    import subprocess

    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run(
        [sys.executable, "-c", ENUM_PROBE], capture_output=True, text=True, timeout=60, env=env, cwd=ROOT
    )
    assert result.stdout.strip() == "False", result.stderr[-2000:]


def test_about_closes_while_it_is_still_reading(qtbot: QtBot, services: Services) -> None:
    """Escape or Close right away closes About: reading the version changes nothing worth waiting for."""
    from desktop_auth.ui.dialogs.about import AboutDialog

    runner = TaskRunner()
    dialog = AboutDialog(runner, services)
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.busy, "still reading (the worker has not answered yet)"
    dialog.reject()
    assert not dialog.isVisible()
    runner.wait()
