"""tus 1.0 uploads: how far one is, what a creation asks for, what HEAD answers.

tus speaks in headers, not JSON bodies, so these are plain values the handler reads
from and writes to headers; errors still carry the contract's JSON body.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = ("creation", "creation-with-upload", "termination", "expiration")
CHUNK_TYPE = "application/offset+octet-stream"


class TusProgress(BaseModel):
    """What a tus upload holds so far: `offset` bytes, of which `part_bytes` are in
    `parts` S3 parts and the rest (the tail, under 5 MiB) in an incomplete-part object."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    offset: int = 0
    parts: int = 0
    part_bytes: int = 0
    metadata: str | None = None
    """`Upload-Metadata` as the creation sent it, echoed by HEAD."""

    @property
    def tail_size(self) -> int:
        return self.offset - self.part_bytes


class TusCreation(BaseModel):
    """A creation's headers, read: `Upload-Length` and the `Upload-Metadata` fields."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    length: int
    file_name: str
    content_type: str | None
    metadata: str | None


class TusState(BaseModel):
    """What HEAD answers."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    offset: int
    length: int
    expires_at: datetime | None
    metadata: str | None
