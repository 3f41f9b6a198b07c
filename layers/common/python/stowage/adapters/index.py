"""Each user's file index: one item of the uploads table (`kind` = "index"), written
under optimistic locking on `version`.

IAM actions on the uploads table: dynamodb:GetItem (load), dynamodb:PutItem (save).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from stowage.adapters.aws import translated
from stowage.adapters.dynamodb import conditional, from_item, to_item
from stowage.domain.catalog import UserIndex
from stowage.errors import DatabaseError
from stowage.models.identity import Owner

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def index_pk(owner: Owner) -> str:
    return f"index#{owner.client_id}#{owner.role}#{owner.user_id}"


class DynamoIndexStore:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self.client = client
        self.table = table

    def load(self, owner: Owner) -> UserIndex:
        with translated(DatabaseError, "reading the file index"):
            answer = self.client.get_item(
                TableName=self.table, Key=to_item({"pk": index_pk(owner)}), ConsistentRead=True
            )
        item = from_item(answer.get("Item") or {})
        if not item:
            return UserIndex()
        return UserIndex.model_validate_json(item["data"]).model_copy(
            update={"version": int(item["version"])}
        )

    def save(self, owner: Owner, index: UserIndex) -> bool:
        # The data is one JSON string: compact, and read back by the same model.
        data = index.model_dump_json(exclude={"version"})
        item = {"pk": index_pk(owner), "kind": "index", "data": data, "version": index.version + 1}
        return conditional(
            "writing the file index",
            lambda: self.client.put_item(
                TableName=self.table,
                Item=to_item(item),
                ConditionExpression="attribute_not_exists(pk) OR version = :v",
                ExpressionAttributeValues=to_item({":v": index.version}),
            ),
        )
