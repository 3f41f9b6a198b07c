"""An upload session as it is stored, and the rules about its state."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from stowage.domain.parts import PartPlan
from stowage.models.identity import Owner

StoredStatus = Literal["initiated", "in_progress", "completed", "cancelled", "expired"]
ACTIVE: frozenset[str] = frozenset({"initiated", "in_progress"})


class UploadSession(BaseModel):
    model_config = ConfigDict(frozen=True)

    upload_id: str
    client_id: str
    key_prefix: str
    role: str
    user_id: str
    key: str
    file_name: str
    content_type: str
    size: int
    part_size: int
    part_count: int
    sha256: str | None = None
    s3_upload_id: str
    status: StoredStatus
    created_at: datetime
    updated_at: datetime
    expires_at: datetime
    completing_until: datetime | None = None
    etag: str | None = None
    app: str | None = None
    iteration: int | None = None
    deduplicated: bool = False
    """Completed as a copy of an earlier identical backup, whose key `key` now is."""

    @property
    def owner(self) -> Owner:
        return Owner(
            client_id=self.client_id,
            key_prefix=self.key_prefix,
            role=self.role,
            user_id=self.user_id,
        )

    @property
    def plan(self) -> PartPlan:
        return PartPlan(size=self.size, part_size=self.part_size, part_count=self.part_count)

    def status_at(self, now: datetime) -> StoredStatus:
        """The status a client sees: an active session past its expiry is expired,
        whether or not the cleanup (or DynamoDB's late TTL) has caught up yet."""
        if self.status in ACTIVE and self.expires_at <= now:
            return "expired"
        return self.status
