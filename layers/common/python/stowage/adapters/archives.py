"""Archives: their records (uploads table, `kind` = "archive"), their manifests and zips
(drafts bucket, under `archives/`), the ranged reads of the files, and the builder's
asynchronous invocation.

IAM actions: on the uploads table dynamodb:PutItem (create), dynamodb:GetItem (get),
dynamodb:UpdateItem (claims, progress, marks), dynamodb:DeleteItem (forget),
dynamodb:Query on `by_expiry` (expired); on the drafts bucket's `archives/*`
s3:PutObject (manifest, CreateMultipartUpload, UploadPart, CompleteMultipartUpload),
s3:GetObject (manifest, presigned GET), s3:AbortMultipartUpload, s3:DeleteObject; on the
files bucket s3:GetObject (ranged reads); lambda:InvokeFunction on the builder.
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime
from typing import TYPE_CHECKING, Any

from stowage.adapters.aws import translated
from stowage.adapters.dynamodb import (
    NO_LEASE,
    DynamoRecords,
    conditional,
    stored_fields,
    timestamp,
    to_item,
)
from stowage.domain.archives import Archive, Member, manifest_lines, parse_manifest
from stowage.domain.ports import StoredPart
from stowage.errors import DatabaseError, StorageError, StoredFileNotFoundError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

_FREE = f"#s IN (:pending, :building) AND {NO_LEASE}"
_MISSING = {"NoSuchKey", "404", "NotFound", "PreconditionFailed", "412", "InvalidRange"}


class DynamoArchiveStore(DynamoRecords):
    kind = "archive"

    def create(self, archive: Archive) -> None:
        self._put_new(stored_fields(archive), archive.archive_id, archive.expires_at)

    def get(self, archive_id: str) -> Archive | None:
        item = self._get(archive_id)
        return Archive.model_validate(item) if item else None

    def claim_build(self, archive: Archive, now: datetime, until: datetime) -> bool:
        return self._update(
            archive.archive_id,
            "SET completing_until = :until, lease_token = :token, #s = :building,"
            " attempts = if_not_exists(attempts, :zero) + :one, updated_at = :now",
            f"({_FREE}) OR lease_token = :token",
            {
                ":now": timestamp(now),
                ":until": timestamp(until),
                ":token": secrets.token_hex(16),
                ":building": "building",
                ":zero": 0,
                ":one": 1,
            },
        )

    def release_build(self, archive: Archive) -> None:
        self._release(archive.archive_id)

    def record_upload(self, archive: Archive, s3_upload_id: str) -> None:
        self._set(archive, "s3_upload_id = :u", {":u": s3_upload_id})

    def record_progress(self, archive: Archive, files: int, bytes_done: int) -> None:
        self._set(archive, "files = :f, bytes_done = :b", {":f": files, ":b": bytes_done})

    def mark_ready(self, archive: Archive, now: datetime, size: int) -> None:
        self._end(archive, now, "ready", "#size = :size", {":size": size})

    def mark_failed(self, archive: Archive, now: datetime, reason: str) -> None:
        self._end(archive, now, "failed", "reason = :why", {":why": reason[:1000]})

    def expired(self, now: datetime, limit: int) -> list[Archive]:
        return [Archive.model_validate(i) for i in self._expired_items(now, limit)]

    def forget(self, archive: Archive, now: datetime) -> bool:
        return conditional(
            "deleting the archive",
            lambda: self.client.delete_item(
                TableName=self.table,
                Key=to_item({"pk": archive.archive_id}),
                ConditionExpression=NO_LEASE,
                ExpressionAttributeValues=to_item({":now": timestamp(now)}),
            ),
        )

    def _set(self, archive: Archive, assignments: str, values: dict[str, Any]) -> None:
        self._update(archive.archive_id, f"SET {assignments}", "attribute_exists(pk)", values)

    def _end(
        self, archive: Archive, now: datetime, status: str, extra: str, values: dict[str, Any]
    ) -> None:
        # `sweep` stays: the cleanup still deletes the zip and the manifest at expiry.
        request = self._update_request(
            archive.archive_id,
            f"SET #s = :end, updated_at = :now, {extra} REMOVE completing_until, lease_token",
            "attribute_exists(pk)",
            values | {":end": status, ":now": timestamp(now)},
        )
        with translated(DatabaseError, "recording the archive"):
            self.client.update_item(**request)


class S3ArchiveObjects:
    """Manifests and zips in one bucket (the drafts bucket)."""

    def __init__(self, client: S3Client, bucket: str) -> None:
        self.client = client
        self.bucket = bucket

    def put_manifest(self, key: str, members: list[Member]) -> None:
        with translated(StorageError, "recording the archive's files"):
            self.client.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=manifest_lines(members),
                ContentType="application/x-ndjson",
            )

    def read_manifest(self, key: str) -> list[Member]:
        with translated(StorageError, "reading the archive's files"):
            body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        return parse_manifest(body)

    def start_upload(self, key: str, disposition: str) -> str:
        # CRC32 on every part (botocore computes it), so S3 checks each part it receives.
        with translated(StorageError, "starting the archive"):
            answer = self.client.create_multipart_upload(
                Bucket=self.bucket,
                Key=key,
                ContentType="application/zip",
                ContentDisposition=disposition,
                ChecksumAlgorithm="CRC32",
            )
        return answer["UploadId"]

    def upload_part(self, key: str, s3_upload_id: str, number: int, data: bytes) -> StoredPart:
        with translated(StorageError, "writing the archive"):
            answer = self.client.upload_part(
                Bucket=self.bucket,
                Key=key,
                UploadId=s3_upload_id,
                PartNumber=number,
                Body=data,
                ChecksumAlgorithm="CRC32",
            )
        return StoredPart(number, len(data), answer["ETag"], answer.get("ChecksumCRC32"))

    def complete_upload(self, key: str, s3_upload_id: str, parts: list[StoredPart]) -> None:
        listed: Any = [
            {"PartNumber": p.part_number, "ETag": p.etag}
            | ({"ChecksumCRC32": p.checksum} if p.checksum else {})
            for p in parts
        ]
        with translated(StorageError, "completing the archive"):
            self.client.complete_multipart_upload(
                Bucket=self.bucket,
                Key=key,
                UploadId=s3_upload_id,
                MultipartUpload={"Parts": listed},
            )

    def abort_upload(self, key: str, s3_upload_id: str) -> None:
        try:
            with translated(StorageError, "aborting the archive"):
                self.client.abort_multipart_upload(
                    Bucket=self.bucket, Key=key, UploadId=s3_upload_id
                )
        except StorageError as exc:
            if "NoSuchUpload" not in exc.message:
                raise

    def presign_get(self, key: str, expires_in: int, disposition: str | None) -> str:
        params = {"Bucket": self.bucket, "Key": key}
        if disposition:
            params["ResponseContentDisposition"] = disposition
        return self.client.generate_presigned_url("get_object", Params=params, ExpiresIn=expires_in)

    def delete_many(self, keys: list[str]) -> list[str]:
        if not keys:
            return []
        with translated(StorageError, "deleting archives"):
            answer = self.client.delete_objects(
                Bucket=self.bucket,
                Delete={"Objects": [{"Key": k} for k in keys], "Quiet": True},
            )
        return [error["Key"] for error in answer.get("Errors", []) if "Key" in error]


class S3RangeReader:
    """Ranged GETs of the files bucket, held to the ETag each file had when it was asked for."""

    def __init__(self, client: S3Client, bucket: str) -> None:
        self.client = client
        self.bucket = bucket

    def read_range(self, key: str, start: int, end: int, etag: str) -> bytes:
        try:
            with translated(StorageError, f"reading {key}"):
                body = self.client.get_object(
                    Bucket=self.bucket, Key=key, Range=f"bytes={start}-{end}", IfMatch=etag
                )["Body"]
                return body.read()
        except StorageError as exc:
            if any(f"({code})" in exc.message for code in _MISSING):
                raise StoredFileNotFoundError(
                    f"{key} was deleted or changed while the archive was built"
                ) from exc
            raise


class LambdaBuildTrigger:
    """The builder, invoked asynchronously (`InvocationType=Event`): Lambda queues the
    event, retries a failed run twice and sends what still fails to the on-failure
    destination (the template's ArchiveBuildFailures queue)."""

    def __init__(self, client: Any, function_name: str) -> None:
        self.client = client
        self.function_name = function_name

    def start(self, archive_id: str) -> None:
        with translated(StorageError, "starting the archive's build"):
            self.client.invoke(
                FunctionName=self.function_name,
                InvocationType="Event",
                Payload=json.dumps({"archive_id": archive_id}).encode(),
            )
