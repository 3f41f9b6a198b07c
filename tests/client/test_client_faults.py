"""Expired presigned URLs and transient failures, injected by the proxy (moto checks
no expiry, so an expired URL is S3's 403 answer, simulated): the CLI signs again,
retries with backoff, and the stored file is still byte-identical."""

from __future__ import annotations

from pathlib import Path

from tests.client.conftest import MIB, Cli, random_file
from tests.client.faults import EXPIRED, Fault, FaultProxy
from tests.support.http import unique_name


def stored(cli: Cli, key: str, tmp_path: Path) -> bytes:
    cli.json("download", key, "-o", str(tmp_path / "back"))
    return (tmp_path / "back").read_bytes()


def test_an_expired_part_url_is_signed_again(cli: Cli, proxy: FaultProxy, tmp_path: Path):
    # Given: S3 says part 2's URL has expired, once
    source = tmp_path / unique_name()
    data = random_file(source, 11 * MIB)
    proxy.add(Fault("part", status=403, body=EXPIRED, match="partNumber=2&"))
    # When
    result = cli.through(proxy).json("upload", str(source), "--part-size", "5M")
    # Then: one more sign call, for that part alone, and three parts stored
    signs = [s for s in proxy.seen if s.kind == "api" and s.path.endswith("/parts")]
    assert len(signs) == 2
    assert proxy.count("part", 403) == 1 and proxy.count("part", 200) == 3
    assert stored(cli, result["key"], tmp_path) == data


def test_a_url_refused_every_time_fails_after_a_bounded_number_of_signs(
    cli: Cli, proxy: FaultProxy, tmp_path: Path
):
    source = tmp_path / unique_name()
    random_file(source, 6 * MIB)
    proxy.add(Fault("part", status=403, body=EXPIRED, match="partNumber=1&", times=-1))
    done = cli.through(proxy).run(
        "upload", str(source), "--part-size", "5M", "--multipart-threshold", "5M"
    )
    assert done.returncode == 1 and "AccessDenied" in done.stderr
    assert proxy.count("part", 403) == 4  # the first try and three re-signs


def test_transient_s3_failures_and_resets_are_retried(cli: Cli, proxy: FaultProxy, tmp_path: Path):
    # Given: S3 answers 503 twice, and drops one connection mid-request
    source = tmp_path / unique_name()
    data = random_file(source, 11 * MIB)
    proxy.add(Fault("part", status=503, times=2, match="partNumber=1&"))
    proxy.add(Fault("part", drop=True, match="partNumber=3&"))
    # When
    result = cli.through(proxy).json("upload", str(source), "--part-size", "5M")
    # Then
    assert proxy.count("part", 503) == 2 and proxy.count("part", 0) == 1
    assert proxy.count("part", 200) == 3
    assert stored(cli, result["key"], tmp_path) == data


def test_transient_api_failures_are_retried(cli: Cli, proxy: FaultProxy, tmp_path: Path):
    # Given: the API answers 502 to the first init and 503 to the first complete
    source = tmp_path / unique_name()
    data = random_file(source, 6 * MIB)
    proxy.add(Fault("api", status=502, method="POST", match="/v1/uploads"))
    proxy.add(Fault("api", status=503, match="/complete"))
    # When
    result = cli.through(proxy).json(
        "upload", str(source), "--part-size", "5M", "--multipart-threshold", "5M"
    )
    # Then
    assert proxy.count("api", 502) == 1 and proxy.count("api", 503) == 1
    assert stored(cli, result["key"], tmp_path) == data


def test_a_draft_post_is_retried_after_a_5xx(cli: Cli, proxy: FaultProxy, tmp_path: Path):
    source = tmp_path / unique_name(".txt")
    source.write_text("draft\n" * 100)
    proxy.add(Fault("form", status=500))
    result = cli.through(proxy).json("upload", str(source))
    assert proxy.count("form", 500) == 1 and proxy.count("form") == 2
    assert stored(cli, result["key"], tmp_path) == source.read_bytes()


def test_an_expired_download_link_is_fetched_again(cli: Cli, proxy: FaultProxy, tmp_path: Path):
    # Given: a stored file; S3 refuses the first ranged GET as expired
    source = tmp_path / unique_name()
    data = random_file(source, 3 * MIB)
    key = cli.json("upload", str(source))["key"]
    proxy.add(Fault("range", status=403, body=EXPIRED))
    # When
    cli.through(proxy).json("download", key, "-o", str(tmp_path / "back"))
    # Then: a second link was asked for (beside the file's info), and the file is whole
    links = [s for s in proxy.seen if s.kind == "api" and "redirect=false" in s.path]
    assert len(links) == 2 and all(link.status == 200 for link in links)
    assert (tmp_path / "back").read_bytes() == data
