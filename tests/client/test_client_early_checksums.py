"""The first round of part checksums is computed while init is on its way, and only once."""

from __future__ import annotations

import random
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
from awscrt import checksums

from stowage_client import upload as upload_module
from stowage_client.checksum import CRCS
from stowage_client.upload import MIB, Uploader, UploadOptions, likely_part_size

PART = 5 * MIB


class PlanningApi:
    """init answers a plan of `part_size` parts, once the early checksums are done (or
    10 s have passed); sign and complete record what they were given."""

    def __init__(self, size: int, part_size: int, early_done: threading.Event) -> None:
        self.size, self.part_size, self.early_done = size, part_size, early_done
        self.early_before_init: bool | None = None
        self.signed: dict[int, str] = {}
        self.whole: str | None = None

    def init_upload(self, body: dict[str, Any]) -> dict[str, Any]:
        self.early_before_init = self.early_done.wait(timeout=10)
        count = -(-self.size // self.part_size)
        return {
            "upload_id": "up_x",
            "part_size": self.part_size,
            "part_count": count,
            "size": self.size,
            "checksum_algorithm": body.get("checksum_algorithm"),
        }

    def sign_parts(
        self, upload_id: str, numbers: list[int], sums: dict[int, str] | None = None
    ) -> list[dict[str, Any]]:
        self.signed |= sums or {}
        return [
            {
                "part_number": n,
                "url": f"http://s3.test/part/{n}",
                "size": min(self.part_size, self.size - (n - 1) * self.part_size),
                "expires_at": "2999-01-01T00:00:00Z",
                "headers": {"x-amz-checksum-crc64nvme": (sums or {}).get(n, "")},
            }
            for n in numbers
        ]

    def complete_upload(
        self, upload_id: str, parts: list[dict[str, Any]], checksum: str | None = None
    ) -> dict[str, Any]:
        self.whole = checksum
        return {"key": "k", "upload_id": upload_id}


def stored(request: httpx.Request) -> httpx.Response:
    request.read()
    return httpx.Response(200, headers={"ETag": '"e"'})


@pytest.mark.parametrize(("planned", "guessed"), [(PART, True), (6 * MIB, False)])
def test_the_first_round_is_checksummed_during_init_and_never_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, planned: int, guessed: bool
):
    # Given a file of 4 parts of 5 MiB and a CLI that asks for 5 MiB parts, two workers
    data = random.Random(5).randbytes(4 * PART - 7)
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    reads: list[tuple[int, int]] = []
    early_done = threading.Event()
    real = upload_module.digest_slice

    def counted(file: Path, offset: int, size: int, crc: Any, with_md5: bool = False) -> Any:
        answer = real(file, offset, size, crc, with_md5)
        reads.append((offset, size))
        if len(reads) == 2 and threading.current_thread().name.startswith("stowage-early"):
            early_done.set()
        return answer

    monkeypatch.setattr(upload_module, "digest_slice", counted)
    monkeypatch.setattr("stowage_client.checksum.digest_slice", counted)
    # When the server plans `planned` parts (the guess, or another size)
    api = PlanningApi(len(data), planned, early_done)
    s3 = httpx.Client(transport=httpx.MockTransport(stored))
    options = UploadOptions(concurrency=2, part_size=PART, multipart_threshold=MIB)
    result = Uploader(api, s3, options).upload(path)  # type: ignore[arg-type]
    # Then the first round (2 parts of the guessed 5 MiB) was checksummed before init
    # answered; with the guess right no part was read for its checksum twice, with it
    # wrong the plan's parts were all read again; and every checksum is right
    assert api.early_before_init is True
    count = -(-len(data) // planned)
    offsets = sorted(offset for offset, _ in reads)
    planned_offsets = [(n - 1) * planned for n in range(1, count + 1)]
    assert offsets == (planned_offsets if guessed else sorted([0, PART, *planned_offsets]))
    for n in range(1, count + 1):
        piece = data[(n - 1) * planned : n * planned]
        assert api.signed[n] == CRCS["CRC64NVME"].encode(checksums.crc64nvme(piece))
    assert result.checksum == api.whole == CRCS["CRC64NVME"].encode(checksums.crc64nvme(data))


@pytest.mark.parametrize(
    ("size", "asked", "expected"),
    [(MIB, None, 8 * MIB), (MIB, MIB, 5 * MIB), (100_000 * MIB, None, 10 * MIB)],
)
def test_the_likely_part_size_follows_the_contracts_rules(size: int, asked: int, expected: int):
    assert likely_part_size(size, asked) == expected
