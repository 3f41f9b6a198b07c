"""tus progress in the uploads table, and the bytes of tus PATCHes in S3.

The progress sits on the upload session's own item (`tus_offset`, `tus_parts`,
`tus_part_bytes`, `tus_metadata`); an append's lease is the session's lease
(`completing_until`, `lease_token`), so a complete or cancel never runs under it.

IAM actions: on the uploads table dynamodb:GetItem and dynamodb:UpdateItem; on the
files bucket s3:PutObject (UploadPart, CompleteMultipartUpload),
s3:ListMultipartUploadParts and s3:GetObject (HeadObject); on the drafts bucket's
`tus/` prefix s3:PutObject, s3:GetObject and s3:DeleteObject (the tails, DeleteObjects)
and s3:ListBucket limited to that prefix.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from stowage.adapters.aws import translated
from stowage.adapters.dynamodb import (
    NO_LEASE,
    DynamoSessionStore,
    epoch,
    timestamp,
)
from stowage.domain.session import UploadSession
from stowage.domain.tus import TusUpload
from stowage.errors import DatabaseError, StorageError
from stowage.models.tus import TusProgress

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

LOOKS = 3
TAILS = "tus/"
"""Where incomplete parts live in the drafts bucket, beside (never inside) `drafts/`."""
_ACTIVE_FREE_AT = (
    f"#s IN (:initiated, :in_progress) AND expires_at > :now AND {NO_LEASE}"
    " AND tus_offset = :offset"
)


class DynamoTusStore(DynamoSessionStore):
    def start(self, session: UploadSession, metadata: str | None) -> None:
        values: dict[str, object] = {":zero": 0}
        update = "SET tus_offset = :zero, tus_parts = :zero, tus_part_bytes = :zero"
        if metadata:
            update += ", tus_metadata = :meta"
            values[":meta"] = metadata
        # Resent after a lost answer, it finds offset 0 already there: still a start.
        condition = (
            "attribute_exists(pk) AND (attribute_not_exists(tus_offset) OR tus_offset = :zero)"
        )
        for _ in range(LOOKS):
            if self._update(session.upload_id, update, condition, values):
                return
            item = self._get(session.upload_id)
            if item is not None and "tus_offset" in item:
                return
        raise DatabaseError("recording the tus upload failed")

    def get_tus(self, upload_id: str) -> TusUpload | None:
        item = self._get(upload_id)
        if not item or "tus_offset" not in item:
            return None
        progress = TusProgress(
            offset=int(item["tus_offset"]),
            parts=int(item.get("tus_parts", 0)),
            part_bytes=int(item.get("tus_part_bytes", 0)),
            metadata=item.get("tus_metadata"),
        )
        return TusUpload(UploadSession.model_validate(item), progress)

    def claim_append(self, upload: TusUpload, token: str, now: datetime, until: datetime) -> bool:
        return self._update(
            upload.session.upload_id,
            "SET completing_until = :until, lease_token = :token",
            f"({_ACTIVE_FREE_AT}) OR lease_token = :token",
            {
                ":now": timestamp(now),
                ":until": timestamp(until),
                ":token": token,
                ":offset": upload.progress.offset,
            },
        )

    def record_append(
        self, upload: TusUpload, token: str, progress: TusProgress, now: datetime, expires: datetime
    ) -> bool:
        session = upload.session
        return self._update(
            session.upload_id,
            "SET tus_offset = :offset, tus_parts = :parts, tus_part_bytes = :bytes,"
            " #s = :in_progress, status_created = :sc, updated_at = :now, expires_at = :exp,"
            " #ttl = :ttl REMOVE completing_until, lease_token",
            "lease_token = :token AND tus_offset = :was",
            {
                ":offset": progress.offset,
                ":parts": progress.parts,
                ":bytes": progress.part_bytes,
                ":was": upload.progress.offset,
                ":token": token,
                ":now": timestamp(now),
                ":exp": timestamp(expires),
                ":sc": f"in_progress#{timestamp(session.created_at)}",
                ":ttl": epoch(expires + self.retention),
            },
        )

    def release_append(self, upload: TusUpload, token: str) -> None:
        self._update(
            upload.session.upload_id,
            "REMOVE completing_until, lease_token",
            "lease_token = :token",
            {":token": token},
        )


class S3TusParts:
    """Parts go to the files bucket's multipart upload; tails to the drafts bucket."""

    def __init__(self, client: S3Client, files_bucket: str, tails_bucket: str) -> None:
        self.client = client
        self.files_bucket = files_bucket
        self.tails_bucket = tails_bucket

    def upload_part(self, key: str, s3_upload_id: str, part_number: int, data: bytes) -> str:
        with translated(StorageError, "storing the chunk"):
            answer = self.client.upload_part(
                Bucket=self.files_bucket,
                Key=key,
                UploadId=s3_upload_id,
                PartNumber=part_number,
                Body=data,
            )
        return answer["ETag"]

    def put_tail(self, upload_id: str, offset: int, data: bytes) -> None:
        with translated(StorageError, "storing the chunk"):
            self.client.put_object(
                Bucket=self.tails_bucket, Key=tail_key(upload_id, offset), Body=data
            )

    def get_tail(self, upload_id: str, offset: int) -> bytes:
        with translated(StorageError, "reading the incomplete part"):
            answer = self.client.get_object(
                Bucket=self.tails_bucket, Key=tail_key(upload_id, offset)
            )
            return answer["Body"].read()

    def delete_tails(self, upload_id: str, keep: int | None = None) -> None:
        prefix = f"{TAILS}{upload_id}/"
        with translated(StorageError, "deleting incomplete parts"):
            listed = self.client.list_objects_v2(Bucket=self.tails_bucket, Prefix=prefix)
            keys = [o["Key"] for o in listed.get("Contents", [])]
            if keep is not None:
                keys = [k for k in keys if k != tail_key(upload_id, keep)]
            if keys:
                self.client.delete_objects(
                    Bucket=self.tails_bucket,
                    Delete={"Objects": [{"Key": k} for k in keys], "Quiet": True},
                )


def tail_key(upload_id: str, offset: int) -> str:
    """The incomplete part of an upload that ends at `offset`: a retry from the same
    offset writes the same name, and the offset's record picks which one counts."""
    return f"{TAILS}{upload_id}/{offset:020d}"
