"""Which users an action is for, as runs of rows of a query rather than a list of users."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from desktop_auth.services.records import BulkSelection, UserQuery, UserRecord

Run = tuple[int, int]  # rows start, start + 1, ..., stop - 1 (half-open, as range() takes them)
FetchPage = Callable[[UserQuery, int, int], list[UserRecord]]  # (query, offset, limit) -> records
FETCH_CHUNK = 1000  # rows per query when the selected rows are fetched


def merge_runs(runs: Iterable[Run]) -> tuple[Run, ...]:
    """Sorted runs, overlapping and touching ones joined: [(5, 8), (0, 2), (1, 3)] -> ((0, 3), (5, 8))."""
    merged: list[Run] = []
    for start, stop in sorted(run for run in runs if run[0] < run[1]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], stop))
        else:
            merged.append((start, stop))
    return tuple(merged)


@dataclass(frozen=True)
class Selection:
    """Which users an action is for, said without listing them.

    The users at the rows ``runs`` of ``query``'s order (``total`` rows matched when it was made), except
    the user ids in ``excluded`` (users in those rows), plus the user ids in ``included`` (users outside
    them). Selecting every row (Ctrl+A) is one run however many users match: ``covers_all`` then reads
    "every user matching ``query``, except these, plus these", which a bulk action can send as one request
    instead of a record per user.
    """

    query: UserQuery
    total: int
    runs: tuple[Run, ...] = ()
    excluded: frozenset[int] = frozenset()
    included: frozenset[int] = frozenset()

    @classmethod
    def of_rows(cls, query: UserQuery, total: int, runs: Iterable[Run]) -> Selection:
        """The rows a view has selected, as runs in any order (overlaps and rows past ``total`` dropped)."""
        return cls(query, total, merge_runs((max(start, 0), min(stop, total)) for start, stop in runs))

    @property
    def rows(self) -> int:
        """How many rows the runs hold."""
        return sum(stop - start for start, stop in self.runs)

    @property
    def count(self) -> int:
        """How many users are selected."""
        return self.rows - len(self.excluded) + len(self.included)

    @property
    def covers_all(self) -> bool:
        """Whether the runs are every row of the query."""
        return self.total > 0 and self.runs == ((0, self.total),)

    def contains(self, row: int | None, user_id: int) -> bool:
        """Whether the user at ``row`` (None: not among the rows on screen) is selected."""
        if user_id in self.included:
            return True
        in_runs = row is not None and any(start <= row < stop for start, stop in self.runs)
        return in_runs and user_id not in self.excluded

    def as_request(self) -> BulkSelection:
        """The selection as a service takes it: every row of the query (whatever its order) when the runs
        cover them all, else the runs of its order; with the same users left out and picked by hand."""
        return BulkSelection(self.query, None if self.covers_all else self.runs, self.excluded, self.included)

    def excluding(self, user_ids: Iterable[int]) -> Selection:
        """Without these users (ids of users in the runs, or ones included before)."""
        ids = frozenset(user_ids)
        return Selection(
            self.query, self.total, self.runs, self.excluded | (ids - self.included), self.included - ids
        )

    def including(self, user_ids: Iterable[int]) -> Selection:
        """With these users too (ids of users outside the runs, or ones excluded before)."""
        ids = frozenset(user_ids)
        return Selection(
            self.query, self.total, self.runs, self.excluded - ids, self.included | (ids - self.excluded)
        )


def fetch_selected(selection: Selection, fetch_page: FetchPage) -> list[UserRecord]:
    """The records of the selected rows, ``FETCH_CHUNK`` rows per query (slow: run it on a worker)."""
    if selection.included:
        raise ValueError("users picked outside the rows cannot be fetched by row")
    found: list[UserRecord] = []
    for start, stop in selection.runs:
        for offset in range(start, stop, FETCH_CHUNK):
            page = fetch_page(selection.query, offset, min(FETCH_CHUNK, stop - offset))
            found.extend(record for record in page if record.id not in selection.excluded)
    return found
