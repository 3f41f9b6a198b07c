"""tus appends against moto: tails folded into parts, what termination, completion and
the cleanup leave, and a crash between the S3 write and the offset's."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from stowage.domain.tus import TusService
from stowage.errors import DatabaseError
from stowage.models.identity import Caller
from stowage.models.tus import TusCreation
from stowage.units import MIB
from stowage.wiring import build_cleanup_service, build_tus_service

NOW = datetime.now(UTC)
DEV = Caller(client_id="dev", role="user", max_file_size=1 << 40)


@pytest.fixture
def drafts_bucket(stack) -> str:
    return next(b.name for b in stack.buckets if b.logical_id == "DraftsBucket")


def tus_at(moment: datetime) -> TusService:
    service = build_tus_service()
    service.clock = service.uploads.clock = lambda: moment
    return service


def new_upload(service: TusService, length: int) -> str:
    creation = TusCreation(length=length, file_name="t.bin", content_type=None, metadata=None)
    return service.create(DEV, creation, None).session.upload_id


def tails(bucket: str, upload_id: str) -> list[str]:
    listed = boto3.client("s3").list_objects_v2(Bucket=bucket, Prefix=f"tus/{upload_id}/")
    return [o["Key"] for o in listed.get("Contents", [])]


def s3_parts(service: TusService, upload_id: str) -> list[int]:
    session = service.uploads.sessions.get(upload_id)
    assert session is not None
    held = service.uploads.storage.list_parts(session.key, session.s3_upload_id) or []
    return [p.size for p in held]


def file_bytes(bucket: str, service: TusService, upload_id: str) -> bytes:
    session = service.uploads.sessions.get(upload_id)
    assert session is not None and session.status == "completed"
    body: Any = boto3.client("s3").get_object(Bucket=bucket, Key=session.key)["Body"]
    return bytes(body.read())


def test_tails_are_folded_into_parts_of_at_least_5_mib(bucket, drafts_bucket):
    # Given a 12 MiB upload and its bytes
    service = tus_at(NOW)
    data = os.urandom(12 * MIB)
    upload_id = new_upload(service, len(data))
    # When 3 MiB come: they wait in a tail, no part yet
    assert service.append(DEV, upload_id, 0, data[: 3 * MIB]).offset == 3 * MIB
    assert (s3_parts(service, upload_id), len(tails(drafts_bucket, upload_id))) == ([], 1)
    # When 3 more come: tail and chunk are one 6 MiB part, and the tail is gone
    service.append(DEV, upload_id, 3 * MIB, data[3 * MIB : 6 * MIB])
    assert (s3_parts(service, upload_id), tails(drafts_bucket, upload_id)) == ([6 * MIB], [])
    # When 4 MiB and then the last 2 MiB come
    service.append(DEV, upload_id, 6 * MIB, data[6 * MIB : 10 * MIB])
    done = service.append(DEV, upload_id, 10 * MIB, data[10 * MIB :])
    # Then the file is complete, whole, and no tail is left
    assert done.offset == len(data)
    assert file_bytes(bucket, service, upload_id) == data
    assert tails(drafts_bucket, upload_id) == []


def test_termination_aborts_the_upload_and_deletes_its_tail(bucket, drafts_bucket):
    service = tus_at(NOW)
    upload_id = new_upload(service, 10 * MIB)
    service.append(DEV, upload_id, 0, b"x" * MIB)
    session = service.uploads.sessions.get(upload_id)
    assert session is not None
    service.terminate(DEV, upload_id)
    assert tails(drafts_bucket, upload_id) == []
    assert service.uploads.storage.list_parts(session.key, session.s3_upload_id) is None
    assert service.uploads.sessions.get(upload_id).status == "cancelled"  # type: ignore[union-attr]


def test_the_cleanup_removes_an_expired_tus_upload_and_its_tail(bucket, drafts_bucket):
    # Given a tus upload with a tail, last touched past the idle time
    old = NOW - timedelta(days=8)
    service = tus_at(old)
    upload_id = new_upload(service, 10 * MIB)
    service.append(DEV, upload_id, 0, b"x" * MIB)
    session = service.uploads.sessions.get(upload_id)
    assert session is not None
    # When the cleanup runs
    cleanup = build_cleanup_service()
    cleanup.clock = lambda: NOW
    report = cleanup.run()
    # Then the multipart upload is aborted, the tail deleted, the session expired
    assert report.uploads_aborted == 1
    assert tails(drafts_bucket, upload_id) == []
    assert service.uploads.storage.list_parts(session.key, session.s3_upload_id) is None
    assert service.uploads.sessions.get(upload_id).status == "expired"  # type: ignore[union-attr]


def test_a_crash_between_the_part_and_the_offset_loses_and_repeats_nothing(bucket, drafts_bucket):
    # Given a 6 MiB upload whose first 3 MiB wait in a tail
    service = tus_at(NOW)
    data = os.urandom(6 * MIB + 10)
    upload_id = new_upload(service, len(data))
    service.append(DEV, upload_id, 0, data[: 3 * MIB])
    # When the next PATCH writes its 6 MiB part but fails to move the offset
    record = service.store.record_append

    def fail(*args: Any) -> bool:
        raise DatabaseError("the offset write failed")

    service.store.record_append = fail  # type: ignore[method-assign]
    with pytest.raises(DatabaseError):
        service.append(DEV, upload_id, 3 * MIB, data[3 * MIB : 6 * MIB])
    service.store.record_append = record  # type: ignore[method-assign]
    # Then the upload is still at 3 MiB, its lease given back, the part written once
    assert service.state(DEV, upload_id).offset == 3 * MIB
    assert s3_parts(service, upload_id) == [6 * MIB]
    # And the client's retry from that offset rewrites the same part, then finishes
    service.append(DEV, upload_id, 3 * MIB, data[3 * MIB : 6 * MIB])
    assert s3_parts(service, upload_id) == [6 * MIB]
    service.append(DEV, upload_id, 6 * MIB, data[6 * MIB :])
    assert file_bytes(bucket, service, upload_id) == data
