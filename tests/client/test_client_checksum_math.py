"""The CLI's checksum arithmetic, without a stack: combined part CRCs are the file's CRC,
parts are signed with their own checksums in growing batches, and only a full-object
CRC is something a download can be verified against."""

from __future__ import annotations

import base64
import binascii
import hashlib
import random
import threading
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest
from awscrt import checksums

from stowage_client import parts
from stowage_client.checksum import CRCS, digest_slice, whole
from stowage_client.download import Expected
from stowage_client.parts import PartCrcs, PartSigner

MIB = 1024 * 1024


@pytest.mark.parametrize("name", ["CRC64NVME", "CRC32C", "CRC32"])
def test_combined_part_crcs_are_the_crc_of_the_whole_file(name: str):
    # Given a file cut into uneven parts, the last one short
    data = random.Random(5).randbytes(3 * MIB + 12345)
    cuts = [0, MIB, 2 * MIB + 7, 3 * MIB, len(data)]
    crc = CRCS[name]
    parts = [(crc.update(data[a:b], 0), b - a) for a, b in zip(cuts, cuts[1:], strict=False)]
    # When combined
    combined = whole(crc, parts)
    # Then it is one pass over the bytes (and, for CRC32, what zlib computes)
    assert combined == crc.update(data, 0)
    if name == "CRC32":
        assert combined == binascii.crc32(data)


def test_values_are_big_endian_base64_as_s3_writes_them():
    crc = CRCS["CRC64NVME"]
    assert base64.b64decode(crc.encode(checksums.crc64nvme(b"123456789"))).hex() == (
        "ae8b14860a799888"
    )
    assert len(base64.b64decode(CRCS["CRC32"].encode(1))) == 4


def test_a_slice_digest_reads_only_its_slice(tmp_path: Path):
    path = tmp_path / "f"
    data = random.Random(9).randbytes(10 * MIB)
    path.write_bytes(data)
    found = digest_slice(path, 5 * MIB + 3, 2 * MIB, CRCS["CRC32C"], with_md5=True)
    piece = data[5 * MIB + 3 : 7 * MIB + 3]
    assert found.crc == checksums.crc32c(piece)
    assert found.md5 == hashlib.md5(piece).hexdigest()


class RecordingApi:
    def __init__(self) -> None:
        self.calls: list[tuple[list[int], dict[int, str] | None]] = []
        self.called = threading.Condition()

    def sign_parts(
        self, upload_id: str, numbers: list[int], sums: dict[int, str] | None = None
    ) -> list[dict[str, Any]]:
        with self.called:
            self.calls.append((numbers, sums))
            self.called.notify_all()
        return [
            {"part_number": n, "url": f"u{n}", "size": 1, "expires_at": "2999-01-01T00:00:00Z"}
            for n in numbers
        ]


def test_parts_are_signed_with_their_checksums_one_round_then_the_read_ahead(tmp_path: Path):
    # Given a file of 40 parts of 1 KiB and a read-ahead of 16 parts (16 KiB)
    path = tmp_path / "f"
    data = random.Random(3).randbytes(40 * 1024)
    path.write_bytes(data)
    crcs = PartCrcs(path, 1024, len(data), CRCS["CRC64NVME"])
    api = RecordingApi()
    with patch.object(parts, "READ_AHEAD", 16 * 1024):
        signer = PartSigner(api, "up_x", list(range(1, 41)), crcs, first_batch=4)  # type: ignore[arg-type]
    # When every part is asked for in order
    for n in range(1, 41):
        signer.part(n)
    # Then one round of 4, then batches of the read-ahead, each part with its own checksum
    assert [len(numbers) for numbers, _ in api.calls] == [4, 16, 16, 4]
    for numbers, sums in api.calls:
        assert sums is not None and sorted(sums) == numbers
        for n in numbers:
            piece = data[(n - 1) * 1024 : n * 1024]
            assert sums[n] == crcs.crc.encode(checksums.crc64nvme(piece))
    assert sorted(signer.computed) == list(range(1, 41))


def test_the_next_batch_is_signed_before_the_workers_reach_it(tmp_path: Path):
    # Given 40 parts signed in batches of 4, then of 16 (the read-ahead)
    path = tmp_path / "f"
    path.write_bytes(bytes(40 * 1024))
    crcs = PartCrcs(path, 1024, 40 * 1024, CRCS["CRC64NVME"])
    api = RecordingApi()
    with patch.object(parts, "READ_AHEAD", 16 * 1024):
        signer = PartSigner(api, "up_x", list(range(1, 41)), crcs, first_batch=4)  # type: ignore[arg-type]
    # When the workers have taken parts 1 to 13 (the second batch, 5-20, has 8 left:
    # half a batch)
    for n in range(1, 14):
        signer.part(n)
    # Then the third batch (21-36) is signed in the background, no worker asking for it
    with api.called:
        assert api.called.wait_for(lambda: len(api.calls) >= 3, timeout=10)
    assert api.calls[2][0] == list(range(21, 37))


def test_without_checksums_one_call_signs_every_part():
    api = RecordingApi()
    signer = PartSigner(api, "up_x", list(range(1, 41)))  # type: ignore[arg-type]
    signer.part(1)
    assert api.calls == [(list(range(1, 41)), None)]


@pytest.mark.parametrize(
    ("stored", "verified"),
    [
        ({"algorithm": "CRC64NVME", "type": "FULL_OBJECT", "value": "AAAAAAAAAAA="}, True),
        ({"algorithm": "CRC32", "type": "FULL_OBJECT", "value": "AAAAAA=="}, True),
        ({"algorithm": "CRC32", "type": "COMPOSITE", "value": "AAAAAA==-3"}, False),
        ({"algorithm": "SHA256", "type": "FULL_OBJECT", "value": "x"}, False),
        (None, False),
    ],
)
def test_only_a_full_object_crc_is_verified(stored: dict[str, str] | None, verified: bool):
    expected = Expected.of_info({"key": "k", "checksum": stored})
    assert (expected is not None) == verified


def held_plan(path: Path, listed: list[dict[str, Any]]) -> dict[str, Any]:
    return {"part_size": 1024, "size": path.stat().st_size, "parts": listed}


def test_held_parts_are_checked_by_the_checksum_s3_lists(tmp_path: Path):
    # Given three held parts, S3 listing part 2's checksum as that of other bytes
    from stowage_client.upload import Uploader

    path = tmp_path / "f"
    data = random.Random(11).randbytes(3 * 1024)
    path.write_bytes(data)
    crc = CRCS["CRC64NVME"]
    sums = [crc.encode(checksums.crc64nvme(data[i * 1024 : (i + 1) * 1024])) for i in range(3)]
    sums[1] = crc.encode(checksums.crc64nvme(b"other"))
    listed = [{"part_number": n, "checksum": sums[n - 1]} for n in (1, 2, 3)]
    held = {1: '"e1"', 2: '"e2"', 3: '"e3"'}  # ETags not consulted when checksums are listed
    uploader = Uploader(api=None, s3=None)  # type: ignore[arg-type]
    # When
    kept, repaired = uploader.verify_held(
        path, held_plan(path, listed), held, PartCrcs(path, 1024, len(data), crc)
    )
    # Then part 2 is to be sent again; the others' CRCs are kept for the whole file's
    assert repaired == 1 and sorted(held) == [1, 3] and sorted(kept) == [1, 3]
    assert kept[1] == checksums.crc64nvme(data[:1024])


def test_without_listed_checksums_held_parts_are_checked_by_their_etag(tmp_path: Path):
    from stowage_client.upload import Uploader

    path = tmp_path / "f"
    data = random.Random(12).randbytes(2 * 1024 + 5)
    path.write_bytes(data)
    etag = [f'"{hashlib.md5(data[i * 1024 : (i + 1) * 1024]).hexdigest()}"' for i in range(3)]
    held = {1: etag[0], 2: '"0123456789abcdef0123456789abcdef"', 3: etag[2]}
    listed = [{"part_number": n, "checksum": None} for n in (1, 2, 3)]
    uploader = Uploader(api=None, s3=None)  # type: ignore[arg-type]
    kept, repaired = uploader.verify_held(path, held_plan(path, listed), held, None)
    assert repaired == 1 and sorted(held) == [1, 3] and sorted(kept) == [1, 3]
