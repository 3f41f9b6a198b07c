"""Usage counters and daily reports: one item of the uploads table per client and UTC
day (`pk` = `usage#{client_id}#{YYYY-MM-DD}`, `kind` = "usage"). Counters grow by
`ADD`, so concurrent requests never lose an increment; each report is an attribute
`report:{host}` of the same item (a later report of that host replaces it). Items
expire (`ttl`) after `keep_days`.

IAM actions on the uploads table: dynamodb:UpdateItem (add, put_report),
dynamodb:PutItem (add's once-only marker, in a TransactWriteItems), dynamodb:BatchGetItem
(days).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from stowage.adapters.aws import error_code, translated
from stowage.adapters.dynamodb import epoch, from_item, timestamp, to_item
from stowage.domain.usage import COUNTERS, DayRecord
from stowage.errors import DatabaseError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

REPORT = "report:"
BATCH = 100  # BatchGetItem's most keys a call


def usage_pk(client_id: str, day: str) -> str:
    return f"usage#{client_id}#{day}"


class DynamoUsageStore:
    def __init__(self, client: DynamoDBClient, table: str, keep_days: int = 400) -> None:
        self.client, self.table, self.keep_days = client, table, keep_days

    def _expiry(self, day: str) -> int:
        return epoch(datetime.fromisoformat(day) + timedelta(days=self.keep_days))

    def add(
        self,
        client_id: str,
        day: str,
        counts: Mapping[str, int],
        now: datetime,
        once: str | None = None,
    ) -> None:
        names = {f"#c{i}": name for i, name in enumerate(counts)}
        values = {f":c{i}": value for i, value in enumerate(counts.values())}
        adds = ", ".join(f"#c{i} :c{i}" for i in range(len(counts)))
        update: dict[str, Any] = {
            "TableName": self.table,
            "Key": to_item({"pk": usage_pk(client_id, day)}),
            "UpdateExpression": "SET kind = :kind, usage_client = :client, usage_day = :day,"
            f" last_activity = :now, #ttl = :ttl ADD {adds}",
            "ExpressionAttributeNames": names | {"#ttl": "ttl"},
            "ExpressionAttributeValues": to_item(
                values
                | {
                    ":kind": "usage",
                    ":client": client_id,
                    ":day": day,
                    ":now": timestamp(now),
                    ":ttl": self._expiry(day),
                }
            ),
        }
        with translated(DatabaseError, "counting usage"):
            if once is None:
                self.client.update_item(**update)
                return
            # The marker and the addition in one transaction: counted once, or not at all.
            marker: dict[str, Any] = {
                "TableName": self.table,
                "Item": to_item(
                    {"pk": f"usage-once#{once}", "kind": "usage-once", "ttl": self._expiry(day)}
                ),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
            try:
                items: list[Any] = [{"Put": marker}, {"Update": update}]
                self.client.transact_write_items(TransactItems=items)
            except ClientError as exc:
                if error_code(exc) != "TransactionCanceledException" or not _counted(exc):
                    raise

    def put_report(self, client_id: str, day: str, host: str, report: Mapping[str, object]) -> None:
        stored = {k: timestamp(v) if isinstance(v, datetime) else v for k, v in report.items()}
        with translated(DatabaseError, "recording the report"):
            self.client.update_item(
                TableName=self.table,
                Key=to_item({"pk": usage_pk(client_id, day)}),
                UpdateExpression="SET kind = :kind, usage_client = :client, usage_day = :day,"
                " #report = :report, #ttl = :ttl",
                ExpressionAttributeNames={"#report": REPORT + host, "#ttl": "ttl"},
                ExpressionAttributeValues=to_item(
                    {
                        ":kind": "usage",
                        ":client": client_id,
                        ":day": day,
                        ":report": stored,
                        ":ttl": self._expiry(day),
                    }
                ),
            )

    def days(self, client_id: str, days: list[str]) -> list[DayRecord]:
        found: list[DayRecord] = []
        for start in range(0, len(days), BATCH):
            keys = [to_item({"pk": usage_pk(client_id, d)}) for d in days[start : start + BATCH]]
            found += [record_of(item) for item in self._batch(keys)]
        return found

    def _batch(self, keys: list[dict[str, Any]]) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        request: dict[str, Any] = {self.table: {"Keys": keys, "ConsistentRead": True}}
        for _ in range(10):  # unprocessed keys come back under throttling: ask again
            with translated(DatabaseError, "reading usage"):
                answer = self.client.batch_get_item(RequestItems=request)
            items += [from_item(i) for i in answer.get("Responses", {}).get(self.table, [])]
            request = dict(answer.get("UnprocessedKeys") or {})
            if not request:
                return items
        raise DatabaseError("reading usage failed (throttled)")


def _counted(exc: ClientError) -> bool:
    """The transaction failed only because its marker exists: counted already."""
    reasons = exc.response.get("CancellationReasons") or []
    return bool(reasons) and reasons[0].get("Code") == "ConditionalCheckFailed"


def record_of(item: dict[str, Any]) -> DayRecord:
    last = item.get("last_activity")
    return DayRecord(
        date=str(item["usage_day"]),
        counts={name: int(item.get(name, 0)) for name in COUNTERS},
        reports={
            name[len(REPORT) :]: {k: _plain(v) for k, v in dict(value).items()}
            for name, value in item.items()
            if name.startswith(REPORT)
        },
        last_activity=datetime.strptime(last, "%Y-%m-%dT%H:%M:%S.%fZ") if last else None,
    )


def _plain(value: object) -> object:
    """DynamoDB numbers come back as Decimal."""
    return int(value) if isinstance(value, Decimal) else value
