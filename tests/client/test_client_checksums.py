"""The CLI's checksums, end to end through the local stack: CRC64NVME per part and for the
whole file, downloads verified against the stored checksum, resumed parts checked
against the local file, and a byte flipped on the way detected and repaired.

A part PUT whose bytes are not its signed checksum is refused only by an S3 that checks
(the strict local S3, any deployment; moto does not): that test asks the stack first.
"""

from __future__ import annotations

import base64
import signal
from pathlib import Path

import pytest
import requests
from awscrt import checksums

from stowage_client.api import StowageApi
from tests.client.conftest import MIB, Cli, random_file
from tests.client.faults import Fault, FaultProxy
from tests.client.test_client_resume import recorded_upload_id
from tests.support.http import Api, unique_name


def crc64(data: bytes) -> str:
    return base64.b64encode(checksums.crc64nvme(data).to_bytes(8, "big")).decode()


@pytest.fixture(scope="module")
def strict_s3(stack_api: Api) -> bool:
    """Whether the stack's S3 refuses a part whose body is not its signed checksum."""
    plan = stack_api.init(size=5, checksum_algorithm="CRC64NVME").json()
    body = {"parts": [{"part_number": 1, "checksum": crc64(b"probe")}]}
    signed = stack_api.call("POST", f"/v1/uploads/{plan['upload_id']}/parts", json=body)
    (part,) = signed.json()["parts"]
    answer = requests.put(part["url"], data=b"prob3", headers=part["headers"], timeout=30)
    stack_api.call("DELETE", f"/v1/uploads/{plan['upload_id']}")
    return answer.status_code == 400


def test_an_upload_sends_its_crc64nvme_and_s3_stores_it(cli: Cli, tmp_path: Path, make_api):
    # Given a three-part file
    source = tmp_path / unique_name()
    data = random_file(source, 11 * MIB)
    # When
    result = cli.json("upload", str(source), "--part-size", "5M")
    # Then the whole file's CRC64NVME went with complete, and is what S3 stores
    api: StowageApi = make_api()
    assert result["checksum"] == crc64(data)
    assert api.file_info(result["key"])["checksum"] == {
        "algorithm": "CRC64NVME",
        "type": "FULL_OBJECT",
        "value": crc64(data),
    }
    # And a download is verified against it
    back = cli.json("download", result["key"], "-o", str(tmp_path / "back"))
    assert back["checksum"] == crc64(data) and (tmp_path / "back").read_bytes() == data


def test_a_small_file_goes_as_a_draft_with_its_checksum(cli: Cli, tmp_path: Path):
    source = tmp_path / unique_name(".txt")
    source.write_bytes(b"small and pinned\n" * 50)
    result = cli.json("upload", str(source))
    assert result["method"] == "draft" and result["checksum"] == crc64(source.read_bytes())


def test_without_checksums_the_upload_still_works(cli: Cli, tmp_path: Path, make_api):
    source = tmp_path / unique_name()
    data = random_file(source, 6 * MIB)
    result = cli.json(
        "upload", str(source), "--part-size", "5M", "--multipart-threshold", "5M", "--no-checksums"
    )
    assert result["checksum"] is None
    cli.json("download", result["key"], "-o", str(tmp_path / "back"))
    assert (tmp_path / "back").read_bytes() == data


def test_a_download_whose_bytes_differ_fails_and_nothing_is_put_in_place(
    cli: Cli, proxy: FaultProxy, tmp_path: Path
):
    # Given a stored file, and a byte flipped in one ranged GET on its way back
    source = tmp_path / unique_name()
    random_file(source, 11 * MIB)
    key = cli.json("upload", str(source), "--part-size", "5M")["key"]
    proxy.add(Fault("range", flip=4321, skip=1))  # the size probe goes through untouched
    out = tmp_path / "downloads"
    out.mkdir()
    # When
    done = cli.through(proxy).run("download", key, "-o", str(out / "back"))
    # Then exit 1, said loudly, and neither the file nor a temporary is left
    assert done.returncode == 1, done.stderr
    assert "CRC64NVME" in done.stderr and "nothing was written" in done.stderr
    assert list(out.iterdir()) == []
    # And without the fault, the same download succeeds
    proxy.reset()
    assert cli.through(proxy).run("download", key, "-o", str(out / "back")).returncode == 0


def test_a_resumed_upload_resends_a_held_part_that_differs_from_the_file(
    cli: Cli, proxy: FaultProxy, tmp_path: Path, make_api
):
    # Given an upload killed after S3 took two of its five parts
    source = tmp_path / unique_name()
    data = random_file(source, 21 * MIB)
    args = ("upload", str(source), "--part-size", "5M", "--concurrency", "1")
    proxy.add(Fault("part", hold=True, skip=2, times=-1))
    running = cli.through(proxy).start(*args)
    proxy.wait_for("part", 2)
    running.kill()
    assert running.wait(10) == -signal.SIGKILL
    # And part 1 in S3 replaced by other bytes (signed with their own checksum, so any
    # S3 takes them): what S3 holds is no longer the file
    api: StowageApi = make_api()
    upload_id = recorded_upload_id(cli, source)
    other = bytes(5 * MIB)
    (part,) = api.sign_parts(upload_id, [1], {1: crc64(other)})
    assert requests.put(part["url"], data=other, headers=part["headers"], timeout=60).ok
    # When the same command runs again
    proxy.reset()
    again = cli.through(proxy).json(*args)
    # Then part 1 was found to differ and sent again with the three missing ones
    assert again["parts_resumed"] == 1 and again["parts_repaired"] == 1
    assert again["parts_sent"] == 4 and proxy.count("part", 200) == 4
    assert again["checksum"] == crc64(data)
    cli.json("download", again["key"], "-o", str(tmp_path / "back"))
    assert (tmp_path / "back").read_bytes() == data


def test_a_byte_flipped_in_a_part_is_refused_by_s3_and_sent_again(
    cli: Cli, proxy: FaultProxy, tmp_path: Path, strict_s3: bool
):
    if not strict_s3:
        pytest.skip("this S3 accepts wrong checksums (moto); the strict local S3 refuses them")
    # Given a byte of part 2 flipped on its way to S3, once
    source = tmp_path / unique_name()
    data = random_file(source, 11 * MIB)
    proxy.add(Fault("part", flip=777, match="partNumber=2&"))
    # When
    result = cli.through(proxy).json("upload", str(source), "--part-size", "5M")
    # Then S3 refused it (400 BadDigest), the CLI sent it again, and the file is whole
    assert proxy.count("part", 400) == 1 and proxy.count("part", 200) == 3
    cli.json("download", result["key"], "-o", str(tmp_path / "back"))
    assert (tmp_path / "back").read_bytes() == data
