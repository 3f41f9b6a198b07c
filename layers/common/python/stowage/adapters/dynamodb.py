"""Upload sessions, key reservations and the shared ways of the uploads table.

One table holds upload sessions (`pk` = upload id), drafts (`pk` = draft id) and
key reservations (`pk` = `key#<key>`), told apart by `kind`. Records still able
to expire carry `sweep` (their kind), which puts them in the sparse `by_expiry`
index the cleanup reads; reaching a final state removes it.

IAM actions on the uploads table: dynamodb:PutItem (create, claim_key),
dynamodb:GetItem (get), dynamodb:UpdateItem (touch, claims, marks),
dynamodb:DeleteItem (release_key), and dynamodb:Query on the
`by_client_status` index (list_for_client) and the `by_expiry` index (expired).
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError
from pydantic import BaseModel

from stowage.adapters.aws import error_code, translated
from stowage.domain.parts import PartPlan
from stowage.domain.ports import SessionPage
from stowage.domain.session import UploadSession
from stowage.errors import DatabaseError, InvalidFieldError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

INDEX = "by_client_status"
EXPIRY_INDEX = "by_expiry"
_RESERVED = {"#s": "status", "#ttl": "ttl", "#key": "key"}
"""Placeholders of attribute names that are DynamoDB reserved words."""
NO_LEASE = "(attribute_not_exists(completing_until) OR completing_until < :now)"
IN_PROGRESS_SC = "status_created_in_progress"
_ACTIVE_AND_FREE = f"#s IN (:initiated, :in_progress) AND expires_at > :now AND {NO_LEASE}"
_ACTIVE_AND_PAST = f"#s IN (:initiated, :in_progress) AND expires_at <= :now AND {NO_LEASE}"
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


class DynamoRecords:
    """What every record kind of the uploads table shares: reads by kind, conditional
    updates, key reservations and the sweep of expired records."""

    kind: str = ""

    def __init__(self, client: DynamoDBClient, table: str, retention: timedelta) -> None:
        self.client = client
        self.table = table
        self.retention = retention

    # --- records of this kind ---------------------------------------------------------
    def _put_new(self, record: dict[str, Any], pk: str, expires_at: datetime) -> None:
        item = record | {
            "pk": pk,
            "kind": self.kind,
            "sweep": self.kind,
            "ttl": epoch(expires_at + self.retention),
        }
        applied = conditional(
            f"recording the {self.kind}",
            lambda: self.client.put_item(
                TableName=self.table,
                Item=to_item(item),
                ConditionExpression="attribute_not_exists(pk)",
            ),
        )
        # The id is new and random: a record already there should be this very put,
        # applied once and resent by botocore after its answer was lost.
        if not applied and self._get(pk) != from_item(to_item(item)):
            raise DatabaseError(f"recording the {self.kind} failed (its id is taken)")

    def _get(self, pk: str) -> dict[str, Any] | None:
        with translated(DatabaseError, f"reading the {self.kind}"):
            answer = self.client.get_item(
                TableName=self.table, Key=to_item({"pk": pk}), ConsistentRead=True
            )
        item = from_item(answer.get("Item") or {})
        return item if item.get("kind") == self.kind else None

    def _update(self, pk: str, update: str, condition: str, values: dict[str, Any]) -> bool:
        """A conditional update: True if it applied, False if its condition did not hold."""
        request = self._update_request(pk, update, condition, values)
        return conditional(f"updating the {self.kind}", lambda: self.client.update_item(**request))

    def _claim(self, pk: str, free: str, now: datetime, until: datetime) -> bool:
        """Take the record's lease (`completing_until`) if `free` holds. The claim carries
        a token, so when botocore resends it after a lost answer, finding its own lease
        counts as taking it rather than as someone else holding it."""
        return self._update(
            pk,
            "SET completing_until = :until, lease_token = :token",
            f"({free}) OR lease_token = :token",
            {":now": timestamp(now), ":until": timestamp(until), ":token": secrets.token_hex(16)},
        )

    def _release(self, pk: str) -> None:
        self._update(pk, "REMOVE completing_until, lease_token", "attribute_exists(pk)", {})

    def _finish(self, pk: str, assignments: str, values: dict[str, Any]) -> dict[str, Any]:
        """Move a record to a final state whatever it was, and return it as it is now."""
        request = self._update_request(
            pk,
            f"SET {assignments} REMOVE sweep, completing_until, lease_token",
            "attribute_exists(pk)",
            values,
        )
        with translated(DatabaseError, f"recording the {self.kind}"):
            answer = self.client.update_item(**request, ReturnValues="ALL_NEW")
        return from_item(answer["Attributes"])

    def _update_request(
        self, pk: str, update: str, condition: str, values: dict[str, Any]
    ) -> dict[str, Any]:
        # Placeholders for reserved words and state names are added only where the
        # expressions use them: DynamoDB rejects unused ones.
        used = update + condition
        names = {
            k: v
            for k, v in {"#s": "status", "#ttl": "ttl", "#key": "key", "#size": "size"}.items()
            if k in used
        }
        states = (":initiated", ":in_progress", ":pending")
        values = values | {k: k[1:] for k in states if k in used}
        request: dict[str, Any] = {
            "TableName": self.table,
            "Key": to_item({"pk": pk}),
            "UpdateExpression": update,
            "ConditionExpression": condition,
        }
        if names:
            request["ExpressionAttributeNames"] = names
        if values:
            request["ExpressionAttributeValues"] = to_item(values)
        return request

    def _expired_items(self, now: datetime, limit: int) -> list[dict[str, Any]]:
        """Records of this kind past `expires_at` that are not final yet, oldest first."""
        pages = self.client.get_paginator("query").paginate(
            TableName=self.table,
            IndexName=EXPIRY_INDEX,
            KeyConditionExpression="sweep = :k AND expires_at < :now",
            ExpressionAttributeValues=to_item({":k": self.kind, ":now": timestamp(now)}),
            PaginationConfig={"MaxItems": limit, "PageSize": min(limit, 1000)},
        )
        with translated(DatabaseError, f"finding expired {self.kind}s"):
            return [from_item(i) for page in pages for i in page.get("Items", [])]

    # --- key reservations -------------------------------------------------------------
    def claim_key(self, key: str, record_id: str, now: datetime, until: datetime) -> bool:
        item = {
            "pk": f"key#{key}",
            "kind": "key",
            "upload_id": record_id,
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
                ExpressionAttributeValues=to_item({":now": timestamp(now), ":upload": record_id}),
            ),
        )

    def release_key(self, key: str, record_id: str) -> None:
        conditional(
            "releasing the key",
            lambda: self.client.delete_item(
                TableName=self.table,
                Key=to_item({"pk": f"key#{key}"}),
                ConditionExpression="upload_id = :upload",
                ExpressionAttributeValues=to_item({":upload": record_id}),
            ),
        )


class DynamoSessionStore(DynamoRecords):
    kind = "upload"

    def create(self, session: UploadSession) -> None:
        item = stored_fields(session) | {
            "status_created": _status_created(session.status, session.created_at),
            # What status_created becomes once parts are signed, so that `touch_own` can
            # copy it without reading the record (an update copies attributes; it cannot
            # build one from two).
            IN_PROGRESS_SC: _status_created("in_progress", session.created_at),
        }
        self._put_new(item, session.upload_id, session.expires_at)

    def get(self, upload_id: str) -> UploadSession | None:
        item = self._get(upload_id)
        return UploadSession.model_validate(item) if item else None

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

    def touch_own(
        self, upload_id: str, client_id: str, now: datetime, expires_at: datetime, last_part: int
    ) -> UploadSession | None:
        request = self._update_request(
            upload_id,
            "SET #s = :in_progress, status_created = " + IN_PROGRESS_SC + ", updated_at = :now,"
            " expires_at = :exp, #ttl = :ttl",
            f"kind = :kind AND client_id = :client AND part_count >= :last"
            f" AND attribute_exists({IN_PROGRESS_SC}) AND {_ACTIVE_AND_FREE}",
            {
                ":now": timestamp(now),
                ":exp": timestamp(expires_at),
                ":ttl": epoch(expires_at + self.retention),
                ":kind": self.kind,
                ":client": client_id,
                ":last": last_part,
            },
        )
        answer: dict[str, Any] = {}
        if not conditional(
            "updating the upload",
            lambda: answer.update(self.client.update_item(**request, ReturnValues="ALL_NEW")),
        ):
            return None
        return UploadSession.model_validate(from_item(answer["Attributes"]))

    def claim_completion(self, session: UploadSession, now: datetime, until: datetime) -> bool:
        return self._claim(session.upload_id, _ACTIVE_AND_FREE, now, until)

    def release_completion(self, session: UploadSession) -> None:
        self._release(session.upload_id)

    def mark_completed(
        self,
        session: UploadSession,
        now: datetime,
        etag: str,
        twin: str | None = None,
        plan: PartPlan | None = None,
    ) -> UploadSession:
        # Unconditional on state: the object exists, so "completed" is the truth now.
        values = {
            ":completed": "completed",
            ":etag": etag,
            ":now": timestamp(now),
            ":sc": _status_created("completed", session.created_at),
            ":ttl": epoch(now + self.retention),
        }
        assignments = (
            "#s = :completed, etag = :etag, updated_at = :now, status_created = :sc, #ttl = :ttl"
        )
        if twin is not None:
            assignments += ", #key = :key, deduplicated = :dedup"
            values |= {":key": twin, ":dedup": True}
        if plan is not None:
            assignments += ", #size = :size, part_size = :psize, part_count = :pcount"
            values |= {":size": plan.size, ":psize": plan.part_size, ":pcount": plan.part_count}
        return UploadSession.model_validate(self._finish(session.upload_id, assignments, values))

    def mark_cancelled(self, session: UploadSession, now: datetime) -> bool:
        # `sweep` stays until the multipart upload is aborted (`mark_aborted`), so that
        # the cleanup still aborts it if the cancel's own abort fails.
        return self._mark_ended(
            session,
            "cancelled",
            now,
            f"#s IN (:initiated, :in_progress) AND {NO_LEASE}",
            keep_sweep=True,
        )

    def mark_aborted(self, session: UploadSession) -> None:
        self._update(
            session.upload_id, "REMOVE sweep", "#s = :cancelled", {":cancelled": "cancelled"}
        )

    def mark_expired(self, session: UploadSession, now: datetime) -> bool:
        """Active and past its expiry → expired; False if anything moved it meanwhile."""
        return self._mark_ended(session, "expired", now, _ACTIVE_AND_PAST, keep_sweep=False)

    def expired(self, now: datetime, limit: int) -> list[UploadSession]:
        return [UploadSession.model_validate(i) for i in self._expired_items(now, limit)]

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

    def _mark_ended(
        self, session: UploadSession, status: str, now: datetime, when: str, *, keep_sweep: bool
    ) -> bool:
        update = "SET #s = :end, status_created = :sc, updated_at = :now, #ttl = :ttl"
        return self._update(
            session.upload_id,
            update if keep_sweep else f"{update} REMOVE sweep",
            when,
            {
                ":end": status,
                ":now": timestamp(now),
                ":sc": _status_created(status, session.created_at),
                ":ttl": epoch(now + self.retention),
            },
        )


def stored_fields(record: BaseModel) -> dict[str, Any]:
    """A record's fields as the table stores them: times as fixed-width text."""
    item: dict[str, Any] = record.model_dump()
    for name, value in item.items():
        if isinstance(value, datetime):
            item[name] = timestamp(value)
    return item


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
