"""Review of 2026-12-04's work (451ff83..d6f0f3b): the defects it found, each shown on SQLite and MariaDB.

1. The account window takes the address of any session check's answer as news (``SessionState.email``), even
   an answer read before the window learnt a newer address: session checks run on the worker pool side by
   side (the 30 s timer, the check before each action), so an older answer delivered after a newer one puts
   the old address back: shown, remembered as this computer's sign-in address, and offered on the sign-in
   form after signing out, where it no longer signs in.
2. ``import_users`` re-checks every row of a hand-made ``ImportPreview`` but not how many rows it has:
   ``preview()`` never lets more than ``MAX_IMPORT_ROWS`` through (the limit that keeps the import's single
   transaction inside a Galera node's write-set limits), a hand-made preview of more imported them all.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from PySide6.QtWidgets import QLabel, QLineEdit, QPushButton
from pytestqt.qtbot import QtBot
from sqlalchemy import func, select

from desktop_auth.identity import skeleton_key
from desktop_auth.models import AuditEvent, User
from desktop_auth.services import Services
from desktop_auth.services.errors import ImportRefusedError
from desktop_auth.services.records import Actor, ImportPreview, ImportRow, SessionState
from desktop_auth.services.user_import import MAX_IMPORT_ROWS
from desktop_auth.ui.shell import settings_store
from tests.conftest import STRONG_PASSWORD, register_accounts
from tests.ui_helpers import change_own_password, child, click, front, sign_in
from tests.ui_helpers import start_app as start_app  # the fixture

OLD, NEW = "ada@example.com", "ada.lovelace@example.com"
NEW_PASSWORD = "maple-harbor-velvet-19-comet"


class HeldCheck:
    """The account window's session checks, patched: the first one is held on its worker thread (after it
    reads the account, or before with ``before_read``) until ``release`` is set, as a busy pool may hold it;
    ``answers`` collects what each check answered, as ``answer`` picks it from the SessionState."""

    def __init__(
        self,
        monkeypatch: pytest.MonkeyPatch,
        services: Services,
        answer: Callable[[SessionState], object],
        before_read: bool = False,
    ) -> None:
        self.held, self.release = threading.Event(), threading.Event()
        self.answers: list[object] = []
        real = services.accounts.check_session

        def check_session(user_id: int, changed_at: object) -> SessionState:
            first = not self.held.is_set()
            if first and before_read:
                self.held.set()
                self.release.wait(15)
            state = real(user_id, changed_at)  # type: ignore[arg-type]
            self.answers.append(answer(state))
            if first and not before_read:
                self.held.set()
                self.release.wait(15)
            return state

        monkeypatch.setattr(services.accounts, "check_session", check_session)


@pytest.mark.usefixtures("isolated_qsettings")
def test_an_older_session_check_does_not_put_back_the_old_address(
    qtbot: QtBot, services: Services, admin: Actor, start_app, monkeypatch: pytest.MonkeyPatch
) -> None:
    register_accounts(services, OLD)
    controller = start_app(services)  # its own session check every 30 s: none comes during this test
    window = sign_in(qtbot, controller, OLD, STRONG_PASSWORD)
    email_value = child(window, QLabel, "emailValue")

    # The first check reads the account, then its thread is held (as a busy machine may) until released.
    check = HeldCheck(monkeypatch, services, lambda state: state.email)
    answers = check.answers
    window.check_session()  # type: ignore[attr-defined]
    assert check.held.wait(15)
    services.own_account.rename(admin, OLD, NEW)  # elsewhere, after the first check read the account
    window.check_session()  # type: ignore[attr-defined]  # a later check, answered first
    qtbot.waitUntil(lambda: email_value.text() == NEW, timeout=10_000)
    assert settings_store.last_email() == NEW

    check.release.set()  # the first check's answer (the address before the rename) now arrives
    qtbot.waitUntil(lambda: len(answers) == 2 and controller.runner.pending == 0, timeout=10_000)
    qtbot.wait(100)  # what the late answer would do, it does in this time; it must do nothing
    assert answers == [OLD, NEW]
    assert email_value.text() == NEW, "an older answer put the old address back"
    assert window.user.email == NEW  # type: ignore[attr-defined]
    assert settings_store.last_email() == NEW, "this computer now offers an address that does not sign in"
    click(qtbot, window, "signOutButton")
    login = front(qtbot, controller, "loginDialog")
    assert child(login, QLineEdit, "emailEdit").text() == NEW


def _count(services: Services) -> tuple[int, int]:
    with services.database.transaction() as session:
        users = session.scalar(select(func.count(User.id))) or 0
        events = session.scalar(select(func.count(AuditEvent.id))) or 0
    return users, events


def test_a_hand_made_preview_of_more_rows_than_a_file_may_have_is_refused(
    services: Services, admin: Actor
) -> None:
    # preview() stops at MAX_IMPORT_ROWS rows (tests/test_user_import.py): a file of more is refused whole.
    data = "email\n" + "".join(f"u{n}@example.com\n" for n in range(MAX_IMPORT_ROWS + 1))
    assert not services.user_import.preview(admin, data.encode()).ok
    # The same rows, each one clean, in a preview built by hand.
    rows = tuple(
        ImportRow(n + 2, address, "user", (), address, skeleton_key(address))
        for n in range(MAX_IMPORT_ROWS + 1)
        for address in [f"u{n}@example.com"]
    )
    before = _count(services)
    with pytest.raises(ImportRefusedError):
        services.user_import.import_users(admin, ImportPreview(rows))
    assert _count(services) == before, "nothing written"


@pytest.mark.usefixtures("isolated_qsettings")
def test_an_older_session_check_does_not_give_back_a_role_taken_away(
    qtbot: QtBot, services: Services, admin: Actor, start_app, monkeypatch: pytest.MonkeyPatch
) -> None:
    register_accounts(services, OLD)
    services.admin.set_role(admin, OLD, "admin")
    controller = start_app(services)  # its own session check every 30 s: none comes during this test
    window = sign_in(qtbot, controller, OLD, STRONG_PASSWORD)
    editor_button = child(window, QPushButton, "roleEditorButton")
    assert editor_button.isVisible()

    # The first check reads the account (still an administrator), then its thread is held until released.
    check = HeldCheck(monkeypatch, services, lambda state: state.role)
    answers = check.answers
    window.check_session()  # type: ignore[attr-defined]
    assert check.held.wait(15)
    services.admin.set_role(admin, OLD, "user")  # elsewhere, after the first check read the account
    window.check_session()  # type: ignore[attr-defined]  # a later check, answered first
    qtbot.waitUntil(lambda: not editor_button.isVisible(), timeout=10_000)

    check.release.set()  # the first check's answer (still an administrator) now arrives
    qtbot.waitUntil(lambda: len(answers) == 2 and controller.runner.pending == 0, timeout=10_000)
    assert answers == ["admin", "user"]
    qtbot.wait(100)  # what the late answer would do, it does in this time; it must do nothing
    assert not editor_button.isVisible(), "an older answer gave the role editor back"


@pytest.mark.usefixtures("isolated_qsettings")
def test_a_check_asked_before_ones_own_password_change_does_not_end_the_session(
    qtbot: QtBot, services: Services, admin: Actor, start_app, monkeypatch: pytest.MonkeyPatch
) -> None:
    register_accounts(services, OLD)
    controller = start_app(services)  # its own session check every 30 s: none comes during this test
    window = sign_in(qtbot, controller, OLD, STRONG_PASSWORD)

    # The first check is asked (with the password's change time as it is now) and its thread is held before
    # it reads the account, as a busy pool may; it reads only after the person changed their password here.
    check = HeldCheck(monkeypatch, services, lambda state: state.valid, before_read=True)
    answers = check.answers
    window.check_session()  # type: ignore[attr-defined]
    assert check.held.wait(15)
    change_own_password(qtbot, window, STRONG_PASSWORD, NEW_PASSWORD)

    check.release.set()  # the first check now reads the account: its password changed after it was asked
    qtbot.waitUntil(lambda: False in answers and controller.runner.pending == 0, timeout=10_000)
    qtbot.wait(100)  # what ending the session would do, it does in this time; it must not
    assert controller.window is window
    assert window.isVisible(), "the person's own password change ended their session"
