"""Uploading one local file: a draft for small files, a parallel, resumable multipart
upload for the rest.

Bytes go straight to S3 through presigned URLs; the API only plans, signs and
completes. Memory stays flat: parts are streamed from disk a chunk at a time.
"""

from __future__ import annotations

import hashlib
import threading
import time
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, cast

import httpx

from stowage_client.api import ApiError, StowageApi
from stowage_client.checksum import ALGORITHM, CRCS, Crc, digest_slice, whole
from stowage_client.parts import Cancelled, FileChangedError, PartCrcs, PartSigner, read_slice
from stowage_client.progress import Meter, NullProgress, Progress
from stowage_client.resume import FileVersion, ResumeStore
from stowage_client.retry import TRANSIENT_STATUSES, RetryPolicy, is_transient_error, retrying

MIB = 1024 * 1024
DRAFT_LIMIT = 5 * 1024 * MIB  # the contract's largest draft
MIN_PART, MAX_PARTS, DEFAULT_PART = 5 * MIB, 10_000, 8 * MIB  # the contract's part rules
EARLY_CHECKSUMS = 64 * MIB
"""At most this much of the file is checksummed while init is on its way."""
# Statuses of a recorded upload that can still take parts.
RESUMABLE = frozenset({"initiated", "in_progress"})
# An upload the server no longer knows, or that can never finish: start a new one.
GONE_CODES = frozenset({"UPLOAD_NOT_FOUND", "UPLOAD_CANCELLED", "UPLOAD_EXPIRED"})


@dataclass(frozen=True)
class UploadOptions:
    concurrency: int = 8
    multipart_threshold: int = 8 * MIB
    part_size: int | None = None
    """Asked of the server; None lets it choose (8 MiB by default)."""
    chunk_size: int = 1 * MIB
    """Bytes read from disk and written to the socket at a time."""
    retry: RetryPolicy = RetryPolicy()
    resigns: int = 3
    """How often one part's URL may be signed again after S3 refused it (403)."""
    checksums: bool = True
    """CRC64NVME per part (signed into its URL, so S3 refuses corrupted bytes), for the
    whole file at complete, and to check what S3 holds before resuming."""


@dataclass(frozen=True)
class UploadRequest:
    """What to call the file and whose it is; None fields are left to the server."""

    name: str | None = None
    overwrite: bool | None = None
    content_type: str | None = None
    sha256: str | None = None
    user_id: str | None = None
    role: str | None = None
    remote_path: str | None = None
    """Store by this relative path (the folder tree kept) instead of a file name."""

    def body(self, path: Path, size: int) -> dict[str, Any]:
        fields = asdict(self) | {"file_name": self.name or path.name, "size": size}
        fields.pop("name")
        if fields.pop("remote_path") is not None:
            fields |= {"path": self.remote_path, "file_name": None}
        # Unset fields stay out (None), so the server applies its defaults.
        return {name: value for name, value in fields.items() if value is not None}


@dataclass
class UploadResult:
    path: str
    key: str
    size: int
    method: str
    """"draft" or "multipart"."""
    id: str
    """The draft id or the upload id."""
    parts_sent: int = 0
    parts_resumed: int = 0
    parts_repaired: int = 0
    """Parts S3 held that were not the local file's bytes, so were sent again."""
    sha256: str | None = None
    checksum: str | None = None
    """The whole file's CRC64NVME (base64) that S3 checked, when checksums are on."""
    seconds: float = 0.0

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Uploader:
    api: StowageApi
    s3: httpx.Client
    """For the presigned URLs: no API key is ever sent to S3."""
    options: UploadOptions = field(default_factory=UploadOptions)
    resume: ResumeStore | None = None
    progress: Progress = field(default_factory=NullProgress)
    stop: threading.Event = field(default_factory=threading.Event)
    """Set it (from a signal handler, say) to stop between chunks; resumable."""

    def upload(self, path: Path, request: UploadRequest | None = None) -> UploadResult:
        request = request or UploadRequest()
        started = time.monotonic()
        size = path.stat().st_size
        if size < self.options.multipart_threshold and size <= DRAFT_LIMIT:
            result = self.upload_draft(path, size, request)
        else:
            result = self.upload_multipart(path, request)
        result.sha256 = request.sha256
        result.seconds = round(time.monotonic() - started, 3)
        return result

    # -- drafts: create, one form POST to S3, confirm

    def upload_draft(self, path: Path, size: int, request: UploadRequest) -> UploadResult:
        before = path.stat()
        body = request.body(path, size)
        checksum = None
        if self.options.checksums:  # pinned in the POST policy: S3 refuses other bytes
            crc = CRCS[ALGORITHM]
            checksum = crc.encode(digest_slice(path, 0, size, crc).crc)
            body |= {"checksum_algorithm": ALGORITHM, "checksum": checksum}
        draft = self.api.create_draft(body)
        if draft.get("status") == "deduplicated":  # the server has these bytes there
            return deduplicated_result(path, draft)
        meter = self.progress.meter(path.name, size)
        try:
            retrying(
                lambda: self.post_form(path, draft["upload"], meter),
                self.options.retry,
                lambda error: is_transient_error(error) or isinstance(error, StorageBusy),
            )
        finally:
            meter.close()
        ensure_unchanged(path, before.st_size, before.st_mtime_ns)
        confirmed = self.api.confirm_draft(draft["draft_id"])
        result = UploadResult(str(path), confirmed["key"], size, "draft", draft["draft_id"])
        result.checksum = checksum
        return result

    def post_form(self, path: Path, form: dict[str, Any], meter: Meter) -> None:
        """The presigned POST: the signed fields, then the file, streamed from disk."""
        with path.open("rb") as file:
            counted = CountingReader(file, meter, self.stop)
            # httpx only reads it, after sizing it with fileno/tell/seek.
            upload = cast(BinaryIO, counted)
            try:
                answer = self.s3.post(
                    form["url"], data=form["fields"], files={"file": (path.name, upload)}
                )
            except BaseException:
                meter.advance(-counted.count)
                raise
        if answer.status_code >= 300:
            meter.advance(-counted.count)
            if retryable_s3(answer):
                raise StorageBusy(f"S3 answered the draft upload with {answer.status_code}")
            raise StorageRefused("S3 refused the draft upload", answer)

    # -- multipart: init or resume, parts in parallel, complete

    def upload_multipart(self, path: Path, request: UploadRequest) -> UploadResult:
        version = FileVersion.of(path, request.body(path, path.stat().st_size))
        early = self.early_crcs(path, version.size)
        plan, held = self.resumed(version) or self.started(path, version, request)
        if plan.get("status") == "deduplicated":  # the server has these bytes there
            return deduplicated_result(path, plan)
        if plan.get("status") == "completed":  # done before a crash, never recorded
            return self.finished(path, version, plan, held, 0)
        crcs = self.part_crcs(path, plan, version.size)
        crc_of, repaired = self.verify_held(path, plan, held, crcs)
        todo = [n for n in range(1, plan["part_count"] + 1) if n not in held]
        etags = dict(held)
        known = early_values(early, crcs) | crc_of
        sent, computed = self.send_parts(path, plan, todo, version.size, crcs, known)
        etags |= sent
        ensure_unchanged(path, version.size, version.mtime_ns)
        listed = [{"part_number": n, "etag": etags[n]} for n in sorted(etags)]
        checksum = None
        if crcs is not None:
            crc_of |= computed
            lengths = (crcs.length(n) for n in range(1, plan["part_count"] + 1))
            ordered = [(crc_of[n], length) for n, length in enumerate(lengths, start=1)]
            checksum = crcs.crc.encode(whole(crcs.crc, ordered))
        done = self.api.complete_upload(plan["upload_id"], listed, checksum)
        result = self.finished(path, version, plan | done, held, len(todo))
        result.parts_repaired, result.checksum = repaired, checksum
        return result

    def early_crcs(self, path: Path, size: int) -> Future[tuple[int, dict[int, int]]] | None:
        """The first round of parts' CRCs, computed in the background while init (or the
        status of a resumed upload) is on its way, for the part size the server will
        most likely plan: the first sign call then need not wait for them. With another
        plan they are dropped (`early_values`) and computed again."""
        if not self.options.checksums:
            return None
        part_size = likely_part_size(size, self.options.part_size)
        count = min(
            self.options.concurrency, -(-size // part_size), max(1, EARLY_CHECKSUMS // part_size)
        )
        crc = CRCS[ALGORITHM]

        def compute() -> tuple[int, dict[int, int]]:
            return part_size, {
                n: digest_slice(path, (n - 1) * part_size, part_length(n, part_size, size), crc).crc
                for n in range(1, count + 1)
            }

        executor = ThreadPoolExecutor(1, "stowage-early-crcs")
        try:
            return executor.submit(compute)
        finally:
            executor.shutdown(wait=False)

    def part_crcs(self, path: Path, plan: dict[str, Any], size: int) -> PartCrcs | None:
        """How this upload's parts are checksummed: in the algorithm it was started with
        (None for an upload started without one, or with checksums off)."""
        crc: Crc | None = CRCS.get(plan.get("checksum_algorithm") or "")
        if not self.options.checksums or crc is None:
            return None
        return PartCrcs(path, plan["part_size"], size, crc)

    def verify_held(
        self, path: Path, plan: dict[str, Any], held: dict[int, str], crcs: PartCrcs | None
    ) -> tuple[dict[int, int], int]:
        """Check each part S3 holds against the local file: by its checksum where S3 lists
        one, else by its ETag (the MD5 of a part stored without encryption by KMS). A part
        that differs is dropped from `held`, so it is sent again. Answers the CRCs of the
        parts kept (for the whole file's checksum) and how many were dropped."""
        if not held or not self.options.checksums:
            return {}, 0
        listed = {p["part_number"]: p.get("checksum") for p in plan.get("parts", [])}
        crc = crcs.crc if crcs else CRCS[ALGORITHM]
        part_size, size = plan["part_size"], plan["size"]

        def check(number: int) -> tuple[int, bool, int]:
            reported = listed.get(number) if crcs else None
            offset, length = (number - 1) * part_size, part_length(number, part_size, size)
            found = digest_slice(path, offset, length, crc, with_md5=reported is None)
            if reported is not None:
                return number, crc.encode(found.crc) == reported, found.crc
            return number, held[number].strip('"') == found.md5, found.crc

        with ThreadPoolExecutor(self.options.concurrency, "stowage-verify") as pool:
            results = list(pool.map(check, sorted(held)))
        for number, same, _ in results:
            if not same:
                del held[number]
        return {n: value for n, same, value in results if same}, sum(not r[1] for r in results)

    def finished(
        self,
        path: Path,
        version: FileVersion,
        answer: dict[str, Any],
        held: dict[int, str],
        sent: int,
    ) -> UploadResult:
        if self.resume is not None:
            self.resume.forget(version.path)
        return UploadResult(
            path=str(path),
            key=answer["key"],
            size=version.size,
            method="multipart",
            id=answer["upload_id"],
            parts_sent=sent,
            parts_resumed=len(held),
        )

    def started(
        self, path: Path, version: FileVersion, request: UploadRequest
    ) -> tuple[dict[str, Any], dict[int, str]]:
        body = request.body(path, version.size)
        if self.options.part_size:
            body["part_size"] = self.options.part_size
        if self.options.checksums:
            body["checksum_algorithm"] = ALGORITHM
        plan = self.api.init_upload(body)
        if self.resume is not None and "upload_id" in plan:
            self.resume.remember(plan["upload_id"], version)
        return plan, {}

    def resumed(self, version: FileVersion) -> tuple[dict[str, Any], dict[int, str]] | None:
        """The recorded upload of this very file version and what S3 holds of it."""
        recorded = self.resume.find(version.path) if self.resume else None
        if recorded is None:
            return None
        if recorded.version != version:
            self.cancel_quietly(recorded.upload_id)
            return None
        try:
            status = self.api.upload_status(recorded.upload_id)
        except ApiError as error:
            if error.code in GONE_CODES:
                return None
            raise
        if status["status"] not in RESUMABLE | {"completed"}:
            return None
        return status, held_parts(status)

    def cancel_quietly(self, upload_id: str) -> None:
        """A stale upload of an older version of the file: abort it, best effort
        (the bucket's lifecycle rule aborts what this misses)."""
        try:
            self.api.cancel_upload(upload_id)
        except (ApiError, httpx.TransportError):
            pass

    def send_parts(
        self,
        path: Path,
        plan: dict[str, Any],
        todo: list[int],
        size: int,
        crcs: PartCrcs | None,
        known: dict[int, int] | None = None,
    ) -> tuple[dict[int, str], dict[int, int]]:
        """PUT the parts in `todo`, `concurrency` at a time; their ETags by number, and
        their CRCs when checksummed (`known`: CRCs computed already)."""
        part_size = plan["part_size"]
        done_bytes = size - sum(part_length(n, part_size, size) for n in todo)
        meter = self.progress.meter(path.name, size, done_bytes)
        signer = PartSigner(
            self.api, plan["upload_id"], todo, crcs, self.options.concurrency, known
        )
        sender = PartSender(self, path, part_size, signer, meter)
        try:
            return sender.run(todo), signer.computed
        finally:
            meter.close()


def deduplicated_result(path: Path, answer: dict[str, Any]) -> UploadResult:
    """Init or draft create said the file is already stored (same SHA-256): nothing sent."""
    return UploadResult(str(path), answer["key"], answer["size"], "deduplicated", "")


def held_parts(status: dict[str, Any]) -> dict[int, str]:
    """Parts S3 holds with the planned size (a short part is sent again)."""
    size, part_size = status["size"], status["part_size"]
    return {
        part["part_number"]: part["etag"]
        for part in status.get("parts", [])
        if part["size"] == part_length(part["part_number"], part_size, size)
    }


def likely_part_size(size: int, asked: int | None) -> int:
    """The part size the server plans by the contract's rules: the one asked (or its
    default, 8 MiB), at least 5 MiB, raised so that the file has at most 10,000 parts."""
    return max(asked or DEFAULT_PART, MIN_PART, -(-size // MAX_PARTS))


def early_values(
    early: Future[tuple[int, dict[int, int]]] | None, crcs: PartCrcs | None
) -> dict[int, int]:
    """The early CRCs, if they were computed for this plan (same part size, CRC64NVME)."""
    if early is None or crcs is None or crcs.crc.name != ALGORITHM:
        return {}
    try:
        part_size, values = early.result()
    except (OSError, FileChangedError):
        return {}  # computed again, where the error is reported
    return values if part_size == crcs.part_size else {}


def part_length(number: int, part_size: int, size: int) -> int:
    return max(0, min(part_size, size - (number - 1) * part_size))


def ensure_unchanged(path: Path, size: int, mtime_ns: int) -> None:
    """Refuse to finish an upload whose file changed while it was read."""
    now = path.stat()
    if (now.st_size, now.st_mtime_ns) != (size, mtime_ns):
        raise FileChangedError(f"{path} changed while it was being uploaded")


class StorageRefused(Exception):
    """S3 answered a presigned request with an error that retrying will not fix."""

    def __init__(self, message: str, response: httpx.Response) -> None:
        super().__init__(f"{message}: {response.status_code} {s3_error_code(response)}")
        self.status = response.status_code


def s3_error_code(response: httpx.Response) -> str:
    """`AccessDenied` from S3's XML error body, without parsing the rest."""
    text = response.text
    start = text.find("<Code>")
    end = text.find("</Code>", start)
    return text[start + 6 : end] if start >= 0 and end > start else ""


class PartSender:
    """The parallel part PUTs of one upload."""

    def __init__(
        self, uploader: Uploader, path: Path, part_size: int, signer: PartSigner, meter: Meter
    ) -> None:
        self.uploader, self.path, self.part_size = uploader, path, part_size
        self.signer, self.meter = signer, meter
        self.options = uploader.options
        # Stops this upload's workers when one fails, as well as on the uploader's stop.
        self.halt = threading.Event()

    def run(self, todo: list[int]) -> dict[int, str]:
        with ThreadPoolExecutor(self.options.concurrency, "stowage-part") as pool:
            futures = {pool.submit(self.send, n): n for n in todo}
            try:
                finished, _ = wait(futures, return_when=FIRST_EXCEPTION)
                failed = [f for f in finished if f.exception() is not None]
                if failed:
                    raise first_error(failed)
            except BaseException:
                self.halt.set()
                pool.shutdown(wait=True, cancel_futures=True)
                raise
        return {futures[f]: f.result() for f in futures}

    def send(self, number: int) -> str:
        """One part, re-signed after a 403 and retried after transient failures."""
        failures = resigns = 0
        while True:
            response = self.put(number)
            if response is not None and response.status_code == 200:
                return response.headers["etag"]
            if response is not None and response.status_code == 403:
                if resigns == self.options.resigns:
                    raise StorageRefused(f"S3 refused part {number}", response)
                resigns += 1
                self.signer.forget(number)
                continue
            if response is not None and not retryable_s3(response):
                raise StorageRefused(f"S3 refused part {number}", response)
            failures += 1
            if failures == self.options.retry.attempts:
                raise TransferFailed(f"part {number} failed {failures} times; giving up")
            self.pause(self.options.retry.delay(failures))

    def pause(self, seconds: float) -> None:
        """Back off, but wake at once when the upload is stopping."""
        deadline = time.monotonic() + seconds
        while not self.stopping() and time.monotonic() < deadline:
            self.halt.wait(min(0.1, seconds))

    def put(self, number: int) -> httpx.Response | None:
        """One try; None for a transient network failure. Bytes sent by a failed try
        are taken back from the progress bar."""
        if self.stopping():
            raise Cancelled("stopped")
        part = self.signer.part(number)
        sent = 0

        def counted(count: int) -> None:
            nonlocal sent
            sent += count
            self.meter.advance(count)

        offset, size = (number - 1) * self.part_size, part["size"]
        body = read_slice(self.path, offset, size, self.options.chunk_size, counted, self.stopping)
        try:
            # The part's `headers` (its checksum) are signed into the URL: sent as given.
            headers = {"Content-Length": str(size)} | part.get("headers", {})
            response = self.uploader.s3.put(part["url"], content=body, headers=headers)
        except httpx.TransportError:
            self.meter.advance(-sent)
            return None
        except BaseException:
            self.meter.advance(-sent)
            raise
        if response.status_code != 200:
            self.meter.advance(-sent)
        return response

    def stopping(self) -> bool:
        return self.halt.is_set() or self.uploader.stop.is_set()


def retryable_s3(response: httpx.Response) -> bool:
    """5xx and 429; S3's 400 RequestTimeout (it gave up waiting on a slow body), and its
    400 BadDigest (the bytes it got are not their signed checksum: corrupted on the way,
    so sent again from the file)."""
    if response.status_code in TRANSIENT_STATUSES:
        return True
    return response.status_code == 400 and (
        b"RequestTimeout" in response.content or b"BadDigest" in response.content
    )


def first_error(failed: list[Future[str]]) -> BaseException:
    errors = [e for e in (f.exception() for f in failed) if e is not None]
    real = [e for e in errors if not isinstance(e, Cancelled)]
    return (real or errors)[0]


class StorageBusy(Exception):
    """S3 answered 5xx or 429: worth another try."""


class TransferFailed(Exception):
    """A part kept failing with transient errors until the retries ran out."""


class CountingReader:
    """A file for httpx's multipart form that moves the progress bar as it is read.
    `fileno` stays reachable so httpx can send a Content-Length (S3 needs one)."""

    def __init__(self, file: BinaryIO, meter: Meter, stop: threading.Event) -> None:
        self.file, self.meter, self.stop = file, meter, stop
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        if self.stop.is_set():
            raise Cancelled("stopped")
        data = self.file.read(size)
        self.count += len(data)
        self.meter.advance(len(data))
        return data

    def fileno(self) -> int:
        return self.file.fileno()

    def tell(self) -> int:
        return self.file.tell()

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.file.seek(offset, whence)


def sha256_of(path: Path, chunk_size: int = 4 * MIB) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()
