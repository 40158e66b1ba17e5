"""Changes to many users from the role editor, as a person makes them: Ctrl+A, Set role, Save. The rows are
never fetched for it (a bulk change the database snapshots), the rows on screen are marked, conflicts are
reported, and a change that stopped half-way is offered again. Both backends, real widgets, offscreen."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QLabel, QWidget
from pytestqt.qtbot import QtBot
from sqlalchemy import func, select

from desktop_auth.db.engine import Database
from desktop_auth.models import AuditEvent, BulkChangeMember, Role, User
from desktop_auth.services import Services, bulk
from desktop_auth.services.errors import InvalidCredentialsError
from desktop_auth.services.records import Actor, BulkChangeStatus, BulkSelection, UserQuery
from desktop_auth.ui.role_editor.columns import COL_EMAIL, COL_ROLE
from desktop_auth.ui.role_editor.table_model import PENDING_ROLE
from desktop_auth.ui.role_editor.window import RoleEditor
from tests.conftest import seed_users
from tests.ui_helpers import child, click, open_editor, settle

pytestmark = pytest.mark.usefixtures("isolated_qsettings")
__all__ = ["open_editor"]  # a fixture, used by name

SEEDED = 1500  # several pages (200 rows each): selecting all of them cannot be answered from loaded rows


def _roles(database: Database) -> dict[str, int]:
    with database.transaction() as session:
        return dict(
            session.execute(select(Role.name, func.count(User.id)).join(User).group_by(Role.name)).all()
        )


def _count(database: Database, statement: object) -> int:
    with database.transaction() as session:
        return int(session.scalar(statement) or 0)  # type: ignore[call-overload]


def _select_all_and_set_role(qtbot: QtBot, editor: RoleEditor, role: str) -> None:
    users = editor.users_tab
    users.table.setFocus()
    qtbot.keyClick(users.table, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    child(users, QComboBox, "bulkRoleCombo").setCurrentText(role)
    click(qtbot, users, "setRoleButton")
    qtbot.waitUntil(lambda: editor.model.pending.bulk is not None, timeout=15_000)
    # The rows on screen are asked again which of their users the change is for; then they are marked.
    first_seed = editor.model.index(1, COL_ROLE)
    qtbot.waitUntil(
        lambda: first_seed.data(PENDING_ROLE) is True and not editor.model.loading, timeout=15_000
    )


def _row_of(editor: RoleEditor, email: str) -> int:
    model = editor.model
    return next(row for row in range(model.page_size) if model.index(row, COL_EMAIL).data() == email)


def _save_and_wait(qtbot: QtBot, editor: RoleEditor) -> list[str]:
    said = _said_after(qtbot, editor, lambda: click(qtbot, editor.users_tab, "saveButton"))
    settle(qtbot, editor)
    return said


@pytest.fixture
def staged_editor(
    qtbot: QtBot, admin: Actor, database: Database, open_editor: Callable[[Actor], RoleEditor]
) -> RoleEditor:
    """The role editor on SEEDED users, all selected (Ctrl+A) and given the admin role, not yet saved."""
    seed_users(database, SEEDED)
    editor = open_editor(admin)
    _select_all_and_set_role(qtbot, editor, "admin")
    return editor


def test_select_all_set_role_save_changes_every_user_without_fetching_them(
    qtbot: QtBot,
    qtmodeltester,
    services: Services,
    admin: Actor,
    database: Database,
    staged_editor: RoleEditor,
) -> None:
    editor = staged_editor

    model = editor.model
    assert model.loaded_rows <= model.page_size * 2  # the selection was sent as a query, not fetched
    root, seed = (_row_of(editor, email) for email in ("root@example.com", "seed0000000@example.com"))
    assert model.index(seed, COL_ROLE).data(PENDING_ROLE) is True  # rows on screen are marked ...
    assert model.index(seed, COL_ROLE).data() == "admin"
    assert model.index(root, COL_ROLE).data(PENDING_ROLE) is False  # (an admin already)
    status = child(editor, QLabel, "statusLabel").text()
    assert f"role → admin for {SEEDED + 1:,} selected users" in status  # ... and the status says how many
    assert _roles(database) == {"admin": 1, "user": SEEDED}  # nothing saved yet
    qtmodeltester.check(model)  # Qt's own checks, with a bulk change pending over many pages
    assert model.loaded_rows <= model.page_size * model.max_pages

    said = _save_and_wait(qtbot, editor)  # its progress is read on the GUI thread (no_qt_calls_on_workers)
    assert said[-1] == f"Changed {SEEDED:,} users (role → admin)."
    assert _roles(database) == {"admin": SEEDED + 1}
    assert (
        _count(database, select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "role"))
        == SEEDED
    )
    assert not model.pending.has_any
    assert model.loaded_rows <= model.page_size * model.max_pages


def test_users_changed_meanwhile_are_reported_and_keep_their_change(
    qtbot: QtBot,
    services: Services,
    admin: Actor,
    database: Database,
    staged_editor: RoleEditor,
) -> None:
    editor = staged_editor
    services.admin.set_active(admin, "seed0000007@example.com", False)  # another administrator, meanwhile
    said = _save_and_wait(qtbot, editor)
    assert said[-1] == f"Changed {SEEDED - 1:,} users (role → admin)."
    warning = child(editor, QLabel, "errorLabel")
    assert warning.isVisible()
    assert "1 user was left alone" in warning.text()
    assert "seed0000007@example.com" in warning.text()
    record = services.admin.get_user(admin, "seed0000007@example.com")
    assert (record.role, record.active) == ("user", False)


def test_an_edit_of_one_user_wins_over_the_change_of_all(
    qtbot: QtBot,
    services: Services,
    admin: Actor,
    database: Database,
    staged_editor: RoleEditor,
) -> None:
    editor = staged_editor
    model = editor.model
    row = _row_of(editor, "seed0000003@example.com")
    assert model.setData(model.index(row, COL_ROLE), "user")  # put back by hand: they stay a user
    assert model.index(row, COL_ROLE).data(PENDING_ROLE) is False
    _save_and_wait(qtbot, editor)
    assert services.admin.get_user(admin, "seed0000003@example.com").role == "user"
    assert _roles(database) == {"admin": SEEDED, "user": 1}
    assert not child(editor, QLabel, "errorLabel").isVisible()  # not reported as a conflict


def test_revert_forgets_the_staged_change_in_the_database(
    qtbot: QtBot,
    services: Services,
    admin: Actor,
    database: Database,
    staged_editor: RoleEditor,
) -> None:
    editor = staged_editor
    assert _count(database, select(func.count()).select_from(BulkChangeMember)) == SEEDED + 1
    click(qtbot, editor.users_tab, "revertButton")
    qtbot.waitUntil(lambda: _count(database, select(func.count()).select_from(BulkChangeMember)) == 0)
    assert not editor.model.pending.has_any
    assert _roles(database) == {"admin": 1, "user": SEEDED}


def test_a_change_that_stopped_half_way_is_offered_and_resumed(
    qtbot: QtBot,
    services: Services,
    admin: Actor,
    database: Database,
    open_editor: Callable[[Actor], RoleEditor],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(bulk, "BULK_TRANSACTION_ROWS", 500)
    seed_users(database, SEEDED)
    staged = services.bulk.stage(admin, BulkSelection(UserQuery(role="user")), active=False)

    def client_dies(status: BulkChangeStatus) -> None:
        raise SystemError("the client died")

    with pytest.raises(SystemError):
        services.bulk.apply(admin, staged.id, progress=client_dies)  # one chunk of 500 done

    editor = open_editor(admin)
    bar = child(editor, QWidget, "unfinishedBar")
    qtbot.waitUntil(bar.isVisible, timeout=10_000)
    assert f"has reached 500 of {SEEDED:,} users" in child(bar, QLabel, "unfinishedLabel").text()
    said = _said_after(qtbot, editor, lambda: click(qtbot, bar, "resumeButton"))
    assert said[-1] == f"Changed {SEEDED:,} users (deactivate)."
    assert not bar.isVisible()
    assert _count(database, select(func.count()).select_from(User).where(User.active.is_(False))) == SEEDED


def _said_after(qtbot: QtBot, editor: RoleEditor, action: Callable[[], None]) -> list[str]:
    """What the Users tab said once ``action`` started a change to many users and it ended."""
    said: list[str] = []
    editor.users_tab.message.connect(lambda text, _ms: said.append(text))
    action()
    qtbot.waitUntil(lambda: bool(said) and not editor.users_tab.bulk_flow.running, timeout=30_000)
    return said


def test_unlock_of_every_user_is_sent_as_a_query(
    qtbot: QtBot,
    services: Services,
    monkeypatch: pytest.MonkeyPatch,
    make_services: Callable[..., Services],
    admin: Actor,
    database: Database,
    open_editor: Callable[[Actor], RoleEditor],
) -> None:
    seed_users(database, SEEDED)
    strict = make_services(lockout_threshold=2)
    locked = ["seed0000005@example.com", "seed0001400@example.com"]  # on the first page and far past it
    for email in locked:
        for _ in range(2):
            with pytest.raises(InvalidCredentialsError):
                strict.accounts.authenticate(email, "not the password at all")
    editor = open_editor(admin)
    users = editor.users_tab
    users.table.setFocus()
    qtbot.keyClick(users.table, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    pages: list[int] = []
    list_users = services.admin.list_users
    monkeypatch.setattr(
        services.admin, "list_users", lambda *args: pages.append(args[-1]) or list_users(*args)
    )
    said = _said_after(qtbot, editor, lambda: click(qtbot, users, "unlockButton"))
    assert said[-1] == "Unlocked 2 accounts."
    assert [limit for limit in pages if limit > editor.model.page_size] == []  # no record fetched for it
    assert all(strict.admin.get_user(admin, email).locked_until is None for email in locked)
