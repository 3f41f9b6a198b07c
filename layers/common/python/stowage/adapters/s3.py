"""S3 storage of files and drafts: one class, one instance per bucket.

IAM actions, by what a function calls: s3:PutObject (CreateMultipartUpload,
presigned UploadPart, CompleteMultipartUpload, presigned POST, CopyObject's
target), s3:ListMultipartUploadParts, s3:AbortMultipartUpload, s3:GetObject
(HeadObject, presigned GET, CopyObject's source), s3:DeleteObject (delete,
DeleteObjects), and s3:ListBucket on the bucket (so that HeadObject of a missing key
is 404, not 403).
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from botocore.exceptions import ClientError

from stowage.adapters.aws import error_code, translated
from stowage.domain.ports import ListedObject, NewObject, ObjectInfo, PostForm, StoredPart
from stowage.errors import StorageError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

_GONE = {"NoSuchUpload", "404"}
_MISSING = {"404", "NoSuchKey", "NotFound"}


class S3ObjectStore:
    def __init__(self, client: S3Client, bucket: str) -> None:
        self.client = client
        self.bucket = bucket

    def create_multipart(self, new: NewObject) -> str:
        with translated(StorageError, "starting the upload"):
            answer = self.client.create_multipart_upload(
                Bucket=self.bucket,
                Key=new.key,
                ContentType=new.content_type,
                ContentDisposition=new.content_disposition,
                Metadata=new.metadata,
            )
        return answer["UploadId"]

    def presign_part(
        self, key: str, s3_upload_id: str, part_number: int, size: int | None, expires_in: int
    ) -> str:
        # ContentLength is signed, so S3 refuses a PUT of any other length; an upload of
        # unknown size signs none, and its complete checks the total instead.
        params: dict[str, Any] = {
            "Bucket": self.bucket,
            "Key": key,
            "UploadId": s3_upload_id,
            "PartNumber": part_number,
        }
        if size is not None:
            params["ContentLength"] = size
        return self.client.generate_presigned_url(
            "upload_part", Params=params, ExpiresIn=expires_in
        )

    def list_parts(self, key: str, s3_upload_id: str) -> list[StoredPart] | None:
        pages = self.client.get_paginator("list_parts").paginate(
            Bucket=self.bucket, Key=key, UploadId=s3_upload_id
        )
        try:
            with translated(StorageError, "listing parts"):
                return [
                    StoredPart(p["PartNumber"], p["Size"], p["ETag"])
                    for page in pages
                    for p in page.get("Parts", [])
                ]
        except StorageError as exc:
            if _cause_code(exc) in _GONE:
                return None
            raise

    def complete_multipart(self, key: str, s3_upload_id: str, parts: list[StoredPart]) -> str:
        with translated(StorageError, "completing the upload"):
            answer = self.client.complete_multipart_upload(
                Bucket=self.bucket,
                Key=key,
                UploadId=s3_upload_id,
                MultipartUpload={
                    "Parts": [{"PartNumber": p.part_number, "ETag": p.etag} for p in parts]
                },
            )
        return answer["ETag"]

    def abort_multipart(self, key: str, s3_upload_id: str) -> None:
        try:
            with translated(StorageError, "aborting the upload"):
                self.client.abort_multipart_upload(
                    Bucket=self.bucket, Key=key, UploadId=s3_upload_id
                )
        except StorageError as exc:
            if _cause_code(exc) not in _GONE:
                raise

    def head(self, key: str) -> ObjectInfo | None:
        try:
            with translated(StorageError, "reading the file"):
                answer = self.client.head_object(Bucket=self.bucket, Key=key)
        except StorageError as exc:
            if _cause_code(exc) in _MISSING:
                return None
            raise
        return ObjectInfo(
            key=key,
            size=answer["ContentLength"],
            etag=answer["ETag"],
            content_type=answer.get("ContentType", "application/octet-stream"),
            last_modified=answer["LastModified"],
            metadata=answer.get("Metadata", {}),
        )

    def presign_get(self, key: str, expires_in: int, disposition: str | None) -> str:
        params = {"Bucket": self.bucket, "Key": key}
        if disposition:
            params["ResponseContentDisposition"] = disposition
        return self.client.generate_presigned_url("get_object", Params=params, ExpiresIn=expires_in)

    def presign_post(self, key: str, content_type: str, size: int, expires_in: int) -> PostForm:
        # boto3 adds the bucket and key conditions itself; we pin type and exact length.
        post = self.client.generate_presigned_post(
            Bucket=self.bucket,
            Key=key,
            Fields={"Content-Type": content_type},
            Conditions=[{"Content-Type": content_type}, ["content-length-range", size, size]],
            ExpiresIn=expires_in,
        )
        return PostForm(url=post["url"], fields={k: str(v) for k, v in post["fields"].items()})

    def presign_open_post(
        self, key: str, content_type: str, max_size: int, expires_in: int, claim: str
    ) -> PostForm:
        """A browser's single-request upload of unknown size: 0..`max_size` bytes of
        `content_type` at `key`, carrying `claim` as metadata (all pinned by the policy)."""
        meta = {"x-amz-meta-claim": claim}
        post = self.client.generate_presigned_post(
            Bucket=self.bucket,
            Key=key,
            Fields={"Content-Type": content_type, **meta},
            Conditions=[
                {"Content-Type": content_type},
                meta,
                ["content-length-range", 0, max_size],
            ],
            ExpiresIn=expires_in,
        )
        return PostForm(url=post["url"], fields={k: str(v) for k, v in post["fields"].items()})

    def copy_from(self, source_bucket: str, source_key: str, new: NewObject) -> str:
        with translated(StorageError, "copying the file"):
            answer = self.client.copy_object(
                Bucket=self.bucket,
                Key=new.key,
                CopySource={"Bucket": source_bucket, "Key": source_key},
                MetadataDirective="REPLACE",
                ContentType=new.content_type,
                ContentDisposition=new.content_disposition,
                Metadata=new.metadata,
            )
        return answer["CopyObjectResult"]["ETag"]

    def delete(self, key: str) -> None:
        with translated(StorageError, "deleting the file"):
            self.client.delete_object(Bucket=self.bucket, Key=key)

    def sha256_of(self, key: str) -> str:
        digest = hashlib.sha256()
        with translated(StorageError, "reading the file"):
            body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"]
            for chunk in body.iter_chunks(1024 * 1024):
                digest.update(chunk)
        return digest.hexdigest()

    def archive(self, key: str, new_key: str, tag: tuple[str, str]) -> None:
        with translated(StorageError, "moving the file"):
            self.client.copy_object(
                Bucket=self.bucket,
                Key=new_key,
                CopySource={"Bucket": self.bucket, "Key": key},
                MetadataDirective="COPY",
                TaggingDirective="REPLACE",
                Tagging=urlencode([tag]),
            )
            self.client.delete_object(Bucket=self.bucket, Key=key)

    def list_after(self, prefix: str, after: str | None, limit: int) -> list[ListedObject]:
        request = {"Bucket": self.bucket, "Prefix": prefix, "MaxKeys": limit}
        if after:
            request["StartAfter"] = after
        with translated(StorageError, "listing files"):
            answer = self.client.list_objects_v2(**request)  # type: ignore[arg-type]
        return [
            ListedObject(o["Key"], o["Size"], o["ETag"], o["LastModified"])
            for o in answer.get("Contents", [])
        ]

    def delete_many(self, keys: list[str]) -> list[str]:
        if not keys:
            return []
        with translated(StorageError, "deleting files"):
            answer = self.client.delete_objects(
                Bucket=self.bucket,
                Delete={"Objects": [{"Key": k} for k in keys], "Quiet": True},
            )
        return [error["Key"] for error in answer.get("Errors", []) if "Key" in error]


def _cause_code(exc: StorageError) -> str:
    """The AWS error code behind a translated error ('' for network failures)."""
    cause = exc.__cause__
    return error_code(cause) if isinstance(cause, ClientError) else ""
