"""Object keys: `{key_prefix/}{role}/{user_id}/{YYYYMMDD}/{category}/{file_name}`.

A file name is checked, never rewritten into another path: anything that could
climb out of its folder is refused. Characters that S3 advises against and that
API Gateway's path decoding would corrupt are replaced by `_` in the key only.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from pathlib import PurePosixPath
from urllib.parse import quote, unquote

from stowage.errors import InvalidFieldError
from stowage.models.identity import Owner

MAX_NAME_BYTES = 255
_UNSAFE_IN_KEY = re.compile(r'[?#%"<>\[\]{}^`|~]')
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_LINE_BREAKS = frozenset({"Cc", "Zl", "Zp"})


def check_file_name(name: str, field: str = "file_name") -> str:
    """Return `name` if it is a plain base name; else raise INVALID_FIELD saying why."""
    reason = _name_problem(name)
    if reason:
        raise InvalidFieldError(f"{field} {reason}", field=field)
    return name


def _name_problem(name: str) -> str | None:
    if any(0xD800 <= ord(ch) <= 0xDFFF for ch in name):
        return "must be valid Unicode"
    if name in {"", ".", ".."}:
        return "must be a file name, not empty, '.' or '..'"
    if "/" in name or "\\" in name:
        return "must be a base name without '/' or '\\'"
    if any(unicodedata.category(ch) in _LINE_BREAKS or ch in _BIDI_CONTROLS for ch in name):
        return "must not contain control characters"
    if len(name.encode("utf-8")) > MAX_NAME_BYTES:
        return f"must be at most {MAX_NAME_BYTES} bytes in UTF-8"
    return None


MAX_KEY_BYTES = 1024


def check_key(key: str) -> str:
    """A key as given in a path: 400 if no key stowage makes could look like it
    (empty or dot segments, control characters, over S3's 1,024 bytes)."""
    segments = key.split("/")
    if len(key.encode("utf-8", errors="replace")) > MAX_KEY_BYTES or any(
        _name_problem(segment) for segment in segments
    ):
        raise InvalidFieldError("key is not a valid file key", field="key")
    return key


def key_safe_name(name: str) -> str:
    """The name as it appears in a key: unsafe characters become `_`."""
    return _UNSAFE_IN_KEY.sub("_", name)


def name_variant(name: str, attempt: int) -> str:
    """`report.pdf`, then `report (1).pdf`, `report (2).pdf`… kept within 255 bytes."""
    if attempt == 0:
        return name
    path = PurePosixPath(name)
    suffix = path.suffix if path.stem else ""
    tag = f" ({attempt})"
    if len((tag + suffix).encode("utf-8")) >= MAX_NAME_BYTES:
        suffix = ""  # an absurdly long extension is just part of the name
    stem = name[: len(name) - len(suffix)] if suffix else name
    budget = MAX_NAME_BYTES - len((tag + suffix).encode("utf-8"))
    stem = stem.encode("utf-8")[:budget].decode("utf-8", errors="ignore")
    return f"{stem}{tag}{suffix}"


def owner_prefix(owner: Owner) -> str:
    """Where every key of one user of one client starts."""
    head = f"{owner.key_prefix.strip('/')}/" if owner.key_prefix.strip("/") else ""
    return f"{head}{owner.role}/{owner.user_id}/"


def build_key(owner: Owner, day: datetime, category: str, name: str) -> str:
    """The object key of a file stored for `owner` on `day`."""
    return f"{owner_prefix(owner)}{day:%Y%m%d}/{category}/{key_safe_name(name)}"


def encode_name(name: str) -> str:
    """Original names travel in S3 metadata, which is ASCII only: percent-encode them."""
    return quote(name, safe="")


def decode_name(encoded: str) -> str:
    return unquote(encoded)


def content_disposition(name: str) -> str:
    """An attachment header that keeps a UTF-8 name (RFC 6266 / RFC 5987)."""
    fallback = name.encode("ascii", errors="replace").decode("ascii")
    fallback = fallback.replace('"', "_").replace("\\", "_").replace("?", "_")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{encode_name(name)}"
