"""Checksums through the upload life cycle, against the in-memory stores: the algorithm
fixed at init, part checksums signed into their URLs, the whole file's checked at
completion (a mismatch stores nothing and leaves the upload completable)."""

from __future__ import annotations

import base64
import random
from datetime import timedelta

import pytest

from stowage.domain.checksums import checked_value, header_for, parts_to_sign
from stowage.domain.uploads import UploadService
from stowage.errors import ChecksumMismatchError, InvalidFieldError, MissingFieldError
from stowage.models.uploads import (
    CompleteUploadRequest,
    InitUploadRequest,
    PartChecksum,
    SignPartsRequest,
)
from tests.support.fakes import (
    FakeBadDigest,
    FakeObjectStore,
    FakeSessionStore,
    crc_of,
    upload_service,
)
from tests.unit.test_uploads_domain import ALICE, MIB, Clock

DATA = random.Random(13).randbytes(12 * MIB)  # parts of 5, 5 and 2 MiB


@pytest.fixture
def world() -> tuple[UploadService, FakeSessionStore, FakeObjectStore, Clock]:
    clock = Clock()
    return (*upload_service(clock), clock)


def begin(service, algorithm: str | None = "CRC64NVME", size: int = len(DATA)) -> str:
    request = InitUploadRequest(file_name="data.bin", size=size, checksum_algorithm=algorithm)
    return service.init_upload(ALICE, request).upload_id


def piece(number: int) -> bytes:
    return DATA[(number - 1) * 5 * MIB : number * 5 * MIB]


def send_all(service, storage, upload_id: str, algorithm: str = "CRC64NVME") -> None:
    session = service.sessions.get(upload_id)
    for n in (1, 2, 3):
        storage.put_part(session.s3_upload_id, n, piece(n), crc_of(algorithm, piece(n)))


@pytest.mark.parametrize("algorithm", ["CRC64NVME", "CRC32C", "CRC32"])
def test_the_algorithm_is_fixed_at_init_and_answered(world, algorithm):
    # Given
    service, sessions, storage, _ = world
    # When
    answer = service.init_upload(
        ALICE, InitUploadRequest(file_name="a.bin", size=1, checksum_algorithm=algorithm)
    )
    # Then: S3's upload is created with it, and the session remembers it
    (upload,) = storage.uploads.values()
    assert upload.algorithm == algorithm == answer.checksum_algorithm
    assert sessions.get(answer.upload_id).checksum_algorithm == algorithm


def test_an_upload_without_an_algorithm_is_created_without_one(world):
    service, _, storage, _ = world
    answer = service.init_upload(ALICE, InitUploadRequest(file_name="a.bin", size=1))
    (upload,) = storage.uploads.values()
    assert upload.algorithm is None and answer.checksum_algorithm is None


def test_signed_parts_carry_the_checksum_header_their_put_must_send(world):
    # Given a CRC64NVME upload
    service, _, storage, _ = world
    upload_id = begin(service)
    wanted = crc_of("CRC64NVME", piece(1))
    # When part 1 is signed with its checksum and part 3 without
    request = SignPartsRequest(
        parts=[PartChecksum(part_number=1, checksum=wanted)], part_numbers=[3]
    )
    signed = {p.part_number: p for p in service.sign_parts(ALICE, upload_id, request).parts}
    # Then part 1's URL signs the header and the answer names it; part 3 has none
    assert signed[1].headers == {"x-amz-checksum-crc64nvme": wanted}
    assert "x-amz-checksum-crc64nvme" in signed[1].url
    assert signed[3].headers == {} and "checksum" not in signed[3].url
    assert sorted(signed) == [1, 3]


def test_signing_with_checksums_is_one_write_and_no_read(world, monkeypatch):
    # Given a CRC64NVME upload whose session store counts its reads
    service, sessions, _, clock = world
    upload_id = begin(service)
    clock.now += timedelta(minutes=5)
    reads: list[str] = []
    real_get = sessions.get
    monkeypatch.setattr(sessions, "get", lambda uid: reads.append(uid) or real_get(uid))
    # When two parts are signed with their checksums
    request = SignPartsRequest(
        parts=[PartChecksum(part_number=n, checksum=crc_of("CRC64NVME", piece(n))) for n in (1, 2)]
    )
    signed = service.sign_parts(ALICE, upload_id, request).parts
    # Then the session was touched (its checks in the write) and never read
    assert [p.part_number for p in signed] == [1, 2]
    assert reads == []
    assert sessions.get(upload_id).updated_at == clock.now


def test_a_checksum_for_an_upload_without_an_algorithm_is_400(world):
    service, _, _, _ = world
    upload_id = begin(service, algorithm=None)
    request = SignPartsRequest(parts=[PartChecksum(part_number=1, checksum="AAAAAAAAAAA=")])
    with pytest.raises(InvalidFieldError) as caught:
        service.sign_parts(ALICE, upload_id, request)
    assert caught.value.field == "parts"
    with pytest.raises(InvalidFieldError) as caught:
        service.complete_upload(ALICE, upload_id, CompleteUploadRequest(checksum="AAAAAAAAAAA="))
    assert caught.value.field == "checksum"


@pytest.mark.parametrize(
    ("algorithm", "value"),
    [
        ("CRC64NVME", "AAAAAA=="),
        ("CRC32", "AAAAAAAAAAA="),
        ("CRC32C", "AA AAA=="),
        ("CRC32", "!!!!"),
    ],
)
def test_a_checksum_of_the_wrong_size_or_not_base64_is_400(algorithm, value):
    with pytest.raises(InvalidFieldError):
        checked_value(algorithm, value, "checksum")


def test_a_sign_request_needs_numbers_or_parts_and_one_checksum_a_part():
    with pytest.raises(MissingFieldError):
        parts_to_sign(None, None, "CRC32")
    with pytest.raises(InvalidFieldError):
        parts_to_sign(None, [(1, "AAAAAA=="), (1, "AAAAAQ==")], "CRC32")
    assert parts_to_sign([1, 2], [(2, "AAAAAQ==")], "CRC32") == {1: None, 2: "AAAAAQ=="}
    assert header_for("CRC32C") == "x-amz-checksum-crc32c"


def test_a_part_whose_body_differs_from_its_checksum_is_refused_by_the_fake_s3(world):
    # (the fake behaves as S3 does with a signed checksum header; e2e proves the real one)
    service, _, storage, _ = world
    upload_id = begin(service)
    session = service.sessions.get(upload_id)
    with pytest.raises(FakeBadDigest):
        storage.put_part(session.s3_upload_id, 1, piece(2), crc_of("CRC64NVME", piece(1)))


def test_status_lists_the_part_checksums_s3_holds(world):
    service, _, storage, _ = world
    upload_id = begin(service)
    send_all(service, storage, upload_id)
    status = service.get_status(ALICE, upload_id)
    assert [p.checksum for p in status.parts] == [crc_of("CRC64NVME", piece(n)) for n in (1, 2, 3)]
    assert status.checksum_algorithm == "CRC64NVME"


def test_a_wrong_whole_file_checksum_stores_nothing_and_the_right_one_completes(world):
    # Given every part uploaded
    service, _, storage, _ = world
    upload_id = begin(service)
    send_all(service, storage, upload_id)
    wrong = crc_of("CRC64NVME", DATA[:-1] + b"\x00")
    # When complete is asked with the checksum of other bytes
    with pytest.raises(ChecksumMismatchError):
        service.complete_upload(ALICE, upload_id, CompleteUploadRequest(checksum=wrong))
    # Then nothing is stored and the upload is still open, with no lease left behind
    assert storage.objects == {}
    assert service.get_status(ALICE, upload_id).status == "initiated"
    assert service.sessions.get(upload_id).completing_until is None
    # And the right checksum completes it; the file's checksum is the whole file's
    right = crc_of("CRC64NVME", DATA)
    done = service.complete_upload(ALICE, upload_id, CompleteUploadRequest(checksum=right))
    assert done.status == "completed"
    assert storage.checksums[done.key].value == right
    assert storage.objects[done.key][0] == DATA


def test_an_upload_without_checksums_still_completes(world):
    service, _, storage, _ = world
    upload_id = begin(service, algorithm=None)
    session = service.sessions.get(upload_id)
    for n in (1, 2, 3):
        storage.put_part(session.s3_upload_id, n, piece(n))
    done = service.complete_upload(ALICE, upload_id, None)
    assert storage.objects[done.key][0] == DATA and done.key not in storage.checksums
    assert [p.checksum for p in service.get_status(ALICE, upload_id).parts] == []


def test_crc_values_are_base64_of_the_digest_size():
    # The fake's CRCs are what S3 computes: a known vector of CRC32 ("123456789" → CBF43926)
    assert base64.b64decode(crc_of("CRC32", b"123456789")).hex() == "cbf43926"
    assert base64.b64decode(crc_of("CRC32C", b"123456789")).hex() == "e3069283"
    assert base64.b64decode(crc_of("CRC64NVME", b"123456789")).hex() == "ae8b14860a799888"
