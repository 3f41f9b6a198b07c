"""The lease: how one caller at a time does a record's one-off work (complete an upload,
confirm a draft, append a tus chunk) while others wait for its answer or are refused.

The pattern, in order: read the record and check its state; if a live lease is on it,
look again later (`Lease.held`); take the lease with a conditional write (`claim`);
do the work and record its outcome under it; on failure give the lease back
(`release`), so a retry need not wait for it to run out. A crash leaves the lease to
run out by itself, and whoever comes next finds either the work undone or done.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from stowage.domain.waiting import Patience, answer_when_free
from stowage.errors import StowageError


class Leased(Protocol):
    @property
    def completing_until(self) -> datetime | None: ...


@dataclass(frozen=True)
class Lease[R: Leased]:
    """One kind of record's lease: how it is taken and given back, and how long it runs."""

    claim: Callable[[R, datetime, datetime], bool]
    """Take the lease until the given time; False if another holds it or the state moved."""
    release: Callable[[R], None]
    duration: timedelta
    patience: Patience

    @staticmethod
    def held(record: R, now: datetime) -> bool:
        """Whether someone holds a lease on the record that has not run out."""
        until = record.completing_until
        return until is not None and until > now

    def hold[T](self, record: R, now: datetime, work: Callable[[], T]) -> T | None:
        """Claim, work, give back on failure. None: another caller took it first."""
        if not self.claim(record, now, now + self.duration):
            return None
        try:
            return work()
        except StowageError:
            self.give_back(record)
            raise

    def give_back(self, record: R) -> None:
        """Release after a failure; if even that fails, the lease runs out by itself."""
        try:
            self.release(record)
        except StowageError:
            return

    def until_answered[T](
        self, attempt: Callable[[], T | None], busy: Callable[[], StowageError]
    ) -> T:
        """Repeat `attempt` (None: someone else holds the lease) until it answers."""
        return answer_when_free(attempt, self.patience, busy)
