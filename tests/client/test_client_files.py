"""`ls`, `info`, `latest` and `rm`: thin wrappers over the file routes, checked once
end to end (the routes themselves are covered by tests/e2e)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.client.conftest import Cli
from tests.support.http import unique_name


def test_list_inspect_fetch_latest_and_delete(cli: Cli, tmp_path: Path):
    # Given: a file uploaded with its SHA-256 (multipart: a confirmed draft keeps none yet)
    source = tmp_path / unique_name(".txt")
    source.write_text("catalog\n")
    key = cli.json("upload", str(source), "--checksum", "--multipart-threshold", "1")["key"]
    folder = key.rsplit("/", 1)[0] + "/"
    # When
    listed = cli.run("ls", folder, "--json")
    info = cli.json("info", key)
    latest = cli.json("latest", "dev", "--name-prefix", source.name, "-o", str(tmp_path / "l"))
    removed = cli.json("rm", key)
    gone = cli.run("info", key)
    # Then
    keys = [json.loads(line)["key"] for line in listed.stdout.splitlines()]
    assert key in keys
    digest = "d2d094cc7007ecc4ebf7e234d7b36246b1ed64e9f6c18f7b3673378666476c11"
    assert info["size"] == 8 and info["original_name"] == source.name
    assert info["sha256"] == digest
    assert latest["size"] == 8 and (tmp_path / "l").read_text() == "catalog\n"
    assert removed["status"] == "deleted"
    assert gone.returncode == 1 and "FILE_NOT_FOUND" in gone.stderr
