"""A complete whose recording in the user's catalog fails: the caller is told (502), the
session is not marked completed, and a retry records the file where `latest` and the
backup list find it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from stowage.domain.catalog import Catalog, CatalogRules
from stowage.domain.uploads import UploadRules, UploadService
from stowage.domain.waiting import Patience
from stowage.errors import DatabaseError
from stowage.models.identity import Caller, Owner
from stowage.models.uploads import InitUploadRequest
from tests.support.fakes import FakeIndexStore, FakeObjectStore, FakeSessionStore

ALICE = Caller(client_id="alice", role="user", key_prefix="tenant-a", max_file_size=1 << 30)
OWNER = Owner(client_id="alice", key_prefix="tenant-a", role="user", user_id="alice")
NOW = datetime(2026, 1, 12, 10, 30, tzinfo=UTC)


class FlakyIndex(FakeIndexStore):
    """Fails the next `failures` appends, as a throttled UpdateItem would."""

    def __init__(self) -> None:
        super().__init__()
        self.failures = 0

    def append(self, owner, entry, bounds):  # type: ignore[no-untyped-def]
        if self.failures:
            self.failures -= 1
            raise DatabaseError("recording the file failed (ProvisionedThroughputExceeded)")
        return super().append(owner, entry, bounds)


@pytest.fixture
def world() -> tuple[UploadService, FakeSessionStore, FakeObjectStore, FlakyIndex]:
    sessions, storage, index = FakeSessionStore(), FakeObjectStore(), FlakyIndex()
    rules = UploadRules(
        part_url_ttl=3600,
        default_part_size=5 << 20,
        max_file_size=1 << 30,
        session_idle=timedelta(days=7),
        record_retention=timedelta(days=30),
        patience=Patience(wait=0.5, poll=0.01),
    )
    catalog = Catalog(index, storage, CatalogRules())
    return (
        UploadService(sessions, storage, rules, catalog, clock=lambda: NOW),
        sessions,
        storage,
        index,
    )


def uploaded(service: UploadService, storage: FakeObjectStore, **body: object) -> str:
    request = InitUploadRequest.model_validate({"file_name": "a.bin", "size": 3} | body)
    upload_id = service.init_upload(ALICE, request).upload_id
    session = service.sessions.get(upload_id)
    assert session is not None
    storage.put_part(session.s3_upload_id, 1, b"abc")
    return upload_id


@pytest.mark.parametrize(
    "body",
    [{}, {"kind": "backup", "app": "notes", "iteration": 1}],
    ids=["file", "backup"],
)
def test_a_failed_recording_fails_the_complete_and_a_retry_records_it(world, body):
    service, sessions, storage, index = world
    upload_id = uploaded(service, storage, **body)
    key = sessions.get(upload_id).key
    # Given the catalog's write fails this once
    index.failures = 1
    # When the complete runs, Then the caller is told to retry
    with pytest.raises(DatabaseError):
        service.complete_upload(ALICE, upload_id, None)
    # and the session is not completed nor left leased
    session = sessions.get(upload_id)
    assert session.status != "completed"
    assert session.completing_until is None or session.completing_until <= NOW
    assert index.load(OWNER).recent == []
    # When retried, Then it completes and the catalog holds the file
    assert service.complete_upload(ALICE, upload_id, None).status == "completed"
    assert service.catalog.latest(OWNER, None, None).key == key
    if body:
        assert [b.key for b in service.catalog.backups(OWNER, "notes")] == [key]
