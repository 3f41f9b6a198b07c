"""DynamoDB's TransactWriteItems rolled back item by item, not by copying whole tables.

moto 5.2 backs up every table a transaction touches with `copy.deepcopy(table)` before
it writes, and puts the copies back if the transaction is cancelled. That costs time in
proportion to everything the table holds: under the load bench (one transaction per
upload) a moto process's CPU per upload grew from about 130 ms after 300 uploads to 190
ms after 1,000, and the uploads per second fell with it. Here only the items the
transaction names are backed up (a copy of each, or "absent"), and put back the same way.

Follows: DynamoDB's all-or-nothing transactions (a cancelled one leaves every item it
named as it was, and answers as moto does: `TransactionCanceledException` with the
reasons, or the validation error); the tables stay the same objects throughout.
Does not follow: the stream records of a cancelled transaction's writes are not taken
back (moto's whole-table copy dropped them; the template reads no stream locally).
Transactions run one at a time, as every DynamoDB request here does (`atomic.py`).
"""

from __future__ import annotations

import copy
from typing import Any

Saved = list[tuple[Any, Any, Any, Any]]  # (table, hash value, range value, item or None)


class _TablesKept:
    """moto's `copy` module as its DynamoDB backend sees it: a table is not copied."""

    def deepcopy(self, value: Any, memo: Any = None) -> Any:
        from moto.dynamodb.models.table import Table

        return value if isinstance(value, Table) else copy.deepcopy(value, memo)

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)


def _named_items(backend: Any, transact_items: list[dict[str, Any]]) -> Saved:
    """A copy of every item the transaction names, as it is now (None: absent)."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    saved: Saved = []
    for entry in transact_items:
        try:
            kind, operation = next(iter(entry.items()))
            table = backend.tables[operation["TableName"]]
            attributes = operation["Item"] if kind == "Put" else operation["Key"]
            hash_value = DynamoType(attributes[table.hash_key_attr])
            range_attr = table.range_key_attr
            range_value = DynamoType(attributes[range_attr]) if range_attr else None
            current = table.get_item(hash_value, range_value)
        except Exception:  # noqa: BLE001, S112 - moto itself refuses such an entry, before writing
            continue
        saved.append((table, hash_value, range_value, copy.deepcopy(current)))
    return saved


def _put_back(saved: Saved) -> None:
    for table, hash_value, range_value, item in reversed(saved):
        if item is None:
            table.delete_item(hash_value, range_value)
        elif range_value is not None:
            table.items[hash_value][range_value] = item
        else:
            table.items[hash_value] = item


def item_rollbacks() -> None:
    """Make moto's transactions back up items, not tables; calling it again does nothing."""
    import moto.dynamodb.models as models

    original = models.DynamoDBBackend.transact_write_items
    if getattr(original, "by_item", False):
        return

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        saved = _named_items(self, transact_items)
        try:
            original(self, transact_items)
        except Exception:
            _put_back(saved)
            raise

    transact_write_items.by_item = True  # type: ignore[attr-defined]
    models.copy = _TablesKept()  # type: ignore[attr-defined,assignment]
    models.DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
