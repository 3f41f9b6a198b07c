"""An upload session as it is stored, and the rules about its state."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from stowage.domain.owned import OwnedRecord
from stowage.domain.parts import PartPlan

StoredStatus = Literal["initiated", "in_progress", "completed", "cancelled", "expired"]
ACTIVE: frozenset[str] = frozenset({"initiated", "in_progress"})


class UploadSession(OwnedRecord):
    upload_id: str
    key: str
    part_size: int
    part_count: int
    s3_upload_id: str
    status: StoredStatus
    size_limit: int | None = None
    """Set for an upload of unknown size (a browser's, through Uppy): the most it may
    hold. Until it completes, `size` is 0 and any part 1..10,000 may be signed."""

    @property
    def plan(self) -> PartPlan:
        return PartPlan(size=self.size, part_size=self.part_size, part_count=self.part_count)

    def status_at(self, now: datetime) -> StoredStatus:
        """The status a client sees: an active session past its expiry is expired,
        whether or not the cleanup (or DynamoDB's late TTL) has caught up yet."""
        if self.status in ACTIVE and self.expires_at <= now:
            return "expired"
        return self.status
