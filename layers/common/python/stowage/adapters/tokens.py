"""The upload-token secret and the per-token upload counter.

IAM: secretsmanager:GetSecretValue on the token secret; dynamodb:UpdateItem on the
uploads table (the counter item `token#<id>`, which DynamoDB's TTL removes).
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import TYPE_CHECKING

from aws_lambda_powertools.utilities import parameters

from stowage.adapters.dynamodb import conditional, epoch, to_item
from stowage.config import auth_settings, token_settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

SECRET_MAX_AGE = 300


def upload_token_secret() -> bytes:
    """`UPLOAD_TOKEN_SECRET` when set, else the Secrets Manager secret; on a local stack
    without either, a key derived from the local API-key pepper (never on AWS, where
    no pepper sits in the environment)."""
    settings = token_settings()
    if settings.upload_token_secret is not None:
        return settings.upload_token_secret.get_secret_value().encode("utf-8")
    local_pepper = auth_settings().api_key_pepper
    if settings.upload_token_secret_arn and local_pepper is None:
        secret = parameters.get_secret(settings.upload_token_secret_arn, max_age=SECRET_MAX_AGE)
        return str(secret).encode("utf-8")
    if local_pepper is None:
        raise RuntimeError("set UPLOAD_TOKEN_SECRET_ARN (or UPLOAD_TOKEN_SECRET locally)")
    pepper = local_pepper.get_secret_value().encode("utf-8")
    return hmac.new(pepper, b"stowage upload tokens", hashlib.sha256).digest()


class DynamoFileCounter:
    """One item per token that limits its uploads: `files`, raised by one per upload
    while below the limit (a conditional update, so concurrent uploads never overshoot)."""

    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self.client = client
        self.table = table

    def take(self, token_id: str, limit: int, until: datetime) -> bool:
        return conditional(
            "counting the token's uploads",
            lambda: self.client.update_item(
                TableName=self.table,
                Key=to_item({"pk": f"token#{token_id}"}),
                UpdateExpression="SET kind = :kind, #ttl = :ttl ADD files :one",
                ConditionExpression="attribute_not_exists(files) OR files < :limit",
                ExpressionAttributeNames={"#ttl": "ttl"},
                ExpressionAttributeValues=to_item(
                    {":kind": "token", ":ttl": epoch(until), ":one": 1, ":limit": limit}
                ),
            ),
        )
