"""Reading stored files: only the caller's own, and otherwise as if they did not exist."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from stowage.domain.clock import utc_now
from stowage.domain.identity import key_is_visible
from stowage.domain.keys import content_disposition, decode_name
from stowage.domain.ports import ObjectInfo, ObjectStore
from stowage.domain.stored import META_CLIENT, META_NAME
from stowage.errors import StoredFileNotFoundError
from stowage.models.files import DownloadLinkResponse
from stowage.models.identity import Caller


@dataclass(frozen=True)
class FileRules:
    url_ttl: int


class FileService:
    def __init__(
        self, storage: ObjectStore, rules: FileRules, clock: Callable[[], datetime] = utc_now
    ) -> None:
        self.storage = storage
        self.rules = rules
        self.clock = clock

    def find_own(self, caller: Caller, key: str) -> ObjectInfo:
        """The object at `key` if the caller owns it; 404 for missing and foreign keys alike."""
        info = self.storage.head(key) if key_is_visible(caller, key) else None
        if info is None or info.metadata.get(META_CLIENT) != caller.client_id:
            raise StoredFileNotFoundError("no such file")
        return info

    def download_link(self, caller: Caller, key: str) -> DownloadLinkResponse:
        """A presigned GET that saves under the file's original name."""
        info = self.find_own(caller, key)
        name = info.metadata.get(META_NAME)
        ttl = self.rules.url_ttl
        disposition = content_disposition(decode_name(name)) if name else None
        url = self.storage.presign_get(key, ttl, disposition)
        return DownloadLinkResponse(url=url, expires_at=self.clock() + timedelta(seconds=ttl))
