"""Domain errors, one per contract error code, and their JSON rendering."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar


class StowageError(Exception):
    """Base of every error a client may see; `code` and `status` come from the contract."""

    code: ClassVar[str] = "INTERNAL_ERROR"
    status: ClassVar[int] = 500

    def __init__(
        self, message: str, *, field: str | None = None, missing: list[int] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.missing = missing

    def to_body(self, now: datetime | None = None) -> dict[str, Any]:
        """Render as the contract's `{"error": {...}}` document."""
        moment = (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        error: dict[str, Any] = {"code": self.code, "message": self.message, "timestamp": moment}
        if self.field is not None:
            error["field"] = self.field
        if self.missing is not None:
            error["missing"] = self.missing
        return {"error": error}


class MissingFieldError(StowageError):
    code, status = "MISSING_FIELD", 400


class InvalidFieldError(StowageError):
    code, status = "INVALID_FIELD", 400


class InvalidJsonError(StowageError):
    code, status = "INVALID_JSON", 400


class ForbiddenError(StowageError):
    code, status = "FORBIDDEN", 403


class InvalidTokenError(StowageError):
    """An upload token (or a POST's claim) that is malformed, tampered with or expired.
    Not in contract v1, which says only "401/403 with the error JSON"."""

    code, status = "INVALID_TOKEN", 403


class TokenUsedUpError(StowageError):
    """An upload token that has started all the uploads its `max_files` allows."""

    code, status = "TOKEN_USED_UP", 403


class UploadNotFoundError(StowageError):
    code, status = "UPLOAD_NOT_FOUND", 404


class DraftNotFoundError(StowageError):
    code, status = "DRAFT_NOT_FOUND", 404


class StoredFileNotFoundError(StowageError):
    code, status = "FILE_NOT_FOUND", 404


class NotFoundError(StowageError):
    code, status = "NOT_FOUND", 404


class ArchiveNotFoundError(StowageError):
    code, status = "ARCHIVE_NOT_FOUND", 404


class ArchiveNotReadyError(StowageError):
    code, status = "ARCHIVE_NOT_READY", 409


class MethodNotAllowedError(StowageError):
    code, status = "METHOD_NOT_ALLOWED", 405


class UploadCompletedError(StowageError):
    code, status = "UPLOAD_COMPLETED", 409


class UploadCancelledError(StowageError):
    code, status = "UPLOAD_CANCELLED", 409


class UploadIncompleteError(StowageError):
    code, status = "UPLOAD_INCOMPLETE", 409


class UploadCompletingError(StowageError):
    """Another request is completing this upload right now; retrying soon gives its answer.

    Not in contract v1, which has no code for "completion under way".
    """

    code, status = "UPLOAD_COMPLETING", 409


class SizeMismatchError(StowageError):
    code, status = "SIZE_MISMATCH", 409


class ChecksumMismatchError(StowageError):
    """S3 refused the whole file's checksum at completion: nothing was stored."""

    code, status = "CHECKSUM_MISMATCH", 409


class DraftConfirmingError(StowageError):
    """Another confirm of the same draft is copying it right now; retry shortly.

    Not in contract v1, like UPLOAD_COMPLETING for uploads.
    """

    code, status = "DRAFT_CONFIRMING", 409


class DraftConfirmedError(StowageError):
    """Discarding a draft that is already a file. Not in contract v1."""

    code, status = "DRAFT_CONFIRMED", 409


class DraftNotUploadedError(StowageError):
    code, status = "DRAFT_NOT_UPLOADED", 409


class UploadExpiredError(StowageError):
    code, status = "UPLOAD_EXPIRED", 410


class DraftExpiredError(StowageError):
    code, status = "DRAFT_EXPIRED", 410


class FileTooLargeError(StowageError):
    code, status = "FILE_TOO_LARGE", 413


class PayloadTooLargeError(StowageError):
    """The request body itself is over the API's limit (not the file it describes, which is
    FILE_TOO_LARGE). Not in contract v1."""

    code, status = "PAYLOAD_TOO_LARGE", 413


class OffsetMismatchError(StowageError):
    """tus: `Upload-Offset` is not where the upload is, or another PATCH is writing there."""

    code, status = "OFFSET_MISMATCH", 409


class TusVersionError(StowageError):
    """tus: no `Tus-Resumable: 1.0.0`."""

    code, status = "UNSUPPORTED_VERSION", 412


class UnsupportedMediaTypeError(StowageError):
    """tus: a chunk not sent as `application/offset+octet-stream`."""

    code, status = "UNSUPPORTED_MEDIA_TYPE", 415


class RateLimitedError(StowageError):
    code, status = "RATE_LIMITED", 429


class DatabaseError(StowageError):
    code, status = "DATABASE_ERROR", 502


class StorageError(StowageError):
    code, status = "STORAGE_ERROR", 502


class InternalError(StowageError):
    code, status = "INTERNAL_ERROR", 500
