"""The upload life cycle's states and leases, with stores that record what they are
asked: what each refusal says, which key and session every call names, the duplicate
backup that completes onto its twin, and a lease held by someone else."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from stowage.domain.catalog import Catalog, CatalogRules
from stowage.domain.uploads import UploadRules, UploadService
from stowage.domain.waiting import Patience
from stowage.errors import (
    UploadCancelledError,
    UploadCompletedError,
    UploadCompletingError,
    UploadExpiredError,
    UploadNotFoundError,
)
from stowage.models.identity import Caller
from stowage.models.uploads import InitUploadRequest, SignPartsRequest
from tests.support.fakes import FakeIndexStore, FakeObjectStore, FakeSessionStore

ALICE = Caller(client_id="alice", role="user", key_prefix="t", max_file_size=1 << 30)
T0 = datetime(2026, 1, 12, 10, 30, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


class Recording:
    """Wraps a fake store and records every call with its arguments."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.calls = inner, []

    def __getattr__(self, name: str) -> Any:
        target = getattr(self.inner, name)
        if not callable(target):
            return target

        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls.append((name, *args))
            return target(*args, **kwargs)

        return call

    def named(self, name: str) -> list[tuple[Any, ...]]:
        return [c[1:] for c in self.calls if c[0] == name]


@pytest.fixture
def world() -> tuple[UploadService, Recording, Recording, Clock]:
    sessions, storage, clock = Recording(FakeSessionStore()), Recording(FakeObjectStore()), Clock()
    rules = UploadRules(
        part_url_ttl=3600,
        default_part_size=5 << 20,
        max_file_size=1 << 30,
        session_idle=timedelta(days=7),
        record_retention=timedelta(days=30),
        patience=Patience(wait=0.2, poll=0.01),
    )
    catalog = Catalog(FakeIndexStore(), storage, CatalogRules())  # type: ignore[arg-type]
    service = UploadService(sessions, storage, rules, catalog, clock=clock)  # type: ignore[arg-type]
    return service, sessions, storage, clock


def start(service: UploadService, **body: Any) -> str:
    request = InitUploadRequest.model_validate({"file_name": "a.bin", "size": 3} | body)
    return service.init_upload(ALICE, request).upload_id


def uploaded(service: UploadService, storage: Recording, **body: Any) -> str:
    upload_id = start(service, **body)
    storage.inner.put_part(service.sessions.get(upload_id).s3_upload_id, 1, b"abc")
    return upload_id


def refusal(error: type[Exception], call: Any, *args: Any) -> str:
    with pytest.raises(error) as raised:
        call(*args)
    return str(raised.value)


SIGN = SignPartsRequest(part_numbers=[1])


def test_each_ended_state_says_so(world):
    service, _, storage, clock = world
    done = uploaded(service, storage)
    service.complete_upload(ALICE, done, None)
    cancelled = start(service)
    service.cancel_upload(ALICE, cancelled)
    stale = start(service)
    clock.now += timedelta(days=8)
    assert refusal(UploadCompletedError, service.sign_parts, ALICE, done, SIGN) == (
        "the upload is already completed"
    )
    assert refusal(UploadCancelledError, service.sign_parts, ALICE, cancelled, SIGN) == (
        "the upload was cancelled"
    )
    assert refusal(UploadExpiredError, service.sign_parts, ALICE, stale, SIGN) == (
        "the upload expired; start a new one"
    )
    assert refusal(UploadCompletedError, service.cancel_upload, ALICE, done) == (
        "the upload is already completed"
    )


def test_a_malformed_id_is_not_looked_up_and_an_unknown_one_is_named(world):
    service, sessions, _, _ = world
    assert refusal(UploadNotFoundError, service.get_status, ALICE, "../x") == "no upload '../x'"
    assert sessions.named("get") == []
    unknown = "up_" + "A" * 24
    assert refusal(UploadNotFoundError, service.get_status, ALICE, unknown) == (
        f"no upload {unknown!r}"
    )
    assert sessions.named("get") == [(unknown,)]


def test_cancel_aborts_and_releases_the_sessions_own_key(world):
    service, sessions, storage, _ = world
    upload_id = start(service)
    session = sessions.inner.get(upload_id)
    service.cancel_upload(ALICE, upload_id)
    assert storage.named("abort_multipart") == [(session.key, session.s3_upload_id)]
    assert [s.upload_id for (s,) in sessions.named("mark_aborted")] == [upload_id]
    assert sessions.named("release_key") == [(session.key, upload_id)]


def test_cancel_during_a_completion_is_refused(world):
    service, sessions, _, clock = world
    upload_id = start(service)
    session = sessions.inner.get(upload_id)
    assert sessions.inner.claim_completion(session, clock.now, clock.now + timedelta(minutes=1))
    assert refusal(UploadCompletedError, service.cancel_upload, ALICE, upload_id) == (
        "the upload is completed or being completed"
    )
    assert sessions.inner.get(upload_id).status == "initiated"


def test_a_complete_waits_for_anothers_lease_then_says_retry(world):
    service, sessions, storage, clock = world
    upload_id = uploaded(service, storage)
    session = sessions.inner.get(upload_id)
    assert sessions.inner.claim_completion(session, clock.now, clock.now + timedelta(minutes=1))
    assert refusal(UploadCompletingError, service.complete_upload, ALICE, upload_id, None) == (
        "the upload is being completed; retry shortly"
    )
    assert storage.named("complete_multipart") == []


def test_complete_names_the_sessions_key_and_records_the_etag_and_time(world):
    service, sessions, storage, clock = world
    upload_id = uploaded(service, storage)
    session = sessions.inner.get(upload_id)
    clock.now += timedelta(minutes=5)
    answer = service.complete_upload(ALICE, upload_id, None)
    assert storage.named("list_parts") == [(session.key, session.s3_upload_id)]
    ((key, s3_id, parts),) = storage.named("complete_multipart")
    assert (key, s3_id, [p.part_number for p in parts]) == (session.key, session.s3_upload_id, [1])
    etag = storage.inner.head(session.key).etag
    assert answer.etag == etag and answer.key == session.key and not answer.deduplicated
    done = sessions.inner.get(upload_id)
    assert (done.status, done.etag, done.updated_at) == ("completed", etag, clock.now)


def test_a_completion_found_done_in_storage_is_recorded_with_its_etag(world):
    service, sessions, storage, _ = world
    upload_id = uploaded(service, storage)
    session = sessions.inner.get(upload_id)
    storage.inner.complete_multipart(
        session.key,
        session.s3_upload_id,
        storage.inner.list_parts(session.key, session.s3_upload_id),
    )
    answer = service.complete_upload(ALICE, upload_id, None)
    assert answer.etag == storage.inner.head(session.key).etag != ""


def test_a_gone_upload_whose_object_is_not_its_own_has_expired(world):
    service, sessions, storage, _ = world
    gone, other = uploaded(service, storage), uploaded(service, storage)
    session = sessions.inner.get(gone)
    storage.inner.abort_multipart(session.key, session.s3_upload_id)
    message = "the upload no longer exists in storage; start again"
    assert refusal(UploadExpiredError, service.complete_upload, ALICE, gone, None) == message
    # and an object at its key from another upload is not taken for its own
    theirs = sessions.inner.get(other)
    service.complete_upload(ALICE, other, None)
    sessions.inner._replace(session, key=theirs.key)
    assert refusal(UploadExpiredError, service.complete_upload, ALICE, gone, None) == message


def test_a_duplicate_backup_completes_onto_its_twin_and_drops_the_copy(world):
    service, sessions, storage, clock = world
    backup = {"kind": "backup", "app": "notes", "size": 3}
    first = uploaded(service, storage, iteration=1, **backup)
    twin = service.complete_upload(ALICE, first, None).key
    clock.now += timedelta(minutes=1)
    second = uploaded(service, storage, iteration=2, **backup)
    copy = sessions.inner.get(second).key
    answer = service.complete_upload(ALICE, second, None)
    assert (answer.key, answer.deduplicated) == (twin, True)
    assert sessions.inner.get(second).key == twin
    assert storage.named("delete") == [(copy,)]
    assert storage.inner.head(copy) is None and storage.inner.head(twin) is not None
