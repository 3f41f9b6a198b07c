"""Usage recording is best effort: a failing counter write never fails the request, and
an error the service answers counts as a failure."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime

import pytest

from stowage.domain.usage import UsageRecorder, last_days
from stowage.errors import DatabaseError, UploadNotFoundError

NOW = datetime(2026, 1, 12, 23, 59, tzinfo=UTC)


class Store:
    def __init__(self, fail: bool = False) -> None:
        self.fail, self.added = fail, []  # type: list[tuple[str, str, dict[str, int], str | None]]

    def add(self, client_id: str, day: str, counts: Mapping[str, int], now: datetime, once=None):  # type: ignore[no-untyped-def]
        if self.fail:
            raise DatabaseError("counting usage failed")
        self.added.append((client_id, day, dict(counts), once))


def test_a_failed_counter_write_is_reported_and_swallowed():
    seen: list[Exception] = []
    recorder = UsageRecorder(Store(fail=True), lambda: NOW, seen.append)  # type: ignore[arg-type]
    recorder.add("cam", "up_1", uploads=1, bytes=5)
    assert [type(e) for e in seen] == [DatabaseError]


def test_counts_go_to_the_utc_day_with_their_once_id():
    store = Store()
    UsageRecorder(store, lambda: NOW).add("cam", "up_1", uploads=1, bytes=5)  # type: ignore[arg-type]
    assert store.added == [("cam", "2026-01-12", {"uploads": 1, "bytes": 5}, "up_1")]


def test_an_answered_error_counts_as_a_failure_and_is_raised():
    store = Store()
    recorder = UsageRecorder(store, lambda: NOW)  # type: ignore[arg-type]

    def refused() -> None:
        raise UploadNotFoundError("no upload")

    with pytest.raises(UploadNotFoundError):
        recorder.counting_failures("cam", refused)
    assert store.added == [("cam", "2026-01-12", {"failures": 1}, None)]
    assert recorder.counting_failures("cam", lambda: 7) == 7 and len(store.added) == 1


def test_last_days_are_newest_first():
    assert last_days(date(2026, 3, 1), 3) == ["2026-03-01", "2026-02-28", "2026-02-27"]
