"""moto's DynamoDB answers written directly say exactly what moto's serializer says."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.dynamodb.responses import DynamoResult

from devstack.dynamodb_answers import fast_dynamodb_answers

TABLE = "answers"
ITEM = {
    "pk": {"S": "item-1"},
    "text": {"S": "héllo"},
    "number": {"N": "12.5"},
    "blob": {"B": b"\x00\x01binary\xff"},
    "texts": {"SS": ["a", "b"]},
    "numbers": {"NS": ["1", "2"]},
    "blobs": {"BS": [b"x", b"\xfe"]},
    "flag": {"BOOL": True},
    "nothing": {"NULL": True},
    "list": {"L": [{"S": "one"}, {"N": "2"}, {"B": b"3"}]},
    "map": {"M": {"inner": {"S": "deep"}, "count": {"N": "0"}}},
}

Calls = list[tuple[str, Callable[[Any], Any]]]
CALLS: Calls = [
    ("GetItem", lambda db: db.get_item(TableName=TABLE, Key={"pk": {"S": "item-1"}})),
    ("GetItem missing", lambda db: db.get_item(TableName=TABLE, Key={"pk": {"S": "none"}})),
    (
        "PutItem ALL_OLD",
        lambda db: db.put_item(
            TableName=TABLE, Item={**ITEM, "n": {"N": "1"}}, ReturnValues="ALL_OLD"
        ),
    ),
    (
        "UpdateItem ALL_NEW",
        lambda db: db.update_item(
            TableName=TABLE,
            Key={"pk": {"S": "item-1"}},
            UpdateExpression="SET #n = #n + :one, extra = :blob",
            ExpressionAttributeNames={"#n": "n"},
            ExpressionAttributeValues={":one": {"N": "1"}, ":blob": {"B": b"\x10"}},
            ReturnValues="ALL_NEW",
        ),
    ),
    (
        "UpdateItem NONE",
        lambda db: db.update_item(
            TableName=TABLE,
            Key={"pk": {"S": "item-1"}},
            UpdateExpression="SET flag = :f",
            ExpressionAttributeValues={":f": {"BOOL": False}},
        ),
    ),
    (
        "Query",
        lambda db: db.query(
            TableName=TABLE,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": "item-1"}},
            ReturnConsumedCapacity="TOTAL",
        ),
    ),
    ("Scan Limit", lambda db: db.scan(TableName=TABLE, Limit=1)),
    (
        "DeleteItem ALL_OLD",
        lambda db: db.delete_item(
            TableName=TABLE, Key={"pk": {"S": "item-1"}}, ReturnValues="ALL_OLD"
        ),
    ),
    (
        "UpdateItem failed condition",
        lambda db: db.update_item(
            TableName=TABLE,
            Key={"pk": {"S": "item-1"}},
            UpdateExpression="SET flag = :f",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues={":f": {"BOOL": False}},
        ),
    ),
]


def answers(calls: Calls) -> list[tuple[int, Any]]:
    """Each call's HTTP status and JSON body as moto wrote them, on fresh tables."""
    bodies: list[tuple[int, Any]] = []
    with mock_aws():
        db = boto3.client("dynamodb", region_name="us-east-1")
        db.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        db.put_item(TableName=TABLE, Item=ITEM)

        def keep(response_dict: dict[str, Any], **_: Any) -> None:
            bodies.append((response_dict["status_code"], json.loads(response_dict["body"])))

        db.meta.events.register("before-parse.dynamodb.*", keep)
        for _, call in calls:
            try:
                call(db)
            except db.exceptions.ConditionalCheckFailedException:
                pass
    return bodies


def test_the_direct_answers_are_the_serializers(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given every item operation's answer from moto's own serializer
    monkeypatch.setattr(DynamoResult, "execute_result", DynamoResult.execute_result)
    expected = answers(CALLS)
    # When the same calls are answered directly
    fast_dynamodb_answers()
    assert getattr(DynamoResult.execute_result, "fast", False)
    found = answers(CALLS)
    # Then every status and body is the same (binary values base64 in both)
    assert len(found) == len(CALLS)
    for (name, _), want, got in zip(CALLS, expected, found, strict=True):
        assert got == want, name
    assert found[0][1]["Item"]["blob"] == {"B": "AAFiaW5hcnn/"}
