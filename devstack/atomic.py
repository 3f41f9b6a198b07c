"""DynamoDB applies each write to an item atomically: of two conditional writes racing
for one item, exactly one succeeds. moto does not lock, so under threads both can
pass their condition, and a list_append can lose an element. Serializing moto's
DynamoDB requests restores the guarantee the service code relies on (leases, key
claims, the per-user index). Every local DynamoDB user (the local stack, the tests
under mock_aws) calls `serialize_dynamodb()` once."""

from __future__ import annotations

import functools
import threading
from typing import Any

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
