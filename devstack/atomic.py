"""DynamoDB applies each write to an item atomically: of two conditional writes racing
for one item, exactly one succeeds. moto does not lock, so under threads both can
pass their condition, and a list_append can lose an element. Serializing moto's
DynamoDB requests restores the guarantee the service code relies on (leases, key
claims, the per-user index). Every local DynamoDB user (the local stack, the tests
under mock_aws) calls `serialize_dynamodb()` once.

It also makes moto's TransactWriteItems keep what it needs to roll back, not more:
moto deep-copies every table a transaction names, so each transaction cost time in
proportion to the whole table (40 ms at a few hundred items, growing with every upload),
a cost DynamoDB does not have. Here a rollback keeps the table's item map and copies
only the items the transaction names; what it restores is the same. (Neither rolls back
a stream's records; the template has no stream.)"""

from __future__ import annotations

import copy
import functools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table
from moto.dynamodb.responses import DynamoHandler

_LOCK = threading.RLock()


def serialize_dynamodb() -> None:
    """Make moto answer one DynamoDB request at a time; calling it again does nothing."""
    original = DynamoHandler.call_action
    if getattr(original, "serialized", False):
        return

    @functools.wraps(original)
    def one_at_a_time(self: DynamoHandler, *args: Any, **kwargs: Any) -> Any:
        with _LOCK:
            return original(self, *args, **kwargs)

    one_at_a_time.serialized = True  # type: ignore[attr-defined]
    DynamoHandler.call_action = one_at_a_time  # type: ignore[method-assign]
    _light_transactions()


def _light_transactions() -> None:
    """TransactWriteItems with a rollback of only the items it names."""
    original = DynamoDBBackend.transact_write_items

    @functools.wraps(original)
    def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
        try:
            saved = _snapshot(self, transact_items)
        except Exception:  # noqa: BLE001 - malformed: moto's own path answers the error
            return original(self, transact_items)
        with _tables_not_copied():
            try:
                return original(self, transact_items)
            except Exception:
                for table, items in saved:
                    table.items = items
                raise

    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]


def _snapshot(
    backend: DynamoDBBackend, transact_items: list[dict[str, Any]]
) -> list[tuple[Table, Any]]:
    """Per table named: its item map as it is, with copies of the named items in it
    (an Update changes its item in place; a Put or a Delete only replaces an entry)."""
    saved: dict[str, tuple[Table, Any]] = {}
    for entry in transact_items:
        op = next(iter(entry.values()))
        name = op["TableName"]
        if name not in backend.tables:
            continue
        table = backend.tables[name]
        if name not in saved:
            items = copy.copy(table.items)
            if table.has_range_key:
                for hash_value, ranged in items.items():
                    items[hash_value] = dict(ranged)
            saved[name] = (table, items)
        key = op.get("Key") or op["Item"]
        hash_value = DynamoType(key[table.hash_key_attr])
        range_attr = table.range_key_attr
        range_value = DynamoType(key[range_attr]) if range_attr else None
        current = table.get_item(hash_value, range_value)
        if current is not None:
            items = saved[name][1]
            if range_value is not None:
                items[hash_value][range_value] = copy.deepcopy(current)
            else:
                items[hash_value] = copy.deepcopy(current)
    return list(saved.values())


@contextmanager
def _tables_not_copied() -> Iterator[None]:
    """moto's own backup of each table becomes the table itself (its rollback a no-op);
    under the lock above, no other request deep-copies a table meanwhile."""
    Table.__deepcopy__ = lambda self, memo: self  # type: ignore[attr-defined]
    try:
        yield
    finally:
        del Table.__deepcopy__  # type: ignore[attr-defined]
