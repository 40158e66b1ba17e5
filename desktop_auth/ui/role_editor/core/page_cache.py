"""The rows of the query on screen, a page at a time, the most recently read pages kept."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from desktop_auth.services.records import UserQuery, UserRecord
from desktop_auth.ui.role_editor.core.selection import Run, Selection


class LoadedRow:
    """A loaded user; ``change``, the staged bulk change the database said is for this user when the page
    was fetched (None: none, or not asked); and, once the table has shown it, its display text (kept by the
    table model, and dropped with the row's page)."""

    __slots__ = ("cells", "change", "record")

    def __init__(self, record: UserRecord, change: int | None = None) -> None:
        self.record = record
        self.change = change
        self.cells: tuple[Any, ...] | None = None


@dataclass(frozen=True)
class PageRequest:
    """A page to fetch for a query; what arrives for an older query than the cache's is ignored.
    ``change_id``: the staged bulk change to ask about, row by row (None: none)."""

    generation: int
    query: UserQuery
    page: int
    offset: int
    limit: int
    change_id: int | None = None


@dataclass(frozen=True)
class CountRequest:
    generation: int
    query: UserQuery


@dataclass(frozen=True)
class Arrival:
    """What a page that came in changes: the rows to show now (never fewer), the run of rows already shown
    whose contents came in, and whether it is the query's first page (time to count)."""

    rows: int
    changed: Run | None
    first_rows: bool


class PageCache:
    """The users matching one query, held a page at a time.

    ``rows`` is what the view has been told: the count once known, the rows that arrived until then.
    Reading a row whose page is not held calls ``fetch`` with a ``PageRequest`` (once per page); the caller
    fetches it and hands the records to ``arrived``. Only the ``max_pages`` most recently read pages are
    kept, so memory follows what was looked at, not the size of the table.

    While a bulk change is staged (``ask_about``), pages are fetched with which of their users it is for;
    a held page fetched before (or for another change) is fetched again when it is next read, its rows
    shown meanwhile: only the pages on screen are asked for again, never the whole selection.
    """

    def __init__(
        self, fetch: Callable[[PageRequest], None], page_size: int = 200, max_pages: int = 20
    ) -> None:
        self._fetch = fetch
        self.page_size = page_size
        self.max_pages = max(2, max_pages)
        self.query = UserQuery()
        self.rows = 0  # changed by the table model, between telling the view it will and that it did
        self.total: int | None = None
        self._generation = 0
        self._pages: OrderedDict[int, list[LoadedRow]] = OrderedDict()
        self._recent_page = -1  # the page row() last moved to the recent end
        self._in_flight: set[int] = set()
        self.change_id: int | None = None  # the staged bulk change pages are fetched asking about
        self._stale: set[int] = set()  # held pages fetched without asking about it: fetched again when read

    def restart(self, query: UserQuery | None = None) -> None:
        """Drop every row (for ``query``, or the same query again); pages still on their way are ignored."""
        if query is not None:
            self.query = query
        self._generation += 1
        self._pages.clear()
        self._recent_page = -1
        self._in_flight.clear()
        self._stale.clear()
        self.rows = 0
        self.total = None

    @property
    def loading(self) -> bool:
        return bool(self._in_flight)

    @property
    def loaded_rows(self) -> int:
        """How many users are held in memory."""
        return sum(len(page) for page in self._pages.values())

    @property
    def first_page_in(self) -> bool:
        return 0 in self._pages

    def row(self, row: int) -> LoadedRow | None:
        """The loaded row, or None (and its page is requested)."""
        if not 0 <= row < self.rows:
            return None  # also an invalid index's row(), -1
        page_number, offset = divmod(row, self.page_size)
        page = self._pages.get(page_number)
        if page is None:
            self.want(page_number)
            return None
        if self._stale and page_number in self._stale:
            self.want(page_number)  # shown as held until the page asked about the change arrives
        if page_number != self._recent_page:  # least-recently-used order, touched once per page change
            self._recent_page = page_number
            self._pages.move_to_end(page_number)
        return page[offset] if offset < len(page) else None

    def forget_cells(self) -> None:
        """Drop the display text of every held row (the language changed: the table writes them anew)."""
        for page in self._pages.values():
            for row in page:
                row.cells = None

    def is_loaded(self, row: int) -> bool:
        """Whether the row is held, without requesting it (for questions Qt asks of every row at once)."""
        page = self._pages.get(row // self.page_size) if 0 <= row < self.rows else None
        return page is not None and row % self.page_size < len(page)

    def record(self, row: int) -> UserRecord | None:
        loaded = self.row(row)
        return loaded.record if loaded is not None else None

    def want(self, page_number: int) -> None:
        """Request this page unless it is on its way."""
        if page_number in self._in_flight:
            return
        self._in_flight.add(page_number)
        self._stale.discard(page_number)
        size = self.page_size
        self._fetch(
            PageRequest(self._generation, self.query, page_number, page_number * size, size, self.change_id)
        )

    def ask_about(self, change_id: int | None) -> None:
        """Fetch pages with which of their users the staged bulk change ``change_id`` is for (None: no
        change to ask about). The pages held are fetched again as they are read: rows say they are in a
        change only when the database said so for that change."""
        if change_id == self.change_id:
            return
        self.change_id = change_id
        # Dropped, no page needs asking again: rows of an older change are not marked by a newer one.
        self._stale = set(self._pages) if change_id is not None else set()

    def arrived(
        self, request: PageRequest, records: list[UserRecord], in_change: Sequence[bool] = ()
    ) -> Arrival | None:
        """Keep a fetched page (``in_change``: row by row, whether ``request.change_id`` is for the user);
        None when it was for an older query."""
        if request.generation != self._generation:
            return None
        first_rows = self.total is None and not self._pages and request.page == 0
        self._in_flight.discard(request.page)
        change = request.change_id
        if in_change:
            rows = [
                LoadedRow(record, change if member else None)
                for record, member in zip(records, in_change, strict=True)
            ]
        else:
            rows = [LoadedRow(record) for record in records]
        self._pages[request.page] = rows
        if change != self.change_id and self.change_id is not None:
            self._stale.add(request.page)  # asked before the change was staged: ask again when read
        self._pages.move_to_end(request.page)
        self._recent_page = request.page
        while len(self._pages) > self.max_pages:
            self._stale.discard(self._pages.popitem(last=False)[0])
        first, end = request.offset, request.offset + len(records)
        if self.total is None and end > self.rows:
            return Arrival(end, None, first_rows)  # not counted yet: show the rows that arrived
        last = min(end, self.rows)
        return Arrival(self.rows, (first, last) if last > first else None, first_rows)

    def count_request(self) -> CountRequest:
        return CountRequest(self._generation, self.query)

    def counted(self, request: CountRequest, total: int) -> bool:
        """Take the count (the rows to show); False when it was for an older query."""
        if request.generation != self._generation:
            return False
        self.total = total
        return True

    def failed(self) -> None:
        """A fetch failed: nothing is on its way any more (reading the rows again asks again)."""
        self._in_flight.clear()

    def records_in(self, selection: Selection) -> list[UserRecord] | None:
        """The records of the selected rows when every one is held, else None (fetch them instead)."""
        if selection.query != self.query or selection.included:
            return None
        size = self.page_size
        for start, stop in selection.runs:  # every page first: a selection of 100,000 rows is refused at once
            if any(page not in self._pages for page in range(start // size, (stop - 1) // size + 1)):
                return None
        records: list[UserRecord] = []
        for start, stop in selection.runs:
            for row in range(start, stop):
                page = self._pages[row // size]
                if row % size >= len(page):
                    return None
                record = page[row % size].record
                if record.id not in selection.excluded:
                    records.append(record)
        return records
