"""A cancelled transaction leaves every item as it was, without moto copying the table."""

from __future__ import annotations

from typing import Any

import boto3
import moto.dynamodb.models as models
import pytest
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.dynamodb.models import dynamodb_backends

from devstack.dynamodb_transactions import item_rollbacks

SIMPLE, RANGED = "simple", "ranged"


@pytest.fixture
def db(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setattr(models, "copy", models.copy)
    monkeypatch.setattr(
        models.DynamoDBBackend,
        "transact_write_items",
        models.DynamoDBBackend.transact_write_items,
    )
    item_rollbacks()
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName=SIMPLE,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        client.create_table(
            TableName=RANGED,
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        client.put_item(TableName=SIMPLE, Item={"pk": {"S": "kept"}, "n": {"N": "1"}})
        client.put_item(TableName=SIMPLE, Item={"pk": {"S": "gone"}, "n": {"N": "1"}})
        client.put_item(
            TableName=RANGED, Item={"pk": {"S": "a"}, "sk": {"S": "1"}, "n": {"N": "1"}}
        )
        yield client


def tables() -> dict[str, Any]:
    return dict(dynamodb_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].tables)


def everything(db: Any) -> list[Any]:
    return [sorted(map(str, db.scan(TableName=name)["Items"])) for name in (SIMPLE, RANGED)]


def test_a_cancelled_transaction_leaves_every_item_as_it_was(db: Any) -> None:
    # Given tables with items, and a transaction that updates, deletes and creates
    # items in both, whose last condition fails
    before, same_tables = everything(db), tables()
    transaction = [
        {
            "Update": {
                "TableName": SIMPLE,
                "Key": {"pk": {"S": "kept"}},
                "UpdateExpression": "SET n = :two",
                "ExpressionAttributeValues": {":two": {"N": "2"}},
            }
        },
        {"Delete": {"TableName": SIMPLE, "Key": {"pk": {"S": "gone"}}}},
        {"Put": {"TableName": SIMPLE, "Item": {"pk": {"S": "new"}}}},
        {
            "Update": {
                "TableName": RANGED,
                "Key": {"pk": {"S": "a"}, "sk": {"S": "1"}},
                "UpdateExpression": "SET n = :two",
                "ExpressionAttributeValues": {":two": {"N": "2"}},
            }
        },
        {"Put": {"TableName": RANGED, "Item": {"pk": {"S": "b"}, "sk": {"S": "2"}}}},
        {
            "ConditionCheck": {
                "TableName": SIMPLE,
                "Key": {"pk": {"S": "absent"}},
                "ConditionExpression": "attribute_exists(pk)",
            }
        },
    ]
    # When it runs
    with pytest.raises(db.exceptions.TransactionCanceledException) as cancelled:
        db.transact_write_items(TransactItems=transaction)
    # Then it answers as DynamoDB does, every item is as it was, and no table was
    # replaced by a copy
    reasons = [r["Code"] for r in cancelled.value.response["CancellationReasons"]]
    assert reasons == ["None"] * 5 + ["ConditionalCheckFailed"]
    assert everything(db) == before
    assert all(tables()[name] is same_tables[name] for name in (SIMPLE, RANGED))


def test_a_transaction_that_succeeds_writes_everything(db: Any) -> None:
    db.transact_write_items(
        TransactItems=[
            {"Delete": {"TableName": SIMPLE, "Key": {"pk": {"S": "gone"}}}},
            {"Put": {"TableName": RANGED, "Item": {"pk": {"S": "b"}, "sk": {"S": "2"}}}},
        ]
    )
    assert "gone" not in str(everything(db)[0])
    assert db.get_item(TableName=RANGED, Key={"pk": {"S": "b"}, "sk": {"S": "2"}})["Item"]
