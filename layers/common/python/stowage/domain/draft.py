"""A draft as it is stored, and the rules about its state.

A draft is pending from its creation until it is confirmed (copied into the files
bucket), discarded, or expired (past its lifetime, whatever the cleanup has done).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from stowage.domain.owned import OwnedRecord

DraftState = Literal["pending", "confirmed", "discarded", "expired"]


class Draft(OwnedRecord):
    draft_id: str
    overwrite: bool = False
    object_key: str
    """Where the client POSTs the bytes, in the drafts bucket."""
    status: DraftState
    key: str | None = None
    """The file's key in the files bucket, once confirmed."""

    def status_at(self, now: datetime) -> DraftState:
        """A pending draft past its lifetime is expired, whether or not the cleanup ran."""
        if self.status == "pending" and self.expires_at <= now:
            return "expired"
        return self.status
