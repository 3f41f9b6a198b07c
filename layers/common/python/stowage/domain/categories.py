"""Content type → category, the fourth segment of every key."""

from __future__ import annotations

import mimetypes
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


def content_type_for(file_name: str, given: str | None) -> str:
    """The content type a client gave, else one guessed from the name, else octet-stream."""
    if given:
        return given
    guessed, _ = mimetypes.guess_type(file_name, strict=False)
    return guessed or DEFAULT_CONTENT_TYPE
