"""Each user's file index: one item of the uploads table (`kind` = "index").

New files are appended atomically (`list_append`, `ADD version`), so concurrent
uploads of one user never conflict. Rewrites (deletions, trimming, moving a backup)
replace the item only if `version` is still the one read.

IAM actions on the uploads table: dynamodb:GetItem (load), dynamodb:UpdateItem
(append), dynamodb:PutItem (save).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stowage.adapters.aws import translated
from stowage.adapters.dynamodb import conditional, from_item, to_item
from stowage.domain.catalog import IndexEntry, UserIndex
from stowage.errors import DatabaseError
from stowage.models.identity import Owner

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

CATEGORY = "cat_"


def index_pk(owner: Owner) -> str:
    return f"index#{owner.client_id}#{owner.role}#{owner.user_id}"


def _stored(entry: IndexEntry) -> dict[str, Any]:
    return entry.model_dump(mode="json", exclude_none=True)


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
        return UserIndex(
            recent=item.get("recent", []),
            backups=item.get("backups", []),
            by_category={
                name[len(CATEGORY) :]: value
                for name, value in item.items()
                if name.startswith(CATEGORY)
            },
            version=int(item.get("version", 0)),
        )

    def append(self, owner: Owner, entry: IndexEntry, bounds: tuple[int, int]) -> bool:
        """The append carries the bounds as its condition and returns nothing: the item
        (up to hundreds of entries) never travels back. Only when a list is at its bound
        does the condition fail; then the append is made unconditionally and True tells
        the caller to trim."""
        update = (
            "SET recent = list_append(:new, if_not_exists(recent, :none)), #cat = :entry,"
            " kind = :kind ADD version :one"
        )
        # After this append, recent (and backups, for a backup) must stay within bounds;
        # the backups of another entry are only checked, as they do not grow.
        within = (
            "size(backups) < :backups" if entry.app is not None else "size(backups) <= :backups"
        )
        condition = (
            "(attribute_not_exists(recent) OR size(recent) < :recent)"
            f" AND (attribute_not_exists(backups) OR {within})"
        )
        if entry.app is not None:
            update = update.replace(
                ", #cat", ", backups = list_append(:new, if_not_exists(backups, :none)), #cat"
            )
        values = {
            ":new": [_stored(entry)],
            ":none": [],
            ":entry": _stored(entry),
            ":kind": "index",
            ":one": 1,
        }
        request: dict[str, Any] = {
            "TableName": self.table,
            "Key": to_item({"pk": index_pk(owner)}),
            "UpdateExpression": update,
            "ExpressionAttributeNames": {"#cat": CATEGORY + entry.category},
            "ExpressionAttributeValues": to_item(values),
        }
        bounded = request | {
            "ConditionExpression": condition,
            "ExpressionAttributeValues": to_item(
                values | {":recent": bounds[0], ":backups": bounds[1]}
            ),
        }
        if conditional("recording the file", lambda: self.client.update_item(**bounded)):
            return False
        with translated(DatabaseError, "recording the file"):
            self.client.update_item(**request)
        return True

    def save(self, owner: Owner, index: UserIndex) -> bool:
        item: dict[str, Any] = {
            "pk": index_pk(owner),
            "kind": "index",
            "version": index.version + 1,
            "recent": [_stored(e) for e in index.recent],
            "backups": [_stored(e) for e in index.backups],
        }
        item |= {CATEGORY + name: _stored(e) for name, e in index.by_category.items()}
        return conditional(
            "writing the file index",
            lambda: self.client.put_item(
                TableName=self.table,
                Item=to_item(item),
                ConditionExpression="attribute_not_exists(pk) OR version = :v",
                ExpressionAttributeValues=to_item({":v": index.version}),
            ),
        )
