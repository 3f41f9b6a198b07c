"""DynamoDB's item answers written as JSON directly, not through moto's generic serializer.

moto 5.2 turns every answer into its wire form by walking the operation's botocore
output shape, member by member and AttributeValue by AttributeValue, trying several
spellings of each key: 10-15 ms of CPU for one session item, most of a GetItem's
time, and most of the local stack's time under load (DynamoDB requests run one at a
time, `atomic.py`). The answers of the item operations below are already plain JSON
in DynamoDB's wire form once moto has built them (`dynamo_to_dict`), so they are
written as they are, keeping only the operation's output members (moto adds its own,
such as `ConsumedCapacityUnits`) and base64-encoding binary values (`B`, `BS`), as the
serializer does.

Follows: DynamoDB's JSON answer for GetItem, PutItem, UpdateItem, DeleteItem, Query
and Scan, the same JSON that moto's serializer writes for the same result (a test
compares the two); errors and every other operation still go through moto's serializer.
Does not follow: nothing more than moto itself (CRC32 headers, capacity figures).
"""

from __future__ import annotations

import base64
import json
from typing import Any

FAST_OPERATIONS = frozenset({"GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan"})
CONTENT_TYPE = "application/x-amz-json-1.0"


def _wire(value: Any) -> Any:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    raise TypeError(f"no wire form for {type(value).__name__}")


def fast_dynamodb_answers() -> None:
    """Let moto write the item operations' answers directly; calling it again does nothing."""
    from moto.dynamodb.responses import DynamoResult

    original = DynamoResult.execute_result
    if getattr(original, "fast", False):
        return

    def execute_result(self: Any, context: Any) -> Any:
        result = self.result
        if context.operation_model.name in FAST_OPERATIONS and isinstance(result, dict):
            members = context.operation_model.output_shape.members
            kept = {k: v for k, v in result.items() if k in members and v is not None}
            try:
                body = json.dumps(kept, default=_wire)
            except TypeError:  # a value only the serializer knows how to write
                return original(self, context)
            return 200, {"Content-Type": CONTENT_TYPE}, body
        return original(self, context)

    execute_result.fast = True  # type: ignore[attr-defined]
    DynamoResult.execute_result = execute_result  # type: ignore[method-assign]
