"""boto3 clients, configured once: SigV4 presigning and, for a local endpoint, path-style."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from stowage.config import aws_settings
from stowage.errors import StowageError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client


def client_config(endpoint_url: str | None) -> Config:
    # boto3 presigns with SigV2 unless told; local endpoints (an IP) need path-style URLs.
    # Checksums only where an operation requires one or stowage passes one: boto3's default
    # CRC32 on UploadPart is refused by S3 for uploads created without an algorithm (tus's
    # parts, for one), and checksummed uploads carry their own values.
    return Config(
        signature_version="s3v4",
        request_checksum_calculation="when_required",
        s3={"addressing_style": "path" if endpoint_url else "virtual"},
        retries={"mode": "standard", "max_attempts": 3},
        connect_timeout=5,
        read_timeout=25,
    )


def s3_client() -> S3Client:
    endpoint = aws_settings().aws_endpoint_url
    return boto3.client("s3", endpoint_url=endpoint, config=client_config(endpoint))


def dynamodb_client() -> DynamoDBClient:
    endpoint = aws_settings().aws_endpoint_url
    return boto3.client("dynamodb", endpoint_url=endpoint, config=client_config(endpoint))


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


@contextmanager
def translated(error: type[StowageError], what: str) -> Iterator[None]:
    """Turn AWS failures into the contract's 502 error without leaking their text."""
    try:
        yield
    except ClientError as exc:
        raise error(f"{what} failed ({error_code(exc) or 'error'})") from exc
    except BotoCoreError as exc:
        raise error(f"{what} failed ({type(exc).__name__})") from exc
