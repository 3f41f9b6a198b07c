"""moto's S3 model made to cost what S3's work costs: no copies of an object's bytes
beyond the one it is stored as, and no file left open for an object that is gone.

moto keeps every object and part in a temporary file (`SpooledTemporaryFile`, in
memory up to 5 MiB) and copies them freely; under a benchmark of gigabytes that cost
dominated, and swung with the cost of fresh pages on this VM. These patches change how
moto holds the bytes, never what it stores or answers: the same bytes, ETags and
checksums (tests in `tests/devstack/test_devstack_strict_s3.py` read them back).

- CompleteMultipartUpload: moto reads every part into new memory, joins them, copies
  the result and writes it to the new object's file, and for a FULL_OBJECT checksum
  (any upload with CRC64NVME, or with none) keeps one more copy to checksum: 13-15 s
  for 1 GiB here at first, 1.5-4 s after joining once. Here the parts' files become
  the object's (`_Joined`, read in order as one file), and the checksum is computed as
  they are read once through one reused buffer (awscrt): 0.1-0.3 s for 1 GiB.
- PutObject, UploadPart: a value larger than moto's in-memory buffer was written to a
  BytesIO, then copied to its temporary file (1.4 s for 256 MiB); here it goes to the
  file directly (0.2 s).
- ListObjectVersions: moto deep-copies every version of every key to mark the latest,
  which reads each object's bytes into a new temporary file, and keeps the copies
  (moto tracks every model it makes until it is reset): each listing of a bucket
  holding 1 GiB held 1 GiB more for as long as the server ran. Here each version is
  listed through a copy of its attributes that shares its file and never closes it.

Follows: S3's results for these operations, as moto gives them. Does not follow:
anything of S3's durability; moto's own copies elsewhere (a GetObject still reads the
object whole, a CopyObject copies it) are left as they are.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import io
from collections.abc import Iterator
from typing import IO, Any

import moto.s3.exceptions
import moto.s3.models
from moto.settings import S3_UPLOAD_PART_MIN_SIZE

from devstack import s3_checksums


def speed_up() -> None:
    """Patch moto's S3 model in this process (the moto child's, `moto_process.py`)."""
    value = moto.s3.models.FakeKey.value
    moto.s3.models.FakeKey.value = value.setter(_set_value)  # type: ignore[attr-defined,method-assign]
    moto.s3.models.FakeMultipart.complete = _complete  # type: ignore[method-assign]
    moto.s3.models.copy = _LightCopies  # type: ignore[attr-defined,assignment]  # its one deepcopy: listings


class _Running:
    """A checksum fed in pieces (a part's, or a FULL_OBJECT's): a running CRC, or a
    hashlib SHA."""

    def __init__(self, algorithm: str) -> None:
        self.algorithm = algorithm
        self.running = 0
        is_crc = algorithm in s3_checksums.FULL_OBJECT_ALGORITHMS
        self.sha = None if is_crc else hashlib.new(algorithm.lower())

    def update(self, piece: memoryview) -> None:
        if self.sha is not None:
            self.sha.update(piece)
        else:
            self.running = s3_checksums.crc(self.algorithm, piece, self.running)

    def digest(self) -> bytes:
        if self.sha is not None:
            return self.sha.digest()
        return s3_checksums.crc_bytes(self.algorithm, self.running)


class _ChecksumBuilder(moto.s3.models.MultipartChecksumBuilder):
    """moto's, fed each part in pieces as they are joined: a FULL_OBJECT CRC is updated
    as the bytes go by, a COMPOSITE checksum hashes each part the same way, and no copy
    of the object is kept (moto's keeps one for a FULL_OBJECT)."""

    def __init__(self, checksum_algorithm: str | None, checksum_type: str | None) -> None:
        super().__init__(checksum_algorithm, checksum_type)
        self.composite = self.checksum_type == "COMPOSITE"
        crc = self.checksum_algorithm in s3_checksums.FULL_OBJECT_ALGORITHMS
        self.whole = _Running(self.checksum_algorithm) if crc and not self.composite else None
        """The CRC of the bytes so far (FULL_OBJECT); None: moto's own way."""
        self.part: _Running | None = None

    def start_part(self) -> None:
        self.part = _Running(self.checksum_algorithm) if self.composite else None

    def update(self, piece: memoryview) -> None:
        if (hashed := self.part or self.whole) is not None:
            hashed.update(piece)
        else:  # a FULL_OBJECT SHA, which S3 refuses at create: moto's copy
            self.complete_object.extend(piece)

    def end_part(self) -> None:
        if self.part is not None:
            self.checksum.extend(self.part.digest())
        self.part_count += 1

    def build(self) -> tuple[str, str, int] | None:
        if self.whole is None:
            return super().build()
        return self.checksum_type, base64.b64encode(self.whole.digest()).decode(), 1


class _Joined(io.RawIOBase):
    """A completed upload's object: its parts' files, taken from the parts, read one
    after the other as one read-only file. moto passes `complete`'s value on to the new
    key, whose value setter (`_set_value`) keeps this as the key's buffer."""

    def __init__(self, files: list[tuple[IO[bytes], int]]) -> None:
        super().__init__()
        self.files = files
        self.size = sum(size for _, size in files)
        self.position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.size}[whence]
        self.position = max(0, base + offset)
        return self.position

    def tell(self) -> int:
        return self.position

    def read(self, size: int | None = -1) -> bytes:
        end = self.size if size is None or size < 0 else min(self.size, self.position + size)
        pieces = []
        start = 0
        for file, length in self.files:
            if start + length > self.position and self.position < end:
                file.seek(self.position - start)
                piece = file.read(min(start + length, end) - self.position)
                pieces.append(piece)
                self.position += len(piece)
            start += length
        return b"".join(pieces)

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(memoryview(buffer)))
        memoryview(buffer)[: len(data)] = data
        return len(data)

    def close(self) -> None:
        for file, _ in self.files:
            file.close()
        super().close()


_PIECE = 8 * 1024 * 1024


def _complete(
    self: moto.s3.models.FakeMultipart, body: Iterator[tuple[int, str]]
) -> tuple[bytes, str, tuple[str, str, int] | None]:
    """moto's FakeMultipart.complete with the same checks and results, but the parts'
    files become the object's (`_Joined`) and are read once, through one reused buffer,
    for its checksum; moto reads each part into new memory, extends a bytearray, copies
    that to bytes and writes it to the new key's file."""
    parts: list[moto.s3.models.FakeKey] = []
    md5s = bytearray()
    for number, etag in body:
        part = self.parts.get(number)
        part_etag = part.etag.replace('"', "") if part is not None else None
        if part is None or part_etag != etag.replace('"', ""):
            raise moto.s3.exceptions.InvalidPart()
        if parts and parts[-1].contentsize < S3_UPLOAD_PART_MIN_SIZE:
            raise moto.s3.exceptions.EntityTooSmall()
        md5s.extend(bytes.fromhex(part_etag))
        parts.append(part)
    if not parts:
        raise moto.s3.exceptions.MalformedXML()
    builder = _ChecksumBuilder(
        self.metadata.get("x-amz-checksum-algorithm"), self.metadata.get("x-amz-checksum-type")
    )
    _checksum(parts, builder)
    etag = hashlib.md5(bytes(md5s), usedforsecurity=False).hexdigest()
    return _take(parts), f"{etag}-{len(parts)}", builder.build()  # type: ignore[return-value]


def _checksum(parts: list[moto.s3.models.FakeKey], builder: _ChecksumBuilder) -> None:
    piece = memoryview(bytearray(min(_PIECE, max(p.contentsize for p in parts))))
    for part in parts:
        builder.start_part()
        with part.lock:
            source = part._value_buffer
            source.seek(0)
            while count := source.readinto(piece):
                builder.update(piece[:count])
        builder.end_part()


def _take(parts: list[moto.s3.models.FakeKey]) -> _Joined:
    """The parts' files, each part left an empty one for moto to dispose of (moto lists
    a part once at most: out of order is `InvalidPartOrder`)."""
    files: list[tuple[IO[bytes], int]] = []
    for part in parts:
        with part.lock:
            files.append((part._value_buffer, part.contentsize))
            part._value_buffer = io.BytesIO()  # type: ignore[assignment]  # moto only closes it
    return _Joined(files)


def _set_value(self: moto.s3.models.FakeKey, new_value: bytes | _Joined) -> None:
    """moto's FakeKey.value setter, but a value that will not stay in memory goes to the
    temporary file at once instead of through a BytesIO that is then copied to it, and
    a completed upload's file (`_Joined`) is taken over as it is."""
    if isinstance(new_value, _Joined):
        self._value_buffer.close()
        self._value_buffer = new_value  # type: ignore[assignment]  # read, seeked, closed
        self.contentsize = new_value.size
        return
    if isinstance(new_value, str):
        new_value = new_value.encode()
    buffer = self._value_buffer
    buffer.seek(0)
    buffer.truncate()
    if len(new_value) > self._max_buffer_size:
        buffer.rollover()
    buffer.write(new_value)
    self.contentsize = len(new_value)


class _Borrowed:
    """Another key's file, read through but never closed."""

    def __init__(self, file: IO[bytes]) -> None:
        self._file = file

    def __getattr__(self, name: str) -> Any:
        return getattr(self._file, name)

    def close(self) -> None:
        pass


def _listed(version: Any) -> Any:
    """A version as ListObjectVersions lists it: its attributes, its own `is_latest`."""
    clone = object.__new__(type(version))  # moto's BaseModel.__new__ would track it
    clone.__dict__.update(version.__dict__)
    if isinstance(version, moto.s3.models.FakeKey):
        clone._value_buffer = _Borrowed(version._value_buffer)
        clone.multipart = None
        clone.disposed = True  # nothing of its own to dispose of
    return clone


class _LightCopies:
    """Stands in for the `copy` module in `moto.s3.models`, whose one `deepcopy` copies a
    key's versions to list them, and whose `copy` copies a value's bytes (kept)."""

    copy = staticmethod(copy.copy)

    @staticmethod
    def deepcopy(versions: list[Any]) -> list[Any]:
        return [_listed(version) for version in versions]
