"""Field types shared by every request and answer."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainSerializer


def format_timestamp(moment: datetime) -> str:
    """RFC 3339 in UTC with a `Z`, to the second, as the contract writes times."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _not_dot_names(value: str) -> str:
    if value in {".", ".."}:
        raise ValueError("must not be '.' or '..'")
    return value


Timestamp = Annotated[datetime, PlainSerializer(format_timestamp, return_type=str)]
Name = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.@-]{1,128}$"), AfterValidator(_not_dot_names)]
"""A role or a user id: safe in a key segment as it is."""

AppName = Annotated[str, Field(pattern=r"^[a-z0-9_-]{1,64}$")]
"""The app a backup belongs to; it starts the backup's file name."""

FileKind = Literal["file", "backup"]

Sha256Hex = Annotated[str, Field(pattern=r"^[0-9a-fA-F]{64}$")]
ContentType = Annotated[
    str,
    Field(
        max_length=255,
        # RFC 9110 media type: type/subtype, then `; name=value` parameters; printable
        # ASCII only, so nothing can smuggle a header line into what S3 stores.
        pattern=r"^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*"
        r"([ \t]*;[ \t]*[A-Za-z0-9!#$&^_.+-]+=(\"[\x20\x21\x23-\x7e]*\"|[A-Za-z0-9!#$&^_.+-]+))*$",
    ),
]


# Every model of the layer is `defer_build=True`: pydantic makes its validator and
# serializer at its first use, not when the class is defined, so a function builds the
# few models its route touches and none of the others its modules define (a handler
# imports many: the domain's records, shared answers). bench/cold_start.py prints the
# import and the first request side by side, so what is deferred is seen.


class Request(BaseModel):
    """Requests are strict: unknown fields and wrong types are rejected, never coerced."""

    model_config = ConfigDict(extra="forbid", strict=True, defer_build=True)


class Response(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)


# The naming rule the domain checks (catalog.name_for), for the OpenAPI document: a
# backup gives its app and iteration (stowage names it), a file its name or path and
# neither.
FILE_OR_BACKUP: dict[str, Any] = {
    "if": {"properties": {"kind": {"const": "backup"}}, "required": ["kind"]},
    "then": {
        "required": ["app", "iteration"],
        "properties": {"app": {"type": "string"}, "iteration": {"type": "integer"}},
    },
    "else": {
        "oneOf": [
            {"required": ["file_name"], "properties": {"path": {"type": "null"}}},
            {"required": ["path"], "properties": {"file_name": {"type": "null"}}},
        ],
        "properties": {
            "app": {"type": "null"},
            "iteration": {"type": "null"},
        },
    },
}


class NewFileRequest(Request):
    """What starting any upload says: the file, who it is for, and for a backup its app."""

    model_config = ConfigDict(json_schema_extra=FILE_OR_BACKUP, defer_build=True)

    file_name: str | None = Field(default=None, min_length=1, max_length=1024)
    """Required for files unless `path` is given; a backup is named by stowage."""
    path: str | None = Field(default=None, min_length=1, max_length=1024)
    """A relative `/`-separated path instead of `file_name`: the file keeps its folder
    tree (`{key_prefix/}{role}/{user_id}/tree/{path}`)."""
    size: int = Field(ge=0)
    content_type: ContentType | None = None
    sha256: Sha256Hex | None = None
    user_id: Name | None = None
    role: Name | None = None
    overwrite: bool = False
    kind: FileKind = "file"
    app: AppName | None = None
    iteration: int | None = Field(default=None, ge=0)
