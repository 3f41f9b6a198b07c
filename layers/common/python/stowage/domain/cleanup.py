"""The scheduled cleanup: everything that expires is removed, nothing else is touched.

- Upload sessions idle past their expiry: the multipart upload is aborted in S3,
  then the session is marked `expired` and its key reservation released. A cancelled
  session whose own abort failed is aborted too (it stays `cancelled`).
- tus uploads among them: their incomplete parts (tails) are deleted too, before the
  session is marked, so a failed delete is retried by the next run.
- Drafts pending past their lifetime: their objects are deleted, 1,000 keys a
  DeleteObjects call, then their records are marked `expired`.
- Archives past their expiry: the zip and its manifest are deleted (and the multipart
  upload of a build that died is aborted), then the record.
The files bucket's stored files are never deleted here. Whatever fails is counted
and left as it was, so the next run retries it. Objects no record leads to (a
failed delete after a confirm or discard) are left to the drafts bucket's
lifecycle rule.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from itertools import batched
from typing import Protocol

from stowage.domain.archives import ArchiveObjects, ArchiveStore
from stowage.domain.clock import utc_now
from stowage.domain.ports import DraftStore, ObjectStore, ObjectSweeper, SessionStore
from stowage.errors import StowageError


class TailSweeper(Protocol):
    def delete_tails(self, upload_id: str, keep: int | None = None) -> None:
        """Delete a tus upload's incomplete parts (nothing, for another upload)."""
        ...


DELETE_BATCH = 1000
"""S3's most keys per DeleteObjects call."""


@dataclass(frozen=True)
class CleanupRules:
    max_records: int = 10_000
    """Records handled per run and kind; the rest wait for the next run."""
    workers: int = 8


@dataclass
class CleanupReport:
    uploads_aborted: int = 0
    uploads_failed: int = 0
    drafts_deleted: int = 0
    drafts_failed: int = 0
    archives_deleted: int = 0
    archives_failed: int = 0


class CleanupService:
    def __init__(
        self,
        sessions: SessionStore,
        drafts: DraftStore,
        files: ObjectStore,
        draft_objects: ObjectSweeper,
        rules: CleanupRules,
        clock: Callable[[], datetime] = utc_now,
        tails: TailSweeper | None = None,
        archives: tuple[ArchiveStore, ArchiveObjects] | None = None,
    ) -> None:
        self.sessions = sessions
        self.drafts = drafts
        self.files = files
        self.draft_objects = draft_objects
        self.rules = rules
        self.clock = clock
        self.tails = tails
        self.archives = archives

    def run(self) -> CleanupReport:
        now, report = self.clock(), CleanupReport()
        self.expire_uploads(now, report)
        self.expire_drafts(now, report)
        self.expire_archives(now, report)
        return report

    def expire_uploads(self, now: datetime, report: CleanupReport) -> None:
        for session in self.sessions.expired(now, self.rules.max_records):
            if _leased(session.completing_until, now):
                continue  # a completion under way finishes or gives its lease up first
            try:
                self.files.abort_multipart(session.key, session.s3_upload_id)
                if self.tails is not None:
                    self.tails.delete_tails(session.upload_id)
                if session.status == "cancelled":  # a cancel whose own abort failed
                    self.sessions.mark_aborted(session)
                    report.uploads_aborted += 1
                elif self.sessions.mark_expired(session, now):
                    self.sessions.release_key(session.key, session.upload_id)
                    report.uploads_aborted += 1
            except StowageError:
                report.uploads_failed += 1

    def expire_drafts(self, now: datetime, report: CleanupReport) -> None:
        expired = self.drafts.expired(now, self.rules.max_records)
        free = [d for d in expired if not _leased(d.completing_until, now)]
        for batch in batched(free, DELETE_BATCH, strict=False):
            failed = self._delete_objects([d.object_key for d in batch])
            report.drafts_failed += len(failed)
            gone = [d for d in batch if d.object_key not in failed]
            marked = self._each(gone, lambda draft: self.drafts.mark_expired(draft, now))
            report.drafts_deleted += sum(marked)

    def expire_archives(self, now: datetime, report: CleanupReport) -> None:
        if self.archives is None:
            return
        store, objects = self.archives
        for archive in store.expired(now, self.rules.max_records):
            if _leased(archive.completing_until, now):
                continue  # a build under way; its lease runs out within 15 minutes
            try:
                if archive.s3_upload_id and archive.status != "ready":
                    objects.abort_upload(archive.object_key, archive.s3_upload_id)
                keys = [archive.object_key, archive.manifest_key]
                if objects.delete_many(keys) or not store.forget(archive, now):
                    report.archives_failed += 1
                    continue
                report.archives_deleted += 1
            except StowageError:
                report.archives_failed += 1

    def _each[T](self, items: list[T], mark: Callable[[T], bool]) -> list[bool]:
        """One conditional write per record, several at a time: each waits on the network."""
        with ThreadPoolExecutor(self.rules.workers) as pool:
            return list(pool.map(mark, items))

    def _delete_objects(self, keys: list[str]) -> set[str]:
        """Delete in one call; answers the keys that are still there."""
        try:
            return set(self.draft_objects.delete_many(keys))
        except StowageError:
            return set(keys)


def _leased(until: datetime | None, now: datetime) -> bool:
    return until is not None and until > now
