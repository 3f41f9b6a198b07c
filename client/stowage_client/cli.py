"""The `stowage` command: argument parsing, wiring, and everything printed.

Results go to stdout (one JSON object per line with --json); progress, logs and
errors go to stderr. Exit status: 0 all done, 1 something failed, 2 bad usage or
configuration, 130 interrupted (run the same command again to resume).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

import httpx

from stowage_client import __version__
from stowage_client.api import ApiError, StowageApi
from stowage_client.archive import ArchiveFailed, make_archive
from stowage_client.config import ConfigError, Settings, load_settings
from stowage_client.download import Downloader, DownloadFailed, Link
from stowage_client.parts import Cancelled, FileChangedError
from stowage_client.progress import LineProgress, NullProgress, Progress, size_text
from stowage_client.resume import ResumeStore
from stowage_client.upload import (
    StorageRefused,
    TransferFailed,
    Uploader,
    UploadOptions,
    UploadRequest,
    sha256_of,
)

if TYPE_CHECKING:
    from stowage_client.watch import DayTally
    from stowage_client.watchdb import WatchDb

LIST_PAGE = 1000  # files asked for per listing call when --limit is given

FAILURES = (
    ApiError,
    httpx.TransportError,
    StorageRefused,
    TransferFailed,
    FileChangedError,
    DownloadFailed,
    ArchiveFailed,
    OSError,
)


class Interrupted(Exception):
    pass


# ------------------------------------------------------------------ parsing


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--url", help="API base URL (env STOWAGE_URL)")
    common.add_argument("--api-key", help="API key (env STOWAGE_API_KEY)")
    common.add_argument("--concurrency", type=int, help="parallel transfers (default 8)")
    common.add_argument("--json", action="store_true", help="one JSON object per result")
    common.add_argument("-q", "--quiet", action="store_true", help="no progress output")

    parser = argparse.ArgumentParser(prog="stowage", description="stowage file uploads")
    parser.add_argument("--version", action="version", version=f"stowage {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_upload(commands.add_parser("upload", parents=[common], help="upload files"))
    add_download(commands.add_parser("download", parents=[common], help="download a file"))
    listing = commands.add_parser("ls", parents=[common], help="list files")
    listing.add_argument("prefix", nargs="?", default="", help="key prefix")
    listing.add_argument("--limit", type=int, help="at most this many files")
    remove = commands.add_parser("rm", parents=[common], help="delete files")
    remove.add_argument("keys", nargs="+", metavar="KEY")
    info = commands.add_parser("info", parents=[common], help="a file's metadata")
    info.add_argument("key", metavar="KEY")
    add_latest(commands.add_parser("latest", parents=[common], help="a user's newest file"))
    add_watch(commands.add_parser("watch", parents=[common], help="upload what lands in folders"))
    add_restore(commands.add_parser("restore", parents=[common], help="rebuild a folder tree"))
    add_archive(commands.add_parser("archive", parents=[common], help="many files as one zip"))
    return parser


def add_restore(restore: argparse.ArgumentParser) -> None:
    restore.add_argument("prefix", metavar="PREFIX", help="key prefix, e.g. user/dev/tree/site/")
    restore.add_argument("folder", type=Path, metavar="DIR", help="where the tree goes")
    restore.add_argument(
        "--no-checksums", action="store_true", help="do not verify against the stored checksum"
    )


def add_upload(upload: argparse.ArgumentParser) -> None:
    upload.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    upload.add_argument("--to-name", help="store under this file name (one PATH only)")
    upload.add_argument("--overwrite", action="store_true", help="replace a file of that name")
    upload.add_argument("--content-type", help="default: from the name")
    upload.add_argument("--checksum", action="store_true", help="send the file's SHA-256")
    upload.add_argument(
        "--no-checksums",
        action="store_true",
        help="send no CRC64NVME checksums (S3 then cannot refuse corrupted parts)",
    )
    upload.add_argument("--part-size", help="e.g. 16M (default: the server's, 8 MiB)")
    upload.add_argument("--multipart-threshold", help="multipart from this size (default 8M)")
    upload.add_argument("--user-id", help="upload for this user (act-as clients)")
    upload.add_argument("--role", help="upload as this role (act-as clients)")


def add_download(download: argparse.ArgumentParser) -> None:
    download.add_argument("key", metavar="KEY")
    download.add_argument("-o", "--output", type=Path, help="file or folder (default: here)")
    download.add_argument(
        "--no-checksums", action="store_true", help="do not verify against the stored checksum"
    )


def add_latest(latest: argparse.ArgumentParser) -> None:
    latest.add_argument("user_id", metavar="USER")
    latest.add_argument("--category", default="", help="image, video, audio, document, other")
    latest.add_argument("--name-prefix", default="")
    latest.add_argument("-o", "--output", type=Path, help="download it here (else print the URL)")


def add_watch(watch: argparse.ArgumentParser) -> None:
    watch.add_argument("folders", nargs="*", type=Path, metavar="DIR")
    watch.add_argument("--remote-prefix", default="", help="put before every path, e.g. site/")
    watch.add_argument("--upload-existing", action="store_true", help="also files there now")
    watch.add_argument(
        "--overwrite", action="store_true", help="(always on: a changed file replaces its key)"
    )
    watch.add_argument(
        "--delete-after-upload",
        action="store_true",
        help="delete each local file once the server confirms its size and checksum",
    )
    watch.add_argument("--no-reports", action="store_true", help="send no daily report")
    watch.add_argument("--debounce", type=float, default=3.0, help="seconds unchanged (3)")
    watch.add_argument("--max-attempts", type=int, default=100, help="stability checks (100)")
    watch.add_argument("--retries", type=int, default=3, help="after a failure (3)")
    watch.add_argument("--retry-delay", type=float, default=5.0, help="seconds (5)")
    watch.add_argument("--ignore", action="append", default=[], help="glob; repeatable")
    watch.add_argument("--db", type=Path, help="SQLite file (default: the state folder)")
    watch.add_argument("--report", action="store_true", help="print daily activity and exit")
    watch.add_argument("--days", type=int, default=7, help="days in --report (7)")


def add_archive(archive: argparse.ArgumentParser) -> None:
    archive.add_argument("prefix", nargs="?", default="", help="every own file under it")
    archive.add_argument("--key", action="append", default=[], help="this file (repeatable)")
    archive.add_argument("-o", "--output", type=Path, help="file or folder (default: here)")
    archive.add_argument("--name", help="the zip's name (default: archive-<id>.zip)")
    archive.add_argument("--timeout", type=float, default=1800, help="seconds to wait (1800)")


# ------------------------------------------------------------------ wiring


def settings_from(args: argparse.Namespace) -> Settings:
    flags = {
        "url": args.url,
        "api_key": args.api_key,
        "concurrency": args.concurrency,
        "multipart_threshold": getattr(args, "multipart_threshold", None),
        "part_size": getattr(args, "part_size", None),
    }
    return load_settings(flags)


def http_client(settings: Settings) -> httpx.Client:
    """One pooled client: keep-alive connections to the API and to S3."""
    pool = settings.concurrency * 2 + 4
    return httpx.Client(
        timeout=httpx.Timeout(60.0, connect=10.0),
        limits=httpx.Limits(max_connections=pool, max_keepalive_connections=pool),
    )


def progress_for(args: argparse.Namespace) -> AbstractContextManager[Progress]:
    if args.quiet:
        return nullcontext(NullProgress())
    if sys.stderr.isatty():
        from stowage_client.bar import BarProgress

        return BarProgress()
    return nullcontext(LineProgress(sys.stderr))


@contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """SIGINT/SIGTERM ask the transfer to stop cleanly: parts in flight finish, the
    state stays for a rerun. A second signal stops at once (the state on disk is
    consistent at every moment, so that is safe too)."""

    def handler(number: int, frame: FrameType | None) -> None:
        if stop.is_set():
            sys.stderr.write("stowage: stopped at once; run the same command again to resume\n")
            os._exit(130)
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


# ------------------------------------------------------------------ commands


def run_upload(args: argparse.Namespace, api: StowageApi, settings: Settings) -> int:
    if args.to_name and len(args.paths) > 1:
        raise ConfigError("--to-name names one file: give one PATH")
    options = UploadOptions(
        concurrency=settings.concurrency,
        multipart_threshold=settings.multipart_threshold,
        part_size=settings.part_size,
        checksums=not args.no_checksums,
    )
    resume = ResumeStore(settings.state_dir / "uploads.db", settings.url)
    failed = 0
    with progress_for(args) as progress:
        uploader = Uploader(api, api.http, options, resume, progress)
        with stop_on_signals(uploader.stop):
            for path in args.paths:
                failed += upload_one(uploader, path, args)
                if uploader.stop.is_set():
                    raise Interrupted
    return 1 if failed else 0


def upload_one(uploader: Uploader, path: Path, args: argparse.Namespace) -> int:
    """Upload and print one file; 1 if it failed."""
    try:
        request = UploadRequest(
            name=args.to_name,
            overwrite=args.overwrite or None,
            content_type=args.content_type,
            sha256=sha256_of(path) if args.checksum else None,
            user_id=args.user_id,
            role=args.role,
        )
        result = uploader.upload(path, request)
    except Cancelled:
        return 0
    except FAILURES as error:
        report_failure(args, {"path": str(path)}, error)
        return 1
    if args.json:
        emit(result.as_json())
    else:
        resumed = f", {result.parts_resumed} parts resumed" if result.parts_resumed else ""
        if result.parts_repaired:
            resumed += f", {result.parts_repaired} held parts differed and were sent again"
        emit_text(f"{path} -> {result.key} ({size_text(result.size)}{resumed})")
    return 0


def run_download(args: argparse.Namespace, api: StowageApi, settings: Settings) -> int:
    with progress_for(args) as progress:
        downloader = Downloader(
            api, api.http, settings.concurrency, progress=progress, verify=not args.no_checksums
        )
        result = downloader.download(args.key, args.output or Path.cwd())
    show(args, result.as_json(), f"{result.key} -> {result.path} ({size_text(result.size)})")
    return 0


def run_ls(args: argparse.Namespace, api: StowageApi, settings: Settings) -> int:
    """Every page, following `next_cursor`, until the listing or `--limit` ends."""
    left: int | None = args.limit  # None: no limit
    cursor = None
    while left is None or left > 0:
        page_size = None if left is None else min(left, LIST_PAGE)
        page = api.list_files(args.prefix, page_size, cursor)
        files = page.get("files", [])[:page_size]
        for item in files:
            show(args, item, file_line(item))
        left = None if left is None else left - len(files)
        cursor = page.get("next_cursor")
        if not cursor:
            break
    return 0


def file_line(item: dict[str, Any]) -> str:
    when = item.get("last_modified") or item.get("uploaded_at") or item.get("created_at") or ""
    return f"{item.get('size', 0):>14,}  {when:20}  {item.get('key', '')}"


def run_rm(args: argparse.Namespace, api: StowageApi, settings: Settings) -> int:
    failed = 0
    for key in args.keys:
        try:
            answer = api.delete_file(key)
        except ApiError as error:
            report_failure(args, {"key": key}, error)
            failed += 1
            continue
        show(args, answer, f"deleted {key}")
    return 1 if failed else 0


def run_info(args: argparse.Namespace, api: StowageApi, settings: Settings) -> int:
    answer = api.file_info(args.key)
    if args.json:
        emit(answer)
    else:
        for name, value in answer.items():
            emit_text(f"{name + ':':16} {value}")
    return 0


def run_latest(args: argparse.Namespace, api: StowageApi, settings: Settings) -> int:
    def fetch() -> str:
        return api.latest_link(args.user_id, args.category, args.name_prefix)

    if args.output is None:
        url = fetch()
        show(args, {"user_id": args.user_id, "url": url}, url)
        return 0
    with progress_for(args) as progress:
        downloader = Downloader(api, api.http, settings.concurrency, progress=progress)
        size = downloader.save(Link(fetch), args.output)
    result = {"user_id": args.user_id, "path": str(args.output), "size": size}
    show(args, result, f"{args.output} ({size_text(size)})")
    return 0


def run_watch(args: argparse.Namespace, api: StowageApi, settings: Settings) -> int:
    # Imported here: watchdog is only needed by this command.
    from stowage_client.watch import DEFAULT_IGNORE, Watcher, WatchOptions
    from stowage_client.watchdb import WatchDb

    db = WatchDb(args.db or settings.state_dir / "watch.db")
    if args.report:
        print_report(db, args)
        return 0
    if not args.folders:
        raise ConfigError("give at least one DIR to watch")
    if args.remote_prefix.startswith("/") or "\\" in args.remote_prefix:
        raise ConfigError("--remote-prefix is a relative path: no leading '/', no '\\'")
    for folder in args.folders:
        if not folder.is_dir():
            raise ConfigError(f"{folder} is not a folder")
    options = WatchOptions(
        remote_prefix=args.remote_prefix,
        upload_existing=args.upload_existing,
        overwrite=args.overwrite,
        debounce=args.debounce,
        max_attempts=args.max_attempts,
        retries=args.retries,
        retry_delay=args.retry_delay,
        ignore=DEFAULT_IGNORE + tuple(args.ignore),
        delete_after_upload=args.delete_after_upload,
    )
    upload_options = UploadOptions(
        concurrency=settings.concurrency,
        multipart_threshold=settings.multipart_threshold,
        part_size=settings.part_size,
    )
    resume = ResumeStore(settings.state_dir / "uploads.db", settings.url)
    uploader = Uploader(api, api.http, upload_options, resume)
    watcher = Watcher(args.folders, uploader, db, options)
    if args.json:
        watcher.on_result = emit
    if not args.no_reports:
        watcher.on_day = lambda day: daily_report(api, day)
    with stop_on_signals(uploader.stop):
        watcher.run(uploader.stop)
    return 0


def daily_report(api: StowageApi, day: DayTally) -> None:
    body = {"date": day.date, "uploaded": day.uploaded, "skipped": day.skipped}
    api.send_usage_report(body | {"failed": day.failed, "host": socket.gethostname()[:255]})


def run_restore(args: argparse.Namespace, api: StowageApi, settings: Settings) -> int:
    from stowage_client.restore import Restorer

    def result(line: dict[str, Any]) -> None:
        if args.json:
            emit(line)
        elif line["status"] == "failed":
            sys.stderr.write(f"stowage: {line['key']}: {line.get('error')}\n")
        elif not args.quiet:
            sys.stderr.write(f"{line['status']:8} {line['key']} -> {line.get('path')}\n")

    with progress_for(args) as progress:
        files = max(1, settings.concurrency // 2)
        downloader = Downloader(api, api.http, 2, progress=progress, verify=not args.no_checksums)
        restorer = Restorer(api, downloader, files, result)
        with stop_on_signals(restorer.stop):
            summary = restorer.restore(args.prefix, args.folder)
    if restorer.stop.is_set():
        raise Interrupted
    totals = summary.as_json()
    show(args, {"summary": totals}, " ".join(f"{k}={v}" for k, v in totals.items()))
    return 1 if summary.failed else 0


def print_report(db: WatchDb, args: argparse.Namespace) -> None:
    days = db.report(args.days)
    if args.json:
        for day in days:
            emit({"day": day.day, "files": day.files, "bytes": day.bytes, "failures": day.failures})
        return
    emit_text(f"{'day':10}  {'files':>7}  {'bytes':>12}  {'failures':>8}")
    for day in days:
        emit_text(f"{day.day:10}  {day.files:>7}  {size_text(day.bytes):>12}  {day.failures:>8}")


def run_archive(args: argparse.Namespace, api: StowageApi, settings: Settings) -> int:
    if bool(args.prefix) == bool(args.key):
        raise ConfigError("give a PREFIX or --key KEY (one or more), not both")
    request: dict[str, Any] = {"prefix": args.prefix} if args.prefix else {"keys": args.key}
    if args.name:
        request["name"] = args.name
    stop = threading.Event()
    with progress_for(args) as progress, stop_on_signals(stop):
        downloader = Downloader(api, api.http, settings.concurrency, progress=progress)
        result = make_archive(
            api, downloader, request, args.output or Path.cwd(), args.timeout, stop
        )
    text = f"{result.archive_id} -> {result.path} ({result.files} files, {size_text(result.size)})"
    show(args, result.as_json(), text)
    return 0


COMMANDS: dict[str, Callable[[argparse.Namespace, StowageApi, Settings], int]] = {
    "upload": run_upload,
    "download": run_download,
    "ls": run_ls,
    "rm": run_rm,
    "info": run_info,
    "latest": run_latest,
    "watch": run_watch,
    "restore": run_restore,
    "archive": run_archive,
}


# ------------------------------------------------------------------ output


def show(args: argparse.Namespace, value: dict[str, Any], text: str) -> None:
    """A result: its JSON with --json, else its line of text."""
    if args.json:
        emit(value)
    else:
        emit_text(text)


def emit(value: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(value) + "\n")
    sys.stdout.flush()


def emit_text(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def report_failure(args: argparse.Namespace, what: dict[str, str], error: BaseException) -> None:
    if args.json:
        emit(what | {"error": describe(error)})
    sys.stderr.write(f"stowage: {next(iter(what.values()))}: {error}\n")


def describe(error: BaseException) -> dict[str, Any]:
    if isinstance(error, ApiError):
        return {"status": error.status, "code": error.code, "message": error.message}
    return {"code": type(error).__name__, "message": str(error)}


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)  # its lines carry presigned URLs
    sys.exit(run(args))


def run(args: argparse.Namespace) -> int:
    try:
        settings = settings_from(args)
        with http_client(settings) as http:
            api = StowageApi(http, settings.url, settings.api_key)
            return COMMANDS[args.command](args, api, settings)
    except ConfigError as error:
        sys.stderr.write(f"stowage: {error}\n")
        return 2
    except (Interrupted, KeyboardInterrupt):
        sys.stderr.write("stowage: interrupted; run the same command again to resume\n")
        return 130
    except FAILURES as error:
        if args.json:
            emit({"error": describe(error)})
        sys.stderr.write(f"stowage: {error}\n")
        return 1
