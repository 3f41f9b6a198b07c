"""The upload life cycle against in-memory stores: states, checks and races."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from stowage.domain.uploads import UploadService
from stowage.errors import (
    FileTooLargeError,
    ForbiddenError,
    InvalidFieldError,
    SizeMismatchError,
    StorageError,
    UploadCancelledError,
    UploadCompletedError,
    UploadExpiredError,
    UploadIncompleteError,
    UploadNotFoundError,
)
from stowage.models.identity import Caller
from stowage.models.uploads import (
    CompletedPart,
    CompleteUploadRequest,
    InitUploadRequest,
    SignPartsRequest,
)
from tests.support.fakes import FakeObjectStore, FakeSessionStore, upload_service

MIB = 1024 * 1024
ALICE = Caller(client_id="alice", role="user", key_prefix="tenant-a", max_file_size=100 * MIB)
BOB = Caller(client_id="bob", role="user", key_prefix="tenant-b", max_file_size=100 * MIB)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 12, 10, 30, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def world() -> tuple[UploadService, FakeSessionStore, FakeObjectStore, Clock]:
    clock = Clock()
    return (*upload_service(clock), clock)


def start(service: UploadService, size: int = 12 * MIB, name: str = "report.pdf") -> str:
    return service.init_upload(ALICE, InitUploadRequest(file_name=name, size=size)).upload_id


def upload_all(service: UploadService, storage: FakeObjectStore, upload_id: str) -> None:
    session = service.sessions.get(upload_id)
    assert session is not None
    for n in range(1, session.part_count + 1):
        storage.put_part(session.s3_upload_id, n, b"x" * session.plan.size_of(n))


def test_init_builds_the_key_and_plan_and_tags_the_object(world):
    # Given
    service, _, storage, _ = world
    # When
    answer = service.init_upload(ALICE, InitUploadRequest(file_name="report.pdf", size=12 * MIB))
    # Then
    assert answer.key == "tenant-a/user/alice/20260112/document/report.pdf"
    assert (answer.part_size, answer.part_count, answer.status) == (5 * MIB, 3, "initiated")
    assert answer.expires_at == datetime(2026, 1, 19, 10, 30, tzinfo=UTC)
    (upload,) = storage.uploads.values()
    assert upload.new.metadata["client"] == "alice"
    assert upload.new.metadata["upload"] == answer.upload_id


def test_init_over_the_clients_limit_is_413(world):
    service = world[0]
    with pytest.raises(FileTooLargeError):
        service.init_upload(ALICE, InitUploadRequest(file_name="a.bin", size=100 * MIB + 1))


def test_naming_another_user_without_act_as_is_forbidden(world):
    service = world[0]
    with pytest.raises(ForbiddenError):
        service.init_upload(ALICE, InitUploadRequest(file_name="a.bin", size=1, user_id="bob"))


def test_a_taken_name_gets_a_variant_unless_overwrite(world):
    # Given an upload of report.pdf that is under way
    service = world[0]
    first = service.init_upload(ALICE, InitUploadRequest(file_name="report.pdf", size=1))
    # When two more start with the same name, one asking to overwrite
    second = service.init_upload(ALICE, InitUploadRequest(file_name="report.pdf", size=1))
    forced = service.init_upload(
        ALICE, InitUploadRequest(file_name="report.pdf", size=1, overwrite=True)
    )
    # Then
    assert second.key == first.key.replace("report.pdf", "report (1).pdf")
    assert forced.key == first.key


def test_sign_parts_checks_range_and_moves_to_in_progress(world):
    # Given
    service, sessions, _, _ = world
    upload_id = start(service)
    # When / Then
    with pytest.raises(InvalidFieldError) as bad:
        service.sign_parts(ALICE, upload_id, SignPartsRequest(part_numbers=[1, 4]))
    assert bad.value.field == "part_numbers"
    signed = service.sign_parts(ALICE, upload_id, SignPartsRequest(part_numbers=[3, 1, 1]))
    assert [(p.part_number, p.size) for p in signed.parts] == [(1, 5 * MIB), (3, 2 * MIB)]
    assert sessions.sessions[upload_id].status == "in_progress"


def test_status_reports_what_storage_holds(world):
    # Given two of three parts uploaded
    service, _, storage, _ = world
    upload_id = start(service)
    s3_id = service.sessions.get(upload_id).s3_upload_id
    storage.put_part(s3_id, 1, b"a" * 5 * MIB)
    storage.put_part(s3_id, 3, b"c" * 2 * MIB)
    # When
    status = service.get_status(ALICE, upload_id)
    # Then
    assert [p.part_number for p in status.parts] == [1, 3]
    assert (status.parts_uploaded, status.bytes_uploaded) == (2, 7 * MIB)


def test_complete_refuses_missing_and_wrong_sized_parts(world):
    # Given part 2 missing
    service, _, storage, _ = world
    upload_id = start(service)
    s3_id = service.sessions.get(upload_id).s3_upload_id
    storage.put_part(s3_id, 1, b"a" * 5 * MIB)
    storage.put_part(s3_id, 3, b"c" * 2 * MIB)
    # When / Then
    with pytest.raises(UploadIncompleteError) as incomplete:
        service.complete_upload(ALICE, upload_id, None)
    assert incomplete.value.missing == [2]
    storage.put_part(s3_id, 2, b"b" * (5 * MIB - 1))
    with pytest.raises(SizeMismatchError) as mismatch:
        service.complete_upload(ALICE, upload_id, None)
    assert mismatch.value.missing == [2]
    assert "complete_multipart" not in storage.calls


def test_complete_cross_checks_given_etags(world):
    service, _, storage, _ = world
    upload_id = start(service, size=1)
    upload_all(service, storage, upload_id)
    wrong = CompleteUploadRequest(parts=[CompletedPart(part_number=1, etag='"nope"')])
    with pytest.raises(UploadIncompleteError) as differ:
        service.complete_upload(ALICE, upload_id, wrong)
    assert differ.value.missing == [1]


def test_complete_then_complete_again_gives_the_same_answer(world):
    # Given
    service, _, storage, _ = world
    upload_id = start(service)
    upload_all(service, storage, upload_id)
    # When
    first = service.complete_upload(ALICE, upload_id, None)
    again = service.complete_upload(ALICE, upload_id, CompleteUploadRequest())
    # Then
    assert first == again
    assert first.size == 12 * MIB and first.status == "completed"
    assert len(storage.objects[first.key][0]) == 12 * MIB
    assert storage.calls["complete_multipart"] == 1


def test_concurrent_completes_complete_once(world):
    # Given
    service, _, storage, _ = world
    upload_id = start(service)
    upload_all(service, storage, upload_id)
    answers: list[object] = []
    # When eight callers race
    threads = [
        threading.Thread(
            target=lambda: answers.append(service.complete_upload(ALICE, upload_id, None))
        )
        for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Then
    assert len(answers) == 8 and all(a == answers[0] for a in answers)
    assert storage.calls["complete_multipart"] == 1


def test_a_completion_that_was_not_recorded_is_recovered(world):
    # Given S3 completed the upload but the session was never marked (a crash)
    service, sessions, storage, _ = world
    upload_id = start(service, size=1)
    upload_all(service, storage, upload_id)
    session = sessions.get(upload_id)
    storage.complete_multipart(
        session.key, session.s3_upload_id, storage.list_parts("", session.s3_upload_id)
    )
    # When
    answer = service.complete_upload(ALICE, upload_id, None)
    # Then
    assert answer.status == "completed" and sessions.get(upload_id).status == "completed"


def test_a_failed_completion_can_be_retried_at_once(world):
    # Given S3 fails the first CompleteMultipartUpload
    service, _, storage, _ = world
    upload_id = start(service, size=1)
    upload_all(service, storage, upload_id)
    real = storage.complete_multipart

    def failing(*args: object) -> str:
        storage.complete_multipart = real
        raise StorageError("boom")

    storage.complete_multipart = failing
    # When / Then
    with pytest.raises(StorageError):
        service.complete_upload(ALICE, upload_id, None)
    assert service.complete_upload(ALICE, upload_id, None).status == "completed"


def test_cancel_aborts_and_blocks_every_later_step(world):
    # Given
    service, _, storage, _ = world
    upload_id = start(service)
    # When
    assert service.cancel_upload(ALICE, upload_id).status == "cancelled"
    # Then
    assert storage.uploads == {}
    assert service.cancel_upload(ALICE, upload_id).status == "cancelled"
    with pytest.raises(UploadCancelledError):
        service.sign_parts(ALICE, upload_id, SignPartsRequest(part_numbers=[1]))
    with pytest.raises(UploadCancelledError):
        service.complete_upload(ALICE, upload_id, None)
    assert service.get_status(ALICE, upload_id).status == "cancelled"


def test_cancel_after_complete_is_409(world):
    service, _, storage, _ = world
    upload_id = start(service, size=1)
    upload_all(service, storage, upload_id)
    service.complete_upload(ALICE, upload_id, None)
    with pytest.raises(UploadCompletedError):
        service.cancel_upload(ALICE, upload_id)


def test_an_idle_upload_expires_even_before_the_cleanup_runs(world):
    # Given an upload left alone past its idle lifetime
    service, _, _, clock = world
    upload_id = start(service)
    clock.now += timedelta(days=7, seconds=1)
    # When / Then
    assert service.get_status(ALICE, upload_id).status == "expired"
    with pytest.raises(UploadExpiredError):
        service.sign_parts(ALICE, upload_id, SignPartsRequest(part_numbers=[1]))
    assert [u.status for u in service.list_uploads(ALICE, "expired", 10, None).uploads] == [
        "expired"
    ]


def test_signing_parts_pushes_the_idle_expiry(world):
    service, _, _, clock = world
    upload_id = start(service)
    clock.now += timedelta(days=6)
    service.sign_parts(ALICE, upload_id, SignPartsRequest(part_numbers=[1]))
    clock.now += timedelta(days=6)
    assert service.get_status(ALICE, upload_id).status == "in_progress"


def test_other_clients_see_nothing(world):
    # Given alice's upload
    service = world[0]
    upload_id = start(service)
    # When / Then bob gets 404 for every step, and the upload is untouched
    for step in (
        lambda: service.get_status(BOB, upload_id),
        lambda: service.sign_parts(BOB, upload_id, SignPartsRequest(part_numbers=[1])),
        lambda: service.complete_upload(BOB, upload_id, None),
        lambda: service.cancel_upload(BOB, upload_id),
    ):
        with pytest.raises(UploadNotFoundError):
            step()
    assert service.get_status(ALICE, upload_id).status == "initiated"
    assert service.list_uploads(BOB, None, 10, None).uploads == []


def test_malformed_upload_ids_are_not_found(world):
    with pytest.raises(UploadNotFoundError):
        world[0].get_status(ALICE, "../../etc/passwd")
