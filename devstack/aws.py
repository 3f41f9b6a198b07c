"""S3 and DynamoDB on moto's server, created from the template's own definitions.

moto runs in a child process on 127.0.0.1 (`moto_process.py`; `MotoServer` starts
it); handlers reach it over HTTP through `AWS_ENDPOINT_URL`, exactly as boto3
reaches AWS, so no code path is mocked.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from devstack.moto_process import MotoServer as MotoServer  # the seam LocalStack uses
from devstack.moto_process import ensure_port_free as ensure_port_free
from devstack.moto_process import strict_s3_enabled as strict_s3_enabled
from devstack.template import BucketSpec, Node, StackSpec, TableSpec

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client

REGION = "us-east-1"
ACCESS_KEY_ID = "testing"
SECRET_ACCESS_KEY = "testing"  # nosec B105  # moto's fake credentials, local only
SESSION_TOKEN = "testing"  # nosec B105  # moto's fake credentials, local only
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
    "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
    "AWS_SESSION_TOKEN": SESSION_TOKEN,
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}
# Path-style and SigV4, so presigned URLs point at the local endpoint as-is.
S3_CONFIG = Config(signature_version="s3v4", s3={"addressing_style": "path"})


def client(service: str, endpoint: str) -> Any:
    """A boto3 client for `service` on the local endpoint, with fake credentials."""
    return boto3.client(
        service,  # type: ignore[call-overload]  # any service name, typed ones below
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY_ID,
        aws_secret_access_key=SECRET_ACCESS_KEY,
        config=S3_CONFIG if service == "s3" else None,
    )


def s3_client(endpoint: str) -> S3Client:
    """S3 on the local endpoint, path-style and SigV4 like the handlers use it."""
    result: S3Client = client("s3", endpoint)
    return result


def dynamodb_client(endpoint: str) -> DynamoDBClient:
    """DynamoDB on the local endpoint."""
    result: DynamoDBClient = client("dynamodb", endpoint)
    return result


def create_resources(spec: StackSpec, endpoint: str) -> list[str]:
    """Create every bucket and table of the template; returns what moto refused."""
    warnings: list[str] = []
    s3, dynamodb = s3_client(endpoint), dynamodb_client(endpoint)
    for bucket in spec.buckets:
        warnings += create_bucket(s3, bucket)
    for table in spec.tables:
        create_table(dynamodb, table)
    return warnings


# ------------------------------------------------------------------------- S3


def create_bucket(s3: S3Client, bucket: BucketSpec) -> list[str]:
    """The bucket, then each configuration; what moto refuses becomes a warning."""
    s3.create_bucket(Bucket=bucket.name)  # us-east-1 takes no LocationConstraint
    warnings = []
    for name, configure in _BUCKET_CONFIGURATIONS.items():
        try:
            configure(s3, bucket)
        except ClientError as error:
            warnings.append(f"bucket {bucket.logical_id}: moto refused {name}: {error}")
    return warnings


def _put_cors(s3: S3Client, bucket: BucketSpec) -> None:
    """CloudFormation's CorsRules, renamed to the S3 API's field names."""
    if bucket.cors_rules:
        config: Any = {"CORSRules": [_cors_rule(rule) for rule in bucket.cors_rules]}
        s3.put_bucket_cors(Bucket=bucket.name, CORSConfiguration=config)


def _cors_rule(rule: dict[str, Node]) -> dict[str, Node]:
    renamed = {
        "ID": rule.get("Id"),
        "AllowedMethods": rule.get("AllowedMethods"),
        "AllowedOrigins": rule.get("AllowedOrigins"),
        "AllowedHeaders": rule.get("AllowedHeaders"),
        "ExposeHeaders": rule.get("ExposedHeaders"),
        "MaxAgeSeconds": None if rule.get("MaxAge") is None else int(rule["MaxAge"]),
    }
    return {key: value for key, value in renamed.items() if value is not None}


def _put_lifecycle(s3: S3Client, bucket: BucketSpec) -> None:
    """The lifecycle rules the template uses: aborts, expirations, transitions, filters."""
    if bucket.lifecycle_rules:
        config: Any = {"Rules": [_lifecycle_rule(rule) for rule in bucket.lifecycle_rules]}
        s3.put_bucket_lifecycle_configuration(Bucket=bucket.name, LifecycleConfiguration=config)


def _lifecycle_rule(rule: dict[str, Node]) -> dict[str, Node]:
    result: dict[str, Node] = {
        "Status": rule.get("Status", "Enabled"),
        "Filter": _lifecycle_filter(rule),
    }
    transitions = rule.get("Transitions") or []
    if transitions:
        result["Transitions"] = [
            {"Days": int(t["TransitionInDays"]), "StorageClass": t["StorageClass"]}
            for t in transitions
        ]
    if "Id" in rule:
        result["ID"] = rule["Id"]
    abort = rule.get("AbortIncompleteMultipartUpload")
    if abort is not None:
        days = int(abort["DaysAfterInitiation"])
        result["AbortIncompleteMultipartUpload"] = {"DaysAfterInitiation": days}
    if "ExpirationInDays" in rule:
        result["Expiration"] = {"Days": int(rule["ExpirationInDays"])}
    return result


def _lifecycle_filter(rule: dict[str, Node]) -> dict[str, Node]:
    """CloudFormation's Prefix and TagFilters, as the S3 API's Filter."""
    tags = [{"Key": t["Key"], "Value": t["Value"]} for t in rule.get("TagFilters") or []]
    prefix = rule.get("Prefix", "")
    if not tags:
        return {"Prefix": prefix}
    if len(tags) == 1 and not prefix:
        return {"Tag": tags[0]}
    return {"And": {"Prefix": prefix, "Tags": tags}}


def _put_encryption(s3: S3Client, bucket: BucketSpec) -> None:
    """Default encryption (the API renames the inner key to Apply...ByDefault)."""
    config = bucket.properties.get("BucketEncryption")
    if config:
        rules: Any = {
            "Rules": [
                {"ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"]}
                for rule in config["ServerSideEncryptionConfiguration"]
            ]
        }
        s3.put_bucket_encryption(Bucket=bucket.name, ServerSideEncryptionConfiguration=rules)


def _put_public_access_block(s3: S3Client, bucket: BucketSpec) -> None:
    config = bucket.properties.get("PublicAccessBlockConfiguration")
    if config:
        s3.put_public_access_block(Bucket=bucket.name, PublicAccessBlockConfiguration=config)


def _put_ownership(s3: S3Client, bucket: BucketSpec) -> None:
    config = bucket.properties.get("OwnershipControls")
    if config:
        s3.put_bucket_ownership_controls(Bucket=bucket.name, OwnershipControls=config)


_BUCKET_CONFIGURATIONS = {
    "CorsConfiguration": _put_cors,
    "LifecycleConfiguration": _put_lifecycle,
    "BucketEncryption": _put_encryption,
    "PublicAccessBlockConfiguration": _put_public_access_block,
    "OwnershipControls": _put_ownership,
}


# ------------------------------------------------------------------- DynamoDB


def create_table(dynamodb: DynamoDBClient, table: TableSpec) -> None:
    """The table as CloudFormation would create it, then its TTL setting."""
    arguments: dict[str, Any] = {
        "TableName": table.name,
        "KeySchema": table.key_schema,
        "AttributeDefinitions": table.attribute_definitions,
        "BillingMode": table.billing_mode,
    }
    if table.global_secondary_indexes:
        arguments["GlobalSecondaryIndexes"] = [
            _with_throughput(index, table) for index in table.global_secondary_indexes
        ]
    if table.local_secondary_indexes:
        arguments["LocalSecondaryIndexes"] = table.local_secondary_indexes
    if table.billing_mode == "PROVISIONED":
        arguments["ProvisionedThroughput"] = _throughput(table.provisioned_throughput)
    if table.stream_specification:
        arguments["StreamSpecification"] = {
            "StreamEnabled": True,
            **table.stream_specification,
        }
    dynamodb.create_table(**arguments)
    if table.time_to_live:
        _put_ttl(dynamodb, table.name, table.time_to_live)


def _with_throughput(index: dict[str, Node], table: TableSpec) -> dict[str, Node]:
    """GSIs of provisioned tables carry their own throughput; on-demand ones none."""
    if table.billing_mode != "PROVISIONED":
        return {key: value for key, value in index.items() if key != "ProvisionedThroughput"}
    return {
        **index,
        "ProvisionedThroughput": _throughput(index.get("ProvisionedThroughput")),
    }


def _throughput(config: dict[str, Node] | None) -> dict[str, int]:
    """Parameters arrive as text; the API wants numbers."""
    config = config or {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
    return {key: int(config[key]) for key in ("ReadCapacityUnits", "WriteCapacityUnits")}


def _put_ttl(dynamodb: DynamoDBClient, table_name: str, config: dict[str, Node]) -> None:
    enabled = config.get("Enabled") is True or str(config.get("Enabled")).lower() == "true"
    dynamodb.update_time_to_live(
        TableName=table_name,
        TimeToLiveSpecification={
            "AttributeName": str(config["AttributeName"]),
            "Enabled": enabled,
        },
    )


def warn(message: str) -> None:
    """Warnings go to stderr, where the request log goes too."""
    print(f"devstack: warning: {message}", file=sys.stderr, flush=True)
