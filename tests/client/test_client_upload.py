"""`stowage upload` and `stowage download` against the local stack: real HTTP to the
API, real PUTs and POSTs to presigned S3 URLs, bytes compared after the round trip."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from tests.client.conftest import MIB, Cli, random_file
from tests.client.faults import Fault, FaultProxy
from tests.support.http import unique_name


def test_a_multipart_upload_with_four_workers_downloads_byte_identical(
    cli: Cli, proxy: FaultProxy, tmp_path: Path
):
    # Given: 16 MiB, four parts of 5 MiB (the last 1 MiB); S3 answering no part until
    # all four are in flight together (a client sending fewer at once never gets there)
    source = tmp_path / unique_name()
    data = random_file(source, 16 * MIB)
    proxy.add(Fault("part", times=4, gather=threading.Barrier(4, timeout=30)))
    # When
    result = cli.through(proxy).json(
        "upload", str(source), "--concurrency", "4", "--part-size", "5M"
    )
    back = cli.json("download", result["key"], "-o", str(tmp_path / "back.bin"))
    # Then: four parts went up at once, once each, and the file came back whole
    assert result["method"] == "multipart" and result["parts_sent"] == 4
    assert proxy.count("part", 200) == 4 and proxy.most_in_flight == 4
    assert proxy.count("api", method="POST") == 3  # init, one sign call, complete
    assert back["size"] == len(data)
    assert (tmp_path / "back.bin").read_bytes() == data


def test_a_small_file_goes_as_a_draft(cli: Cli, tmp_path: Path):
    # Given
    source = tmp_path / unique_name(".txt")
    source.write_text("hello, stowage\n" * 1000)
    # When
    result = cli.json("upload", str(source), "--to-name", source.name)
    cli.json("download", result["key"], "-o", str(tmp_path))
    # Then
    assert result["method"] == "draft" and result["key"].endswith(f"/document/{source.name}")
    assert (tmp_path / source.name).read_text() == source.read_text()


def test_an_empty_file_round_trips(cli: Cli, tmp_path: Path):
    source = tmp_path / unique_name()
    source.write_bytes(b"")
    result = cli.json("upload", str(source))
    back = cli.json("download", result["key"], "-o", str(tmp_path / "empty.out"))
    assert result["size"] == 0 and back["size"] == 0
    assert (tmp_path / "empty.out").read_bytes() == b""


def test_a_name_taken_gets_a_variant_unless_overwrite(cli: Cli, tmp_path: Path):
    # Given: a file already stored under a name
    source = tmp_path / unique_name()
    source.write_bytes(b"one")
    first = cli.json("upload", str(source))
    # When: the same name again, then again with --overwrite
    second = cli.json("upload", str(source))
    source.write_bytes(b"two")
    third = cli.json("upload", str(source), "--overwrite")
    # Then
    stem = source.name.removesuffix(".bin")
    assert second["key"] == first["key"].replace(source.name, f"{stem} (1).bin")
    assert third["key"] == first["key"]
    cli.json("download", first["key"], "-o", str(tmp_path / "latest"))
    assert (tmp_path / "latest").read_bytes() == b"two"


def test_ranged_parallel_download_of_a_multipart_file(cli: Cli, proxy: FaultProxy, tmp_path: Path):
    # Given: a 12 MiB file stored
    source = tmp_path / unique_name()
    data = random_file(source, 12 * MIB)
    key = cli.json("upload", str(source), "--part-size", "5M")["key"]
    # When
    cli.through(proxy).json("download", key, "-o", str(tmp_path / "back"), "--concurrency", "4")
    # Then: a one-byte probe, then two 8 MiB ranges; written whole, no temp file left
    assert proxy.count("range", 206) == 3
    assert (tmp_path / "back").read_bytes() == data
    assert {p.name for p in tmp_path.iterdir()} == {"back", source.name, "state", "work"}


def test_several_files_and_json_lines(cli: Cli, tmp_path: Path):
    # Given: two files and one path that does not exist
    names = [tmp_path / unique_name() for _ in range(2)]
    for path in names:
        path.write_bytes(path.name.encode())
    missing = tmp_path / "missing.bin"
    # When
    done = cli.run("upload", str(names[0]), str(missing), str(names[1]), "--json")
    # Then: one line per path, the failure among them, and exit status 1
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert done.returncode == 1
    assert [line["path"] for line in lines] == [str(names[0]), str(missing), str(names[1])]
    assert "error" in lines[1] and lines[0]["key"] and lines[2]["key"]
    assert "missing.bin" in done.stderr


def test_a_refused_key_exits_nonzero_with_a_clear_message(cli: Cli, tmp_path: Path):
    source = tmp_path / unique_name()
    source.write_bytes(b"x")
    cli.env["STOWAGE_API_KEY"] = "stw_" + "A" * 43
    done = cli.run("upload", str(source))
    assert done.returncode == 1
    assert "API key was refused" in done.stderr


def test_no_configuration_is_a_usage_error(cli: Cli):
    del cli.env["STOWAGE_URL"]
    done = cli.run("ls")
    assert done.returncode == 2 and "no API URL" in done.stderr
