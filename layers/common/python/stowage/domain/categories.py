"""Content type → category, the fourth segment of every key."""

from __future__ import annotations

import mimetypes
from pathlib import PurePosixPath
from typing import Literal

Category = Literal["image", "video", "audio", "document", "other"]
DEFAULT_CONTENT_TYPE = "application/octet-stream"

_MEDIA: dict[str, Category] = {"image": "image", "video": "video", "audio": "audio"}
_DOCUMENT_TYPES = frozenset(
    {
        "application/pdf",
        "application/json",
        "application/xml",
        "application/rtf",
        "application/msword",
        "application/epub+zip",
        "application/x-ndjson",
        "application/yaml",
        "application/csv",
    }
)
_DOCUMENT_PREFIXES = (
    "application/vnd.openxmlformats-officedocument.",
    "application/vnd.ms-",
    "application/vnd.oasis.opendocument.",
)


def category_for(content_type: str) -> Category:
    """Which category a content type files under; parameters such as charset are ignored."""
    essence = content_type.split(";", 1)[0].strip().lower()
    major, _, _ = essence.partition("/")
    if major in _MEDIA:
        return _MEDIA[major]
    if major == "text" or essence in _DOCUMENT_TYPES or essence.startswith(_DOCUMENT_PREFIXES):
        return "document"
    if essence.endswith(("+json", "+xml")):
        return "document"
    return "other"


# The Lambda runtime has no /etc/mime.types, so Python's built-in table is all there
# is; it lacks the Office formats.
_EXTRA_TYPES = {
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ".odt": "application/vnd.oasis.opendocument.text",
    ".ods": "application/vnd.oasis.opendocument.spreadsheet",
    ".odp": "application/vnd.oasis.opendocument.presentation",
    ".md": "text/markdown",
    ".sqlite": "application/vnd.sqlite3",
}
_COMPRESSED = {
    "gzip": "application/gzip",
    "bzip2": "application/x-bzip2",
    "xz": "application/x-xz",
    "br": "application/x-brotli",
    "compress": "application/x-compress",
}


def content_type_for(file_name: str, given: str | None) -> str:
    """The content type a client gave, else one guessed from the name, else octet-stream.

    A compressed file (`data.csv.gz`) is stored as what it is, a gzip file.
    """
    if given:
        return given
    extra = _EXTRA_TYPES.get(PurePosixPath(file_name).suffix.lower())
    if extra:
        return extra
    guessed, encoding = mimetypes.guess_file_type(file_name, strict=False)
    if encoding:
        return _COMPRESSED.get(encoding, DEFAULT_CONTENT_TYPE)
    return guessed or DEFAULT_CONTENT_TYPE
