"""The one lease pattern behind complete, confirm and tus appends."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from stowage.domain.lease import Lease
from stowage.domain.waiting import Patience
from stowage.errors import StorageError, UploadCompletingError

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class Record:
    completing_until: datetime | None = None


@dataclass
class Ledger:
    free: bool = True
    claims: list[datetime] = field(default_factory=list)
    releases: int = 0

    def claim(self, record: Record, now: datetime, until: datetime) -> bool:
        self.claims.append(until)
        return self.free

    def release(self, record: Record) -> None:
        self.releases += 1


def lease_of(ledger: Ledger) -> Lease[Record]:
    return Lease(ledger.claim, ledger.release, timedelta(seconds=30), Patience(0.05, 0.01))


def test_the_work_runs_under_a_claim_of_the_lease_duration():
    # Given a free record
    ledger = Ledger()
    # When the work is held under the lease
    answer = lease_of(ledger).hold(Record(), NOW, lambda: "done")
    # Then the lease was claimed for its duration and not given back
    assert answer == "done"
    assert ledger.claims == [NOW + timedelta(seconds=30)]
    assert ledger.releases == 0


def test_a_lease_someone_else_took_answers_none_without_working():
    ledger, ran = Ledger(free=False), []
    assert lease_of(ledger).hold(Record(), NOW, lambda: ran.append(1)) is None
    assert ran == []


def test_a_failed_work_gives_the_lease_back_and_raises():
    ledger = Ledger()

    def fail() -> str:
        raise StorageError("S3 is down")

    with pytest.raises(StorageError):
        lease_of(ledger).hold(Record(), NOW, fail)
    assert ledger.releases == 1


@pytest.mark.parametrize(
    ("until", "held"),
    [(None, False), (NOW - timedelta(seconds=1), False), (NOW, False), (NOW + timedelta(1), True)],
)
def test_only_a_lease_that_has_not_run_out_is_held(until, held):
    assert Lease.held(Record(until), NOW) is held


def test_waiting_ends_with_the_busy_error_when_no_answer_comes():
    with pytest.raises(UploadCompletingError):
        lease_of(Ledger()).until_answered(lambda: None, lambda: UploadCompletingError("busy"))
