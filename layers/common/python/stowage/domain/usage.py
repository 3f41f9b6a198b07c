"""What each client did, per UTC day: files stored (and their bytes), drafts confirmed,
files deleted, and failures the server answered on those routes; plus the daily
reports the client's own tools send (a `stowage watch` daemon's uploaded / skipped /
failed).

Counters are atomic additions (DynamoDB `ADD`), so concurrent requests never lose an
increment. Recording is best effort: a counter write that fails never fails the
request; it is logged and counted (`usage_write_failed`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol, TypeVar

from stowage.domain.clock import utc_now
from stowage.errors import StowageError
from stowage.models.usage import DayUsage, UsageReportRequest, UsageReportResponse, UsageResponse

COUNTERS = ("uploads", "bytes", "confirmed", "deleted", "failures")
MAX_DAYS = 90
T = TypeVar("T")


@dataclass(frozen=True)
class DayRecord:
    """One client's day as stored: its counters and the reports sent for it, by host."""

    date: str
    counts: Mapping[str, int]
    reports: Mapping[str, Mapping[str, object]]
    last_activity: datetime | None = None


class UsageStore(Protocol):
    def add(
        self,
        client_id: str,
        day: str,
        counts: Mapping[str, int],
        now: datetime,
        once: str | None = None,
    ) -> None:
        """Add `counts` to the day's counters, atomically; with `once` (an upload or draft
        id), only the first time for that id: a retried completion counts once."""
        ...

    def put_report(
        self, client_id: str, day: str, host: str, report: Mapping[str, object]
    ) -> None: ...

    def days(self, client_id: str, days: list[str]) -> list[DayRecord]:
        """The stored days among `days` (missing ones left out)."""
        ...


class UsageWriteFailed(Protocol):
    def __call__(self, error: Exception) -> None: ...


def _ignore(error: Exception) -> None:
    return None


class UsageRecorder:
    """Best-effort counters, called from the upload, draft and file services."""

    def __init__(
        self,
        store: UsageStore | None,
        clock: Callable[[], datetime] = utc_now,
        on_failure: UsageWriteFailed = _ignore,
    ) -> None:
        self.store, self.clock, self.on_failure = store, clock, on_failure

    def add(self, client_id: str, once: str | None = None, **counts: int) -> None:
        if self.store is None:
            return
        now = self.clock()
        try:
            self.store.add(client_id, now.date().isoformat(), counts, now, once)
        except Exception as error:  # noqa: BLE001 - best effort: never fail the request
            self.on_failure(error)

    def counting_failures(self, client_id: str, call: Callable[[], T]) -> T:
        """Run `call`; an error it answers the client with counts as a failure."""
        try:
            return call()
        except StowageError:
            self.add(client_id, failures=1)
            raise


NO_USAGE = UsageRecorder(None)


class UsageService:
    def __init__(self, store: UsageStore, clock: Callable[[], datetime] = utc_now) -> None:
        self.store, self.clock = store, clock

    def usage(self, client_id: str, days: int) -> UsageResponse:
        """The caller's last `days` UTC days, newest first, zeros where nothing happened."""
        wanted = last_days(self.clock().date(), days)
        stored = {d.date: d for d in self.store.days(client_id, wanted)}
        return UsageResponse(days=[day_usage(day, stored.get(day)) for day in wanted])

    def report(self, client_id: str, request: UsageReportRequest) -> UsageReportResponse:
        host = request.host or "default"
        fields = request.model_dump(exclude={"host", "date"})
        received = self.clock()
        self.store.put_report(
            client_id, request.date.isoformat(), host, fields | {"received_at": received}
        )
        return UsageReportResponse(date=request.date, host=host, status="recorded")


def last_days(today: date, days: int) -> list[str]:
    return [(today - timedelta(days=n)).isoformat() for n in range(days)]


def day_usage(day: str, record: DayRecord | None) -> DayUsage:
    counts = dict(record.counts) if record else {}
    return DayUsage(date=day, **{name: int(counts.get(name, 0)) for name in COUNTERS})
