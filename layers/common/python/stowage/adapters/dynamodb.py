"""Upload sessions and key reservations in DynamoDB.

IAM actions on the uploads table: dynamodb:PutItem (create, claim_key),
dynamodb:GetItem (get), dynamodb:UpdateItem (touch, claims, marks),
dynamodb:DeleteItem (release_key), and dynamodb:Query on the
`by_client_status` index (list_for_client).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from stowage.adapters.aws import error_code, translated
from stowage.domain.ports import SessionPage
from stowage.domain.session import UploadSession
from stowage.errors import DatabaseError, InvalidFieldError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

INDEX = "by_client_status"
_ACTIVE_AND_FREE = (
    "#s IN (:initiated, :in_progress) AND expires_at > :now"
    " AND (attribute_not_exists(completing_until) OR completing_until < :now)"
)
_serializer, _deserializer = TypeSerializer(), TypeDeserializer()


def timestamp(moment: datetime) -> str:
    """One fixed-width format, so stored times compare correctly as strings."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def to_item(values: dict[str, Any]) -> dict[str, Any]:
    return {k: _serializer.serialize(v) for k, v in values.items() if v is not None}


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _deserializer.deserialize(v) for k, v in item.items()}


class DynamoSessionStore:
    def __init__(self, client: DynamoDBClient, table: str, retention: timedelta) -> None:
        self.client = client
        self.table = table
        self.retention = retention

    # --- sessions ---------------------------------------------------------------------
    def create(self, session: UploadSession) -> None:
        item = self._session_item(session)
        with translated(DatabaseError, "recording the upload"):
            self.client.put_item(
                TableName=self.table,
                Item=to_item(item),
                ConditionExpression="attribute_not_exists(pk)",
            )

    def get(self, upload_id: str) -> UploadSession | None:
        with translated(DatabaseError, "reading the upload"):
            answer = self.client.get_item(
                TableName=self.table, Key=to_item({"pk": upload_id}), ConsistentRead=True
            )
        item = answer.get("Item")
        if item is None or from_item(item).get("kind") != "upload":
            return None
        return UploadSession.model_validate(from_item(item))

    def touch(self, session: UploadSession, now: datetime, expires_at: datetime) -> bool:
        return self._update(
            session.upload_id,
            "SET #s = :in_progress, status_created = :sc, updated_at = :now,"
            " expires_at = :exp, #ttl = :ttl",
            _ACTIVE_AND_FREE,
            {
                ":now": timestamp(now),
                ":exp": timestamp(expires_at),
                ":sc": _status_created("in_progress", session.created_at),
                ":ttl": epoch(expires_at + self.retention),
            },
        )

    def claim_completion(self, session: UploadSession, now: datetime, until: datetime) -> bool:
        return self._update(
            session.upload_id,
            "SET completing_until = :until",
            _ACTIVE_AND_FREE,
            {":now": timestamp(now), ":until": timestamp(until)},
        )

    def release_completion(self, session: UploadSession) -> None:
        self._update(session.upload_id, "REMOVE completing_until", "attribute_exists(pk)", {})

    def mark_completed(self, session: UploadSession, now: datetime, etag: str) -> UploadSession:
        # Unconditional on state: the object exists, so "completed" is the truth now.
        values = {
            ":completed": "completed",
            ":etag": etag,
            ":now": timestamp(now),
            ":sc": _status_created("completed", session.created_at),
            ":ttl": epoch(now + self.retention),
        }
        with translated(DatabaseError, "recording the completion"):
            answer = self.client.update_item(
                TableName=self.table,
                Key=to_item({"pk": session.upload_id}),
                UpdateExpression="SET #s = :completed, etag = :etag, updated_at = :now,"
                " status_created = :sc, #ttl = :ttl REMOVE completing_until",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames={"#s": "status", "#ttl": "ttl"},
                ExpressionAttributeValues=to_item(values),
                ReturnValues="ALL_NEW",
            )
        return UploadSession.model_validate(from_item(answer["Attributes"]))

    def mark_cancelled(self, session: UploadSession, now: datetime) -> bool:
        return self._update(
            session.upload_id,
            "SET #s = :cancelled, status_created = :sc, updated_at = :now, #ttl = :ttl",
            "#s IN (:initiated, :in_progress)"
            " AND (attribute_not_exists(completing_until) OR completing_until < :now)",
            {
                ":cancelled": "cancelled",
                ":now": timestamp(now),
                ":sc": _status_created("cancelled", session.created_at),
                ":ttl": epoch(now + self.retention),
            },
        )

    # --- key reservations -------------------------------------------------------------
    def claim_key(self, key: str, upload_id: str, now: datetime, until: datetime) -> bool:
        item = {
            "pk": f"key#{key}",
            "kind": "key",
            "upload_id": upload_id,
            "expires_at": timestamp(until),
            "ttl": epoch(until),
        }
        return conditional(
            "reserving the key",
            lambda: self.client.put_item(
                TableName=self.table,
                Item=to_item(item),
                ConditionExpression="attribute_not_exists(pk) OR expires_at < :now"
                " OR upload_id = :upload",
                ExpressionAttributeValues=to_item({":now": timestamp(now), ":upload": upload_id}),
            ),
        )

    def release_key(self, key: str, upload_id: str) -> None:
        conditional(
            "releasing the key",
            lambda: self.client.delete_item(
                TableName=self.table,
                Key=to_item({"pk": f"key#{key}"}),
                ConditionExpression="upload_id = :upload",
                ExpressionAttributeValues=to_item({":upload": upload_id}),
            ),
        )

    # --- listing ----------------------------------------------------------------------
    def list_for_client(
        self, client_id: str, status: str | None, limit: int, cursor: str | None
    ) -> SessionPage:
        condition = "client_id = :c"
        values = {":c": client_id}
        if status:
            condition += " AND begins_with(status_created, :s)"
            values[":s"] = f"{status}#"
        query: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": INDEX,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": to_item(values),
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if cursor:
            query["ExclusiveStartKey"] = decode_cursor(cursor, client_id)
        with translated(DatabaseError, "listing uploads"):
            answer = self.client.query(**query)
        sessions = [UploadSession.model_validate(from_item(i)) for i in answer.get("Items", [])]
        last = answer.get("LastEvaluatedKey")
        return SessionPage(sessions=sessions, cursor=encode_cursor(last) if last else None)

    # --- helpers ----------------------------------------------------------------------
    def _session_item(self, session: UploadSession) -> dict[str, Any]:
        item: dict[str, Any] = session.model_dump()
        for name, value in item.items():
            if isinstance(value, datetime):
                item[name] = timestamp(value)
        item |= {
            "pk": session.upload_id,
            "kind": "upload",
            "status_created": _status_created(session.status, session.created_at),
            "ttl": epoch(session.expires_at + self.retention),
        }
        return item

    def _update(self, upload_id: str, update: str, condition: str, values: dict[str, Any]) -> bool:
        # Placeholders for reserved words and state names are added only where the
        # expressions use them: DynamoDB rejects unused ones.
        used = update + condition
        names = {k: v for k, v in {"#s": "status", "#ttl": "ttl"}.items() if k in used}
        values = values | {k: k[1:] for k in (":initiated", ":in_progress") if k in used}
        request: dict[str, Any] = {
            "TableName": self.table,
            "Key": to_item({"pk": upload_id}),
            "UpdateExpression": update,
            "ConditionExpression": condition,
        }
        if names:
            request["ExpressionAttributeNames"] = names
        if values:
            request["ExpressionAttributeValues"] = to_item(values)
        return conditional("updating the upload", lambda: self.client.update_item(**request))


def conditional(what: str, call: Callable[[], object]) -> bool:
    """Run a conditional write: True if it applied, False if its condition did not hold."""
    try:
        with translated(DatabaseError, what):
            call()
    except DatabaseError as exc:
        cause = exc.__cause__
        if isinstance(cause, ClientError) and error_code(cause) == (
            "ConditionalCheckFailedException"
        ):
            return False
        raise
    return True


def _status_created(status: str, created_at: datetime) -> str:
    return f"{status}#{timestamp(created_at)}"


def encode_cursor(last_key: dict[str, Any]) -> str:
    raw = json.dumps(last_key, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, client_id: str) -> dict[str, Any]:
    """A cursor is only a position in the caller's own listing; anything else is refused."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise InvalidFieldError("cursor is not valid", field="cursor") from exc
    expected = {"pk", "client_id", "status_created"}
    if not isinstance(key, dict) or set(key) != expected:
        raise InvalidFieldError("cursor is not valid", field="cursor")
    if not all(isinstance(v, dict) and set(v) == {"S"} for v in key.values()):
        raise InvalidFieldError("cursor is not valid", field="cursor")
    if key["client_id"]["S"] != client_id:
        raise InvalidFieldError("cursor is not valid", field="cursor")
    return key
