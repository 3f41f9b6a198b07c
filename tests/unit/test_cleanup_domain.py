"""The cleanup's decisions with stores of its own: what it skips (leased), what it
counts, what one failure does to the rest, and the bounds it asks for."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from stowage.domain.cleanup import DELETE_BATCH, CleanupReport, CleanupRules, CleanupService
from stowage.errors import DatabaseError, StorageError
from tests.support.fakes import FakeDraftStore, draft_record

NOW = datetime(2026, 1, 12, 10, 30, tzinfo=UTC)


def session(upload_id: str, status: str = "initiated", until: datetime | None = None) -> Any:
    return SimpleNamespace(
        upload_id=upload_id,
        key=f"k/{upload_id}",
        s3_upload_id=f"s3-{upload_id}",
        status=status,
        completing_until=until,
    )


@dataclass
class Sessions:
    found: list[Any]
    expire_answers: dict[str, bool] = field(default_factory=dict)
    asked: list[tuple[datetime, int]] = field(default_factory=list)
    marked: list[str] = field(default_factory=list)
    aborted: list[str] = field(default_factory=list)
    released: list[tuple[str, str]] = field(default_factory=list)

    def expired(self, now: datetime, limit: int) -> list[Any]:
        self.asked.append((now, limit))
        return self.found

    def mark_expired(self, s: Any, now: datetime) -> bool:
        assert now == NOW
        self.marked.append(s.upload_id)
        return self.expire_answers.get(s.upload_id, True)

    def mark_aborted(self, s: Any) -> None:
        self.aborted.append(s.upload_id)

    def release_key(self, key: str, upload_id: str) -> None:
        self.released.append((key, upload_id))


@dataclass
class Files:
    failing: set[str] = field(default_factory=set)
    aborts: list[tuple[str, str]] = field(default_factory=list)

    def abort_multipart(self, key: str, s3_upload_id: str) -> None:
        self.aborts.append((key, s3_upload_id))
        if key in self.failing:
            raise StorageError("aborting the upload failed")


@dataclass
class Sweeper:
    failing: set[str] = field(default_factory=set)
    broken: bool = False
    calls: list[list[str]] = field(default_factory=list)

    def delete_many(self, keys: list[str]) -> list[str]:
        self.calls.append(list(keys))
        if self.broken:
            raise StorageError("deleting files failed")
        return [k for k in keys if k in self.failing]


def service(sessions: Sessions, drafts: Any, files: Files, sweeper: Sweeper, **rules: Any):
    return CleanupService(sessions, drafts, files, sweeper, CleanupRules(**rules), lambda: NOW)  # type: ignore[arg-type]


def test_uploads_are_aborted_marked_and_released_and_leased_ones_skipped():
    sessions = Sessions(
        [
            session("a"),
            session("leased", until=NOW + timedelta(seconds=1)),
            session("lease-over", until=NOW),
            session("c", status="cancelled"),
            session("raced"),
        ],
        expire_answers={"raced": False},
    )
    files = Files()
    report = service(sessions, FakeDraftStore(), files, Sweeper(), max_records=7).run()
    assert report == CleanupReport(uploads_aborted=3, uploads_failed=0)
    assert sessions.asked == [(NOW, 7)]
    assert [k for k, _ in files.aborts] == ["k/a", "k/lease-over", "k/c", "k/raced"]
    assert files.aborts[0] == ("k/a", "s3-a")
    assert sessions.marked == ["a", "lease-over", "raced"]
    assert sessions.aborted == ["c"]
    assert sessions.released == [("k/a", "a"), ("k/lease-over", "lease-over")]


def test_a_failed_abort_is_counted_and_the_rest_go_on():
    sessions = Sessions([session("a"), session("b"), session("c")])
    report = service(sessions, FakeDraftStore(), Files(failing={"k/b"}), Sweeper()).run()
    assert (report.uploads_aborted, report.uploads_failed) == (2, 1)
    assert sessions.marked == ["a", "c"]


def test_a_failed_mark_is_counted_as_a_failure():
    class Failing(Sessions):
        def mark_expired(self, s: Any, now: datetime) -> bool:
            raise DatabaseError("marking failed")

    sessions = Failing([session("a")])
    report = service(sessions, FakeDraftStore(), Files(), Sweeper()).run()
    assert (report.uploads_aborted, report.uploads_failed) == (0, 1)
    assert sessions.released == []


def drafts_of(*ages: timedelta, leased: dict[int, datetime] | None = None) -> FakeDraftStore:
    store = FakeDraftStore()
    for number, age in enumerate(ages):
        draft = draft_record(f"dr_{number:04d}", NOW - age)
        if leased and number in leased:
            draft = draft.model_copy(update={"completing_until": leased[number]})
        store.create(draft)
    return store


def test_drafts_are_deleted_in_batches_and_marked_and_leased_ones_skipped():
    old = timedelta(hours=25)
    count = DELETE_BATCH + 2
    store = drafts_of(*[old] * count, leased={0: NOW + timedelta(seconds=1), 1: NOW})
    sweeper = Sweeper()
    report = service(Sessions([]), store, Files(), sweeper, workers=2).run()
    assert [len(c) for c in sweeper.calls] == [DELETE_BATCH, 1]
    assert "drafts/dr_0000" not in sweeper.calls[0] and "drafts/dr_0001" in sweeper.calls[0]
    assert (report.drafts_deleted, report.drafts_failed) == (count - 1, 0)
    assert store.get("dr_0000").status == "pending"
    assert store.get("dr_0001").status == "expired"


def test_keys_s3_kept_are_counted_and_their_drafts_left_pending():
    store = drafts_of(*[timedelta(hours=25)] * 3)
    sweeper = Sweeper(failing={"drafts/dr_0001"})
    report = service(Sessions([]), store, Files(), sweeper).run()
    assert (report.drafts_deleted, report.drafts_failed) == (2, 1)
    assert [store.get(f"dr_{n:04d}").status for n in range(3)] == ["expired", "pending", "expired"]


def test_a_failed_delete_call_leaves_every_draft_of_the_batch():
    store = drafts_of(*[timedelta(hours=25)] * 2)
    report = service(Sessions([]), store, Files(), Sweeper(broken=True)).run()
    assert (report.drafts_deleted, report.drafts_failed) == (0, 2)
    assert {d.status for d in store.drafts.values()} == {"pending"}


def test_a_draft_marked_by_someone_else_meanwhile_is_not_counted():
    store = drafts_of(timedelta(hours=25), timedelta(hours=25))

    real = store.mark_expired
    store.mark_expired = lambda d, now: d.draft_id != "dr_0000" and real(d, now)  # type: ignore[method-assign]
    report = service(Sessions([]), store, Files(), Sweeper()).run()
    assert (report.drafts_deleted, report.drafts_failed) == (1, 0)


def test_the_draft_query_is_bounded_by_max_records():
    store = drafts_of(*[timedelta(hours=25 + n) for n in range(5)])
    report = service(Sessions([]), store, Files(), Sweeper(), max_records=3).run()
    assert report.drafts_deleted == 3
    # the oldest three
    assert sorted(d.draft_id for d in store.drafts.values() if d.status == "expired") == [
        "dr_0002",
        "dr_0003",
        "dr_0004",
    ]


def test_nothing_to_do_is_all_zeros_and_no_calls():
    sweeper, files = Sweeper(), Files()
    report = service(Sessions([]), FakeDraftStore(), files, sweeper).run()
    assert report == CleanupReport() and sweeper.calls == [] and files.aborts == []
    assert CleanupRules() == CleanupRules(max_records=10_000, workers=8)


def test_failures_add_up_across_uploads_and_batches():
    sessions = Sessions([session("a"), session("b"), session("c")])
    files = Files(failing={"k/a", "k/c"})
    count = DELETE_BATCH + 1
    store = drafts_of(*[timedelta(hours=25)] * count)
    sweeper = Sweeper(failing={"drafts/dr_0000", f"drafts/dr_{count - 1:04d}"})
    report = service(sessions, store, files, sweeper).run()
    assert (report.uploads_aborted, report.uploads_failed) == (1, 2)
    assert (report.drafts_deleted, report.drafts_failed) == (count - 2, 2)
