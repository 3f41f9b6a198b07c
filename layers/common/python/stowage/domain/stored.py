"""What every stored file carries from its first byte: type, download name and owner tags."""

from __future__ import annotations

from stowage.domain.keys import content_disposition, encode_name
from stowage.domain.ports import NewObject
from stowage.models.identity import Owner

META_CLIENT, META_UPLOAD, META_NAME, META_SHA256 = "client", "upload", "name", "sha256"
"""Object metadata: the owning client, the upload or draft the file came from, its
original name (percent-encoded: metadata is ASCII) and, when known, its SHA-256."""


def new_object(
    key: str, content_type: str, owner: Owner, origin: str, name: str, sha256: str | None = None
) -> NewObject:
    """The object a file becomes, tagged with who owns it and where it came from."""
    metadata = {META_CLIENT: owner.client_id, META_UPLOAD: origin, META_NAME: encode_name(name)}
    if sha256:
        metadata[META_SHA256] = sha256.lower()
    return NewObject(key, content_type, content_disposition(name), metadata)
