"""Clients in DynamoDB, found by the hash of their key.

IAM actions on the clients table: dynamodb:Query on the `by_key_hash` index
and dynamodb:UpdateItem (authorizer: find_by_key_hash, note_used); the admin
commands also use dynamodb:GetItem, dynamodb:PutItem and dynamodb:Scan.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from stowage.adapters.aws import translated
from stowage.adapters.dynamodb import conditional, from_item, timestamp, to_item
from stowage.domain.clients import ClientRecord
from stowage.errors import DatabaseError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

KEY_INDEX = "by_key_hash"


class DynamoClientStore:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self.client = client
        self.table = table

    def find_by_key_hash(self, key_hash: str) -> ClientRecord | None:
        with translated(DatabaseError, "looking up the key"):
            answer = self.client.query(
                TableName=self.table,
                IndexName=KEY_INDEX,
                KeyConditionExpression="key_hash = :h",
                ExpressionAttributeValues=to_item({":h": key_hash}),
                Limit=2,
            )
        items = answer.get("Items", [])
        # Two clients with one hash would mean a broken table: trust neither.
        return _record(items[0]) if len(items) == 1 else None

    def get(self, client_id: str) -> ClientRecord | None:
        with translated(DatabaseError, "reading the client"):
            answer = self.client.get_item(
                TableName=self.table, Key=to_item({"client_id": client_id}), ConsistentRead=True
            )
        item = answer.get("Item")
        return _record(item) if item else None

    def create(self, record: ClientRecord) -> bool:
        item = _item(record)
        return conditional(
            "creating the client",
            lambda: self.client.put_item(
                TableName=self.table,
                Item=to_item(item),
                ConditionExpression="attribute_not_exists(client_id)",
            ),
        )

    def update(self, client_id: str, **changes: object) -> ClientRecord | None:
        names = {f"#f{i}": name for i, name in enumerate(changes)}
        values = {f":v{i}": value for i, value in enumerate(changes.values())}
        sets = ", ".join(f"#f{i} = :v{i}" for i in range(len(changes)))
        answer: dict[str, Any] = {}

        def call() -> None:
            answer.update(
                self.client.update_item(
                    TableName=self.table,
                    Key=to_item({"client_id": client_id}),
                    UpdateExpression=f"SET {sets}",
                    ConditionExpression="attribute_exists(client_id)",
                    ExpressionAttributeNames=names,
                    ExpressionAttributeValues=to_item(values),
                    ReturnValues="ALL_NEW",
                )
            )

        if not conditional("updating the client", call):
            return None
        return _record(answer["Attributes"])

    def note_used(self, client_id: str, now: datetime, before: datetime) -> None:
        conditional(
            "noting use",
            lambda: self.client.update_item(
                TableName=self.table,
                Key=to_item({"client_id": client_id}),
                UpdateExpression="SET last_used_at = :now",
                ConditionExpression="attribute_exists(client_id)"
                " AND (attribute_not_exists(last_used_at) OR last_used_at < :before)",
                ExpressionAttributeValues=to_item(
                    {":now": timestamp(now), ":before": timestamp(before)}
                ),
            ),
        )

    def list_all(self) -> list[ClientRecord]:
        records: list[ClientRecord] = []
        with translated(DatabaseError, "listing clients"):
            for page in self.client.get_paginator("scan").paginate(TableName=self.table):
                records += [_record(item) for item in page.get("Items", [])]
        return records


def _item(record: ClientRecord) -> dict[str, Any]:
    item = record.model_dump()
    item["created_at"] = timestamp(record.created_at)
    item["last_used_at"] = timestamp(record.last_used_at) if record.last_used_at else None
    return item


def _record(item: dict[str, Any]) -> ClientRecord:
    return ClientRecord.model_validate(from_item(item))


class EnabledClients:
    """Whether a client may still act (its upload tokens die with it). IAM:
    dynamodb:GetItem on the clients table."""

    def __init__(self, store: DynamoClientStore) -> None:
        self.store = store

    def enabled(self, client_id: str) -> bool:
        record = self.store.get(client_id)
        return record is not None and not record.disabled
