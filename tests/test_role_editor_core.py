"""The role editor's Qt-free core on its own: no QApplication, no qtbot, no worker; fetches are answered by
hand. The page cache, the pending edits and the selection."""

from __future__ import annotations

import subprocess
import sys
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from desktop_auth.services.records import BulkSelection, SortKey, UserEdit, UserQuery, UserRecord
from desktop_auth.ui.role_editor.core.page_cache import PageCache, PageRequest
from desktop_auth.ui.role_editor.core.pending_edits import PendingBulk, PendingEdits
from desktop_auth.ui.role_editor.core.selection import FETCH_CHUNK, Selection, fetch_selected, merge_runs
from tests.user_records import user_record as record

USERS = 1000


def page_of(request: PageRequest) -> list[UserRecord]:
    return [record(n) for n in range(request.offset, min(request.offset + request.limit, USERS))]


class Fetches:
    """Stands in for the worker: keeps the cache's requests until the test answers them."""

    def __init__(self) -> None:
        self.asked: list[PageRequest] = []

    def __call__(self, request: PageRequest) -> None:
        self.asked.append(request)

    def pages(self) -> list[int]:
        return [request.page for request in self.asked]


@pytest.fixture
def fetches() -> Fetches:
    return Fetches()


@pytest.fixture
def cache(fetches: Fetches) -> PageCache:
    return PageCache(fetches, page_size=50, max_pages=3)


def test_the_core_imports_no_qt() -> None:
    probe = (
        "import sys\n"
        "import desktop_auth.ui.role_editor.core.page_cache\n"
        "import desktop_auth.ui.role_editor.core.pending_edits\n"
        "import desktop_auth.ui.role_editor.core.selection\n"
        "import desktop_auth.ui.role_editor.columns\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6')))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


# -- the page cache ---------------------------------------------------------------------------------------


def test_the_first_page_is_shown_as_it_arrives_then_the_count_decides(
    cache: PageCache, fetches: Fetches
) -> None:
    cache.restart()
    assert cache.row(0) is None, "nothing to show yet"
    assert fetches.asked == [], "rows past what the view was told are not fetched"
    cache.want(0)
    cache.want(0)
    assert fetches.pages() == [0], "a page on its way is asked for once"
    assert cache.loading
    arrival = cache.arrived(fetches.asked[0], page_of(fetches.asked[0]))
    assert arrival is not None
    assert (arrival.rows, arrival.changed, arrival.first_rows) == (50, None, True)
    cache.rows = arrival.rows  # what the table model does once it has told the view
    assert not cache.loading
    assert cache.first_page_in
    assert cache.record(49) == record(49)

    request = cache.count_request()
    assert request.query == cache.query
    assert cache.counted(request, USERS)
    assert cache.total == USERS
    cache.rows = USERS
    assert cache.record(120) is None
    assert fetches.pages() == [0, 2]
    arrival = cache.arrived(fetches.asked[1], page_of(fetches.asked[1]))
    assert arrival is not None
    assert (arrival.rows, arrival.changed, arrival.first_rows) == (USERS, (100, 150), False)
    assert cache.record(120) == record(120)


def test_a_page_or_count_for_an_older_query_is_ignored(cache: PageCache, fetches: Fetches) -> None:
    cache.restart()
    cache.want(0)
    count = cache.count_request()
    newer = UserQuery("user00", prefix=True, sort=SortKey.CREATED, descending=True)
    cache.restart(newer)
    assert cache.query == newer
    assert cache.arrived(fetches.asked[0], page_of(fetches.asked[0])) is None
    assert not cache.counted(count, USERS)
    assert cache.total is None
    assert cache.loaded_rows == 0
    cache.want(0)
    assert fetches.asked[-1].query == newer


def test_only_the_most_recently_read_pages_are_kept(cache: PageCache, fetches: Fetches) -> None:
    cache.restart()
    cache.counted(cache.count_request(), USERS)
    cache.rows = USERS
    for row in (0, 50, 100):
        assert cache.row(row) is None
        cache.arrived(fetches.asked[-1], page_of(fetches.asked[-1]))
    assert cache.loaded_rows == 150
    assert cache.row(0) is not None  # page 0 read again: now the most recent
    assert cache.row(150) is None
    cache.arrived(fetches.asked[-1], page_of(fetches.asked[-1]))
    assert cache.loaded_rows == 150, "three pages at most"
    assert cache.row(0) is not None, "kept: read more recently than page 1"
    assert cache.row(50) is None, "page 1 was the least recently read"


def test_a_failed_fetch_is_asked_for_again(cache: PageCache, fetches: Fetches) -> None:
    cache.restart()
    cache.want(0)
    cache.failed()
    assert not cache.loading
    cache.want(0)
    assert fetches.pages() == [0, 0]


def test_records_of_a_selection_come_from_the_cache_only_when_all_are_held(
    cache: PageCache, fetches: Fetches
) -> None:
    cache.restart()
    cache.counted(cache.count_request(), USERS)
    cache.rows = USERS
    cache.row(0)
    cache.arrived(fetches.asked[-1], page_of(fetches.asked[-1]))
    held = Selection.of_rows(cache.query, USERS, [(3, 5), (10, 11)])
    assert cache.records_in(held) == [record(3), record(4), record(10)]
    assert cache.records_in(held.excluding([record(4).id])) == [record(3), record(10)]
    asked = len(fetches.asked)
    assert cache.records_in(Selection.of_rows(cache.query, USERS, [(40, 60)])) is None
    assert cache.records_in(Selection.of_rows(cache.query, USERS, [(0, USERS)])) is None
    assert len(fetches.asked) == asked, "looking does not fetch"
    other = Selection.of_rows(UserQuery(role="admin"), USERS, [(3, 5)])
    assert cache.records_in(other) is None, "rows of another query are other users"


def test_pages_say_which_users_a_staged_change_is_for(cache: PageCache, fetches: Fetches) -> None:
    cache.restart()
    cache.counted(cache.count_request(), USERS)
    cache.rows = USERS
    cache.row(0)
    cache.arrived(fetches.asked[-1], page_of(fetches.asked[-1]))  # fetched before any change was staged
    loaded = cache.row(3)
    assert loaded is not None
    assert loaded.change is None
    cache.ask_about(7)  # a change is staged: the held page is asked for again when next read ...
    assert fetches.asked[-1].change_id is None
    held = cache.row(3)
    assert held is loaded, "... its rows shown meanwhile"
    again = fetches.asked[-1]
    assert (again.page, again.change_id) == (0, 7)
    cache.row(4)
    assert fetches.asked[-1] is again, "asked once"
    in_change = [n % 2 == 1 for n in range(50)]  # the database's answer, row by row
    arrival = cache.arrived(again, page_of(again), in_change)
    assert arrival is not None
    assert arrival.changed == (0, 50), "every row of the page is shown anew"
    assert [cache.row(n).change for n in (2, 3)] == [None, 7]  # type: ignore[union-attr]
    cache.row(60)
    assert fetches.asked[-1].change_id == 7, "pages not held are asked with the change"
    cache.ask_about(None)  # reverted: nothing to ask again (rows of change 7 mark nothing once it is gone)
    asked = len(fetches.asked)
    cache.row(3)
    assert len(fetches.asked) == asked


def test_a_page_asked_before_a_change_was_staged_is_asked_again(cache: PageCache, fetches: Fetches) -> None:
    cache.restart()
    cache.counted(cache.count_request(), USERS)
    cache.rows = USERS
    cache.row(0)
    before = fetches.asked[-1]
    cache.ask_about(7)  # staged while the page was on its way without asking
    cache.row(0)
    assert fetches.asked[-1] is before, "a page on its way is not asked for twice at once"
    assert cache.arrived(before, page_of(before)) is not None  # kept, shown ...
    cache.row(0)
    assert (fetches.asked[-1].page, fetches.asked[-1].change_id) == (0, 7)  # ... and asked for again
    cache.restart()
    cache.counted(cache.count_request(), USERS)
    cache.rows = USERS
    cache.row(0)
    assert fetches.asked[-1].change_id == 7, "a reload keeps asking about the staged change"


# -- pending edits ----------------------------------------------------------------------------------------


def test_edits_keep_the_version_each_user_was_seen_at() -> None:
    pending = PendingEdits()
    pending.stage([record(1, version=4), record(2, version=7)], role="staff")
    pending.stage([record(2, version=9)], active=False)  # a newer read of user 2: the first version stays
    assert len(pending) == 2
    assert list(pending) == [2, 3]
    assert 2 in pending
    assert pending.edits() == [
        UserEdit(2, 4, role="staff"),
        UserEdit(3, 7, role="staff", active=False),
    ]
    edit = pending.get(3)
    assert edit is not None
    assert str(edit.summary()) == "Unsaved: role user → staff, deactivate"


def test_a_change_back_to_the_saved_value_unmarks_it() -> None:
    pending = PendingEdits()
    pending.stage([record(1)], role="staff", active=False)
    pending.stage([record(1)], role="user")
    assert pending.edits() == [UserEdit(2, 1, active=False)]
    pending.stage([record(1)], active=True)
    assert not pending
    assert pending.get(2) is None


def test_discarding_some_or_all_edits() -> None:
    pending = PendingEdits()
    pending.stage([record(n) for n in range(5)], role="staff")
    pending.discard([1, 3, 99])
    assert list(pending) == [2, 4, 5]
    pending.discard()
    assert len(pending) == 0


def test_taking_the_admin_role_away_is_noticed() -> None:
    pending = PendingEdits()
    admin, other = record(0, role="admin"), record(1, role="admin")
    pending.stage([admin], active=False)
    assert not pending.takes_admin_from(admin.id)
    pending.stage([admin, other], role="user")
    assert pending.takes_admin_from(admin.id)
    assert not pending.takes_admin_from(record(2).id)
    assert not pending.takes_admin_from(None)
    pending.stage([record(2)], role="admin")
    assert not pending.takes_admin_from(record(2).id), "a promotion"


# -- the selection ----------------------------------------------------------------------------------------


def test_runs_are_sorted_and_joined() -> None:
    assert merge_runs([(5, 8), (0, 2), (1, 3), (8, 9), (4, 4)]) == ((0, 3), (5, 9))
    assert merge_runs([]) == ()


@given(st.lists(st.tuples(st.integers(0, 60), st.integers(0, 60)), max_size=12))
def test_merged_runs_hold_the_same_rows(runs: list[tuple[int, int]]) -> None:
    merged = merge_runs(runs)
    assert {row for start, stop in merged for row in range(start, stop)} == {
        row for start, stop in runs for row in range(start, stop)
    }
    assert all(a[1] < b[0] for a, b in pairwise(merged)), "apart and in order"


def test_every_row_of_a_million_is_one_run_not_a_million_rows() -> None:
    query = UserQuery("seed", prefix=True)
    everyone = Selection.of_rows(query, 1_000_000, [(0, 500_000), (400_000, 2_000_000)])
    assert everyone.runs == ((0, 1_000_000),)
    assert everyone.covers_all
    assert everyone.count == 1_000_000
    but_two = everyone.excluding([17, 42])
    assert but_two.count == 999_998
    assert but_two.covers_all, "still every row of the query, except two users"
    assert not but_two.contains(5, 17)
    assert but_two.contains(5, 18)
    assert not Selection.of_rows(query, 1_000_000, [(0, 999_999)]).covers_all
    assert not Selection.of_rows(query, 0, [(0, 1)]).covers_all


def test_users_are_picked_by_hand_and_taken_back() -> None:
    selection = Selection.of_rows(UserQuery(), 100, [(0, 10)])
    plus = selection.including([500, 501])
    assert plus.count == 12
    assert plus.contains(None, 500), "a user outside the rows on screen"
    assert not plus.contains(None, 3)
    assert plus.excluding([500]).included == frozenset({501}), "taken back, not excluded"
    minus = selection.excluding([4])
    assert minus.including([4]) == selection, "put back"
    assert minus.contains(20, 4) is False
    assert not Selection.of_rows(UserQuery(), 100, []).count


def test_the_selected_rows_are_fetched_a_chunk_at_a_time() -> None:
    calls: list[tuple[int, int]] = []

    def fetch_page(query: UserQuery, offset: int, limit: int) -> list[UserRecord]:
        calls.append((offset, limit))
        return [record(n) for n in range(offset, offset + limit)]

    rows = [(3, 5), (10, 10 + FETCH_CHUNK + 2)]
    selection = Selection.of_rows(UserQuery(), 5000, rows).excluding([record(4).id])
    found = fetch_selected(selection, fetch_page)
    assert calls == [(3, 2), (10, FETCH_CHUNK), (10 + FETCH_CHUNK, 2)]
    assert [r.id for r in found] == [record(3).id] + [record(n).id for n in range(10, 10 + FETCH_CHUNK + 2)]
    with pytest.raises(ValueError, match="outside the rows"):
        fetch_selected(selection.including([9999]), fetch_page)


def test_a_bulk_change_marks_the_rows_the_database_says_are_in_it() -> None:
    edits = PendingEdits()
    million = BulkSelection(UserQuery(role="user", sort=SortKey.CREATED), runs=((0, 400), (900, 1_000_000)))
    edits.bulk = PendingBulk(7, million, total=1_000_000, role="admin")
    assert edits.bulk_change_id == 7
    assert len(edits) == 1_000_000
    assert edits.has_any
    assert edits.single_edits == 0
    marked = edits.for_record(record(1), in_bulk=True)  # the row's page said so, whatever its filter
    assert marked is not None
    assert (marked.role, marked.original_role) == ("admin", record(1).role)
    assert str(marked.role_text()) == "admin, unsaved, was user"
    assert str(marked.spoken()) == "Unsaved change: role from user to admin"
    assert edits.for_record(record(2), in_bulk=False) is None  # not in it (left out, or never selected)
    assert edits.for_record(record(1)) is None  # not known to be in it: not marked
    already = edits.for_record(record(3, role="admin"), in_bulk=True)
    assert already is None, "in the change, but it changes nothing for them"
    assert edits.edits() == []  # the bulk change is saved by its id, not as one edit per user


def test_an_edit_of_one_user_wins_over_the_bulk_change() -> None:
    edits = PendingEdits()
    edits.bulk = PendingBulk(7, BulkSelection(UserQuery()), total=10, active=False)
    edits.stage([record(3)], role="admin")
    assert edits.bulk.overridden == {record(3).id}
    own = edits.for_record(record(3), in_bulk=True)
    assert own is not None
    assert (own.role, own.active) == ("admin", None)  # the bulk deactivation no longer applies to them
    assert str(own.active_text(True)) == "active"
    bulk = edits.for_record(record(4), in_bulk=True)
    assert bulk is not None
    assert str(bulk.active_text(False)) == "inactive, unsaved, was active"
    assert str(bulk.spoken()) == "Unsaved change: deactivate"
    assert len(edits) == 1 + 9
    edits.discard()
    assert edits.bulk is None
    assert edits.bulk_change_id is None
    assert not edits.has_any
