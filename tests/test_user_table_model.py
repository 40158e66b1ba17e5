"""The role editor's table model on its own, with stand-in fetch and count functions on a real worker pool:
what it loads and when, what each role answers, and when the window holding it is first shown."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtGui import QIcon
from pytestqt.qtbot import QtBot

from desktop_auth.services.records import SortKey, UserQuery, UserRecord
from desktop_auth.ui.role_editor import table_view
from desktop_auth.ui.role_editor.columns import COL_ACTIVE, COL_CREATED, COL_EMAIL, COL_LOGINS, COL_ROLE
from desktop_auth.ui.role_editor.table_model import PENDING_ROLE, UserTableModel
from desktop_auth.ui.role_editor.table_view import FIRST_ROWS_WAIT_MS, show_with_first_rows
from desktop_auth.ui.shell.dates import local_time
from desktop_auth.ui.shell.tasks import TaskRunner
from tests.user_records import CREATED
from tests.user_records import user_record as record


class FakeDirectory:
    """Stands in for the services: 1,000 users; page fetches can be held back until released."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.release = threading.Event()
        self.release.set()
        self.fail = False

    def fetch_page(self, query: UserQuery, offset: int, limit: int) -> list[UserRecord]:
        self.calls.append(f"page {offset}")
        self.release.wait(10)
        if self.fail:
            raise RuntimeError("the database went away")
        return [record(n) for n in range(offset, min(offset + limit, 1000))]

    def count(self, query: UserQuery) -> int:
        self.calls.append("count")
        return 1000


@pytest.fixture
def directory() -> FakeDirectory:
    return FakeDirectory()


@pytest.fixture
def runner() -> TaskRunner:
    return TaskRunner()


@pytest.fixture
def model(qtbot: QtBot, directory: FakeDirectory, runner: TaskRunner) -> Iterator[UserTableModel]:
    model = UserTableModel(runner, directory.fetch_page, directory.count, page_size=50)
    yield model
    directory.release.set()
    runner.wait()


def test_counting_waits_for_the_first_page(
    qtbot: QtBot, model: UserTableModel, directory: FakeDirectory, runner: TaskRunner
) -> None:
    directory.release.clear()
    model.reload()
    qtbot.waitUntil(lambda: directory.calls == ["page 0"], timeout=5_000)
    assert runner.pending == 1  # the page alone: no count queued beside it, started or not
    # That no count starts while the page is held is something that must NOT happen, so it takes a little
    # real time: a count put off by a timer would start in it.
    qtbot.wait(100)
    assert directory.calls == ["page 0"]  # no count competing with the page the person waits for
    assert runner.pending == 1
    assert model.total is None
    assert not model.first_page_in
    with qtbot.waitSignal(model.first_rows_loaded, timeout=5_000):
        directory.release.set()
    assert model.rowCount() == 50
    assert model.first_page_in
    qtbot.waitUntil(lambda: model.total == 1000, timeout=5_000)
    assert directory.calls == ["page 0", "count"]
    assert model.rowCount() == 1000


def test_the_view_reapplying_the_same_order_does_not_reload(
    qtbot: QtBot, model: UserTableModel, directory: FakeDirectory, runner: TaskRunner
) -> None:
    model.reload()
    qtbot.waitUntil(lambda: model.total == 1000, timeout=5_000)
    with qtbot.assertNotEmitted(model.modelAboutToBeReset):  # a reload starts at once, with a reset
        model.sort(COL_EMAIL, Qt.SortOrder.AscendingOrder)  # what the query already says
    assert not model.loading
    assert runner.pending == 0  # nothing fetched or counted, or on its way
    assert directory.calls == ["page 0", "count"]
    model.sort(COL_CREATED, Qt.SortOrder.DescendingOrder)
    assert model.query.sort is SortKey.CREATED
    assert model.query.descending
    qtbot.waitUntil(lambda: directory.calls.count("count") == 2, timeout=5_000)


def test_each_role_answers_what_the_table_shows(qtbot: QtBot, model: UserTableModel) -> None:
    model.reload()
    qtbot.waitUntil(lambda: model.total == 1000, timeout=5_000)
    email, role, active, logins = (
        model.index(3, column) for column in (COL_EMAIL, COL_ROLE, COL_ACTIVE, COL_LOGINS)
    )
    assert email.data() == "user0003@example.com"
    assert role.data(Qt.ItemDataRole.EditRole) == "user"
    assert active.data() is None  # the check box says it
    assert active.data(Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Checked
    assert email.data(Qt.ItemDataRole.CheckStateRole) is None
    assert active.data(Qt.ItemDataRole.AccessibleTextRole) == "active"
    assert email.data(Qt.ItemDataRole.AccessibleTextRole) is None
    assert (
        logins.data(Qt.ItemDataRole.TextAlignmentRole)
        == (Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter).value
    )
    assert email.data(Qt.ItemDataRole.TextAlignmentRole) is None
    assert model.index(3, COL_CREATED).data() == local_time(CREATED)
    assert email.data(Qt.ItemDataRole.DecorationRole) is None
    for marking in (
        Qt.ItemDataRole.FontRole,
        Qt.ItemDataRole.BackgroundRole,
        Qt.ItemDataRole.ToolTipRole,
        Qt.ItemDataRole.DecorationRole,
        Qt.ItemDataRole.AccessibleTextRole,
        Qt.ItemDataRole.AccessibleDescriptionRole,
    ):
        assert role.data(marking) is None  # nothing unsaved yet
    assert model.flags(role) & Qt.ItemFlag.ItemIsEditable
    assert model.flags(active) & Qt.ItemFlag.ItemIsUserCheckable
    assert not model.flags(email) & (Qt.ItemFlag.ItemIsEditable | Qt.ItemFlag.ItemIsUserCheckable)

    assert model.setData(role, "admin")
    assert model.setData(active, Qt.CheckState.Unchecked.value, Qt.ItemDataRole.CheckStateRole)
    assert role.data() == "admin"
    assert role.data(PENDING_ROLE) is True
    assert active.data(Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Unchecked
    assert active.data(Qt.ItemDataRole.AccessibleTextRole) == "inactive, unsaved, was active"
    assert role.data(Qt.ItemDataRole.AccessibleTextRole) == "admin, unsaved, was user"
    assert email.data(Qt.ItemDataRole.AccessibleTextRole) is None  # its name is its text
    for cell in (email, role, active, logins):  # any cell of the row tells a screen reader what is unsaved
        assert cell.data(Qt.ItemDataRole.AccessibleDescriptionRole) == (
            "Unsaved change: role from user to admin, deactivate"
        )
    assert role.data(Qt.ItemDataRole.FontRole).bold()
    assert role.data(Qt.ItemDataRole.BackgroundRole) is not None
    assert email.data(Qt.ItemDataRole.BackgroundRole) is None  # marked row, unchanged cell
    for changed in (role, active):  # the marker, which a selected row shows too
        assert isinstance(changed.data(Qt.ItemDataRole.DecorationRole), QIcon)
    assert email.data(Qt.ItemDataRole.DecorationRole) is None
    assert role.data(Qt.ItemDataRole.ToolTipRole) == "Unsaved: role user → admin, deactivate"
    other = model.index(4, COL_ROLE)
    assert other.data(Qt.ItemDataRole.AccessibleDescriptionRole) is None
    assert other.data(Qt.ItemDataRole.DecorationRole) is None
    assert model.index(4, COL_ROLE).data() == "user"  # other rows untouched


def test_data_changed_names_the_roles_that_changed(qtbot: QtBot, model: UserTableModel) -> None:
    changes: list[set[int]] = []
    model.dataChanged.connect(lambda _first, _last, roles: changes.append({int(role) for role in roles}))
    model.reload()
    qtbot.waitUntil(lambda: model.total == 1000, timeout=5_000)
    record_3 = model.record(3)
    assert record_3 is not None
    model.stage([record_3], role="admin")
    marking = {
        Qt.ItemDataRole.DisplayRole,
        Qt.ItemDataRole.EditRole,
        Qt.ItemDataRole.CheckStateRole,
        Qt.ItemDataRole.AccessibleTextRole,
        Qt.ItemDataRole.AccessibleDescriptionRole,
        Qt.ItemDataRole.DecorationRole,
        Qt.ItemDataRole.FontRole,
        Qt.ItemDataRole.BackgroundRole,
        Qt.ItemDataRole.ToolTipRole,
        PENDING_ROLE,
    }
    assert changes[-1] == {int(role) for role in marking}  # a staged edit: not the ids, records, alignment
    model.discard()
    assert changes[-1] == {int(role) for role in marking}
    assert all(changes)  # every change names its roles (none says "all of them" with an empty list)


def open_window_while_loading(
    model: UserTableModel, directory: FakeDirectory, parent: QObject | None = None
) -> list[int]:
    """Reload with the first page held back, and "show a window" with it; returns the rows it was shown with."""
    directory.release.clear()
    shown: list[int] = []
    model.reload()
    show_with_first_rows(lambda: shown.append(model.rowCount()), model, parent or QObject(model))
    return shown


def test_a_window_is_shown_with_its_first_rows(
    qtbot: QtBot, model: UserTableModel, directory: FakeDirectory
) -> None:
    parent = QObject(model)
    shown = open_window_while_loading(model, directory, parent)
    assert shown == []
    (deadline,) = parent.findChildren(QTimer)  # shows it anyway when the rows are slow
    assert deadline.isActive()
    assert deadline.interval() == FIRST_ROWS_WAIT_MS
    directory.release.set()
    qtbot.waitUntil(lambda: shown == [50], timeout=5_000)
    assert not deadline.isActive()
    deadline.timeout.emit()  # as if it fired after all
    model.first_rows_loaded.emit()  # and the model loaded again, or failed
    model.failed.emit("the database went away")
    assert shown == [50]  # once


def test_a_window_is_shown_anyway_when_the_rows_are_slow(
    qtbot: QtBot, model: UserTableModel, directory: FakeDirectory
) -> None:
    shown = open_window_while_loading(model, directory)
    qtbot.waitUntil(lambda: shown == [0], timeout=FIRST_ROWS_WAIT_MS * 10)  # still loading: shown empty


def test_a_window_is_shown_at_once_when_the_rows_fail(
    qtbot: QtBot, model: UserTableModel, directory: FakeDirectory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(table_view, "FIRST_ROWS_WAIT_MS", 60_000)  # only the failure can show it
    directory.fail = True
    shown = open_window_while_loading(model, directory)
    with qtbot.waitSignal(model.failed, timeout=5_000):
        directory.release.set()
    assert shown == [0]


def test_the_least_recently_read_page_is_dropped_first(qtbot: QtBot, directory: FakeDirectory) -> None:
    runner = TaskRunner()
    model = UserTableModel(runner, directory.fetch_page, directory.count, page_size=50, max_pages=2)
    model.reload()
    qtbot.waitUntil(lambda: model.total == 1000, timeout=5_000)
    assert model.record(0) is not None
    assert model.record(60) is None  # page 1 requested
    qtbot.waitUntil(lambda: model.loaded_rows == 100, timeout=5_000)
    assert model.record(0) is not None  # page 0 read again, after page 1 arrived: now the most recent
    assert model.record(120) is None  # page 2 requested; one of the two held pages must go
    qtbot.waitUntil(lambda: model.loaded_rows == 100 and not model.loading, timeout=5_000)
    assert model.record(0) is not None  # kept: read more recently than page 1
    assert model.record(120) is not None
    assert model.loaded_rows == 100
    runner.wait()
