"""What upload sessions and drafts share: whose file it is and what it will become."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from stowage.models.identity import Owner


class OwnedRecord(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)

    client_id: str
    key_prefix: str
    role: str
    user_id: str
    file_name: str
    path: str | None = None
    """Set for a file stored by path (under `tree/`); `file_name` is then its last segment."""
    content_type: str
    size: int
    sha256: str | None = None
    created_at: datetime
    updated_at: datetime
    expires_at: datetime
    completing_until: datetime | None = None
    """The completion (confirm) lease: while it runs, other callers wait for its answer."""
    etag: str | None = None
    app: str | None = None
    """Set for a backup, with its iteration."""
    iteration: int | None = None
    deduplicated: bool = False
    """Stored as an earlier identical backup, whose key the record's `key` now is."""

    @property
    def owner(self) -> Owner:
        return Owner(
            client_id=self.client_id,
            key_prefix=self.key_prefix,
            role=self.role,
            user_id=self.user_id,
        )
