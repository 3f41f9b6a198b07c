"""A draft as it is stored, and the rules about its state.

A draft is pending from its creation until it is confirmed (copied into the files
bucket), discarded, or expired (past its lifetime, whatever the cleanup has done).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from stowage.models.identity import Owner

DraftState = Literal["pending", "confirmed", "discarded", "expired"]


class Draft(BaseModel):
    model_config = ConfigDict(frozen=True)

    draft_id: str
    client_id: str
    key_prefix: str
    role: str
    user_id: str
    file_name: str
    content_type: str
    size: int
    overwrite: bool = False
    object_key: str
    """Where the client POSTs the bytes, in the drafts bucket."""
    status: DraftState
    created_at: datetime
    updated_at: datetime
    expires_at: datetime
    completing_until: datetime | None = None
    """The confirm lease: while it runs, other confirms wait for its answer."""
    key: str | None = None
    """The file's key in the files bucket, once confirmed."""
    etag: str | None = None
    sha256: str | None = None
    app: str | None = None
    iteration: int | None = None
    deduplicated: bool = False

    @property
    def owner(self) -> Owner:
        return Owner(
            client_id=self.client_id,
            key_prefix=self.key_prefix,
            role=self.role,
            user_id=self.user_id,
        )

    def status_at(self, now: datetime) -> DraftState:
        """A pending draft past its lifetime is expired, whether or not the cleanup ran."""
        if self.status == "pending" and self.expires_at <= now:
            return "expired"
        return self.status
