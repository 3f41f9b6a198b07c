"""devstack.atomic: moto's DynamoDB with DynamoDB's atomicity, and transactions that
roll back only the items they name, exactly as a whole-table rollback would."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from devstack.atomic import serialize_dynamodb

HASH_ONLY = {"KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}]}
WITH_RANGE = {
    "KeySchema": [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
}


@pytest.fixture(params=[HASH_ONLY, WITH_RANGE], ids=["hash key", "hash and range key"])
def table(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    serialize_dynamodb()
    schema: dict[str, Any] = request.param
    names = [key["AttributeName"] for key in schema["KeySchema"]]
    with mock_aws():
        client = boto3.client("dynamodb")
        client.create_table(
            TableName="t",
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in names],
            **schema,
        )
        yield client, names


def key(names: list[str], pk: str) -> dict[str, Any]:
    return {name: {"S": pk if name == "pk" else "r"} for name in names}


def items(client: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = client.scan(TableName="t")["Items"]
    return sorted(found, key=lambda item: item["pk"]["S"])


def test_a_cancelled_transaction_leaves_every_item_as_it_was(table: Any) -> None:
    # Given two items, one of which a later condition of the transaction fails on
    client, names = table
    client.put_item(TableName="t", Item=key(names, "a") | {"n": {"N": "1"}})
    client.put_item(TableName="t", Item=key(names, "c"))
    before = items(client)

    # When a transaction updates a, puts b, and then fails its condition on c
    with pytest.raises(ClientError) as raised:
        client.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": "t",
                        "Key": key(names, "a"),
                        "UpdateExpression": "SET n = n + :one, m = :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}},
                    }
                },
                {"Put": {"TableName": "t", "Item": key(names, "b")}},
                {
                    "ConditionCheck": {
                        "TableName": "t",
                        "Key": key(names, "c"),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
            ]
        )

    # Then nothing of it is applied
    assert raised.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert items(client) == before


def test_a_transaction_that_holds_applies_every_write(table: Any) -> None:
    # Given one item
    client, names = table
    client.put_item(TableName="t", Item=key(names, "a") | {"n": {"N": "1"}})

    # When a transaction updates it and puts another
    client.transact_write_items(
        TransactItems=[
            {
                "Update": {
                    "TableName": "t",
                    "Key": key(names, "a"),
                    "UpdateExpression": "SET n = n + :one",
                    "ExpressionAttributeValues": {":one": {"N": "1"}},
                }
            },
            {
                "Put": {
                    "TableName": "t",
                    "Item": key(names, "b"),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
        ]
    )

    # Then both writes are there
    assert [item["pk"]["S"] for item in items(client)] == ["a", "b"]
    assert items(client)[0]["n"] == {"N": "2"}
