"""The adapters' error handling, against real boto3 clients answered by botocore's
Stubber: which AWS errors mean "absent" or "condition failed", which are the contract's
502, what the message says (the code, never the text), and the lost-answer retry."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError
from botocore.stub import ANY, Stubber

from stowage.adapters.aws import error_code, translated
from stowage.adapters.clients import DynamoClientStore
from stowage.adapters.dynamodb import DynamoRecords, conditional, to_item
from stowage.adapters.s3 import S3ObjectStore
from stowage.errors import DatabaseError, StorageError

NOW = datetime(2026, 1, 12, 10, 30, tzinfo=UTC)
NO_RETRIES = Config(retries={"mode": "standard", "max_attempts": 1})


@pytest.fixture
def s3() -> Iterator[tuple[S3ObjectStore, Stubber]]:
    client = boto3.client(
        "s3",
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=NO_RETRIES,
    )
    with Stubber(client) as stub:
        yield S3ObjectStore(client, "files"), stub
        stub.assert_no_pending_responses()


@pytest.fixture
def dynamodb() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client(
        "dynamodb",
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=NO_RETRIES,
    )
    with Stubber(client) as stub:
        yield client, stub
        stub.assert_no_pending_responses()


def client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "the raw text"}}, "Op")


# --- translated, error_code -------------------------------------------------------------
def test_a_client_error_becomes_the_contracts_error_with_its_code_only():
    with pytest.raises(StorageError) as raised, translated(StorageError, "reading the file"):
        raise client_error("SlowDown")
    assert str(raised.value) == "reading the file failed (SlowDown)"
    assert isinstance(raised.value.__cause__, ClientError)


def test_a_client_error_without_a_code_says_error():
    with pytest.raises(DatabaseError) as raised, translated(DatabaseError, "noting use"):
        raise ClientError({"Error": {}}, "Op")
    assert str(raised.value) == "noting use failed (error)"


def test_a_network_failure_says_its_kind():
    with pytest.raises(DatabaseError) as raised, translated(DatabaseError, "listing"):
        raise EndpointConnectionError(endpoint_url="https://x")
    assert str(raised.value) == "listing failed (EndpointConnectionError)"
    assert isinstance(raised.value.__cause__, EndpointConnectionError)


def test_other_exceptions_pass_through_untouched():
    with pytest.raises(KeyError), translated(DatabaseError, "x"):
        raise KeyError("bug")


def test_error_code_reads_the_code_or_nothing():
    assert error_code(client_error("NoSuchKey")) == "NoSuchKey"
    assert error_code(ClientError({}, "Op")) == ""


# --- conditional ------------------------------------------------------------------------
def test_conditional_is_true_when_applied_false_on_a_failed_condition():
    assert conditional("w", lambda: None) is True

    def failed() -> None:
        raise client_error("ConditionalCheckFailedException")

    assert conditional("w", failed) is False


@pytest.mark.parametrize("code", ["ProvisionedThroughputExceededException", "ValidationException"])
def test_conditional_raises_every_other_failure(code):
    def failing() -> None:
        raise client_error(code)

    with pytest.raises(DatabaseError) as raised:
        conditional("writing the index", failing)
    assert str(raised.value) == f"writing the index failed ({code})"


def test_conditional_raises_a_network_failure():
    def failing() -> None:
        raise EndpointConnectionError(endpoint_url="https://x")

    with pytest.raises(DatabaseError):
        conditional("w", failing)


# --- S3 ---------------------------------------------------------------------------------
PARTS = {"Bucket": "files", "Key": "k", "UploadId": "u"}


@pytest.mark.parametrize("code", ["NoSuchUpload", "404"])
def test_listing_parts_of_a_gone_upload_is_none(s3, code):
    store, stub = s3
    stub.add_client_error("list_parts", code, http_status_code=404, expected_params=PARTS)
    assert store.list_parts("k", "u") is None


def test_listing_parts_fails_on_anything_else(s3):
    store, stub = s3
    stub.add_client_error("list_parts", "AccessDenied", http_status_code=403)
    with pytest.raises(StorageError, match=r"^listing parts failed \(AccessDenied\)$"):
        store.list_parts("k", "u")


def test_listing_parts_reads_every_page(s3):
    store, stub = s3
    part = {"PartNumber": 1, "Size": 5, "ETag": '"e1"'}
    stub.add_response(
        "list_parts",
        {"Parts": [part], "IsTruncated": True, "NextPartNumberMarker": 1},
        PARTS,
    )
    stub.add_response(
        "list_parts",
        {"Parts": [part | {"PartNumber": 2, "ETag": '"e2"'}], "IsTruncated": False},
        PARTS | {"PartNumberMarker": 1},
    )
    parts = store.list_parts("k", "u")
    assert [(p.part_number, p.size, p.etag) for p in parts] == [(1, 5, '"e1"'), (2, 5, '"e2"')]


@pytest.mark.parametrize("code", ["NoSuchUpload", "404"])
def test_aborting_a_gone_upload_is_done(s3, code):
    store, stub = s3
    stub.add_client_error("abort_multipart_upload", code, 404, expected_params=PARTS)
    store.abort_multipart("k", "u")


def test_aborting_fails_on_anything_else(s3):
    store, stub = s3
    stub.add_client_error("abort_multipart_upload", "SlowDown", 503)
    with pytest.raises(StorageError, match=r"^aborting the upload failed \(SlowDown\)$"):
        store.abort_multipart("k", "u")


@pytest.mark.parametrize("code", ["404", "NoSuchKey", "NotFound"])
def test_head_of_a_missing_key_is_none(s3, code):
    store, stub = s3
    stub.add_client_error("head_object", code, 404, expected_params={"Bucket": "files", "Key": "k"})
    assert store.head("k") is None


def test_head_fails_on_anything_else(s3):
    store, stub = s3
    stub.add_client_error("head_object", "403", 403)
    with pytest.raises(StorageError, match=r"^reading the file failed \(403\)$"):
        store.head("k")


def test_head_defaults_a_missing_content_type_and_metadata(s3):
    store, stub = s3
    stub.add_response("head_object", {"ContentLength": 3, "ETag": '"e"', "LastModified": NOW})
    info = store.head("k")
    assert info is not None
    assert (info.size, info.etag, info.content_type, info.metadata) == (
        3,
        '"e"',
        "application/octet-stream",
        {},
    )


def test_delete_many_of_nothing_makes_no_call(s3):
    store, _ = s3
    assert store.delete_many([]) == []


def test_delete_many_answers_the_keys_s3_could_not_delete(s3):
    store, stub = s3
    stub.add_response(
        "delete_objects",
        {
            "Errors": [
                {"Key": "b", "Code": "InternalError", "Message": "x"},
                {"Code": "InternalError", "Message": "no key"},
                {"Key": "c", "Code": "AccessDenied", "Message": "x"},
            ]
        },
        {
            "Bucket": "files",
            "Delete": {"Objects": [{"Key": "a"}, {"Key": "b"}, {"Key": "c"}], "Quiet": True},
        },
    )
    assert store.delete_many(["a", "b", "c"]) == ["b", "c"]


def test_delete_many_with_no_errors_is_all_deleted(s3):
    store, stub = s3
    stub.add_response("delete_objects", {})
    assert store.delete_many(["a"]) == []


def test_delete_many_fails_as_a_storage_error(s3):
    store, stub = s3
    stub.add_client_error("delete_objects", "SlowDown", 503)
    with pytest.raises(StorageError, match=r"^deleting files failed \(SlowDown\)$"):
        store.delete_many(["a"])


def test_a_network_failure_is_never_taken_for_absent():
    # A port nothing listens on: the connection is refused at once
    client = boto3.client(
        "s3",
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        endpoint_url="http://127.0.0.1:9",
        config=NO_RETRIES,
    )
    store = S3ObjectStore(client, "files")
    for call in (lambda: store.head("k"), lambda: store.list_parts("k", "u")):
        with pytest.raises(StorageError, match=r"\(EndpointConnectionError\)$"):
            call()
    with pytest.raises(StorageError, match=r"^aborting the upload failed \(Endpoint"):
        store.abort_multipart("k", "u")


# --- DynamoDB records -------------------------------------------------------------------
class Records(DynamoRecords):
    kind = "thing"


def test_a_put_whose_answer_was_lost_finds_itself_and_succeeds(dynamodb):
    client, stub = dynamodb
    records = Records(client, "t", timedelta(days=1))
    item = {"a": "1", "pk": "p", "kind": "thing", "sweep": "thing", "ttl": 86400}
    stub.add_client_error("put_item", "ConditionalCheckFailedException", 400)
    stub.add_response(
        "get_item", {"Item": to_item(item)}, {"TableName": "t", "Key": ANY, "ConsistentRead": True}
    )
    records._put_new({"a": "1"}, "p", datetime.fromtimestamp(0, UTC))


@pytest.mark.parametrize(
    "found",
    [{"a": "2", "pk": "p", "kind": "thing", "sweep": "thing", "ttl": 86400}, None],
    ids=["another record", "none"],
)
def test_a_put_meeting_another_record_fails(dynamodb, found):
    client, stub = dynamodb
    records = Records(client, "t", timedelta(days=1))
    stub.add_client_error("put_item", "ConditionalCheckFailedException", 400)
    stub.add_response("get_item", {"Item": to_item(found)} if found else {})
    with pytest.raises(DatabaseError) as raised:
        records._put_new({"a": "1"}, "p", datetime.fromtimestamp(0, UTC))
    assert str(raised.value) == "recording the thing failed (its id is taken)"


def test_a_record_of_another_kind_is_not_found(dynamodb):
    client, stub = dynamodb
    stub.add_response("get_item", {"Item": to_item({"pk": "p", "kind": "other"})})
    assert Records(client, "t", timedelta(days=1))._get("p") is None


def test_update_answers_whether_its_condition_held(dynamodb):
    client, stub = dynamodb
    records = Records(client, "t", timedelta(days=1))
    stub.add_response("update_item", {})
    stub.add_client_error("update_item", "ConditionalCheckFailedException", 400)
    stub.add_client_error("update_item", "ProvisionedThroughputExceededException", 400)
    assert records._update("p", "SET a = :a", "attribute_exists(pk)", {":a": 1}) is True
    assert records._update("p", "SET a = :a", "attribute_exists(pk)", {":a": 1}) is False
    with pytest.raises(DatabaseError) as raised:
        records._update("p", "SET a = :a", "attribute_exists(pk)", {":a": 1})
    assert str(raised.value) == "updating the thing failed (ProvisionedThroughputExceededException)"


def test_finish_answers_the_record_as_it_is_now_or_fails(dynamodb):
    client, stub = dynamodb
    records = Records(client, "t", timedelta(days=1))
    stub.add_response(
        "update_item",
        {"Attributes": to_item({"pk": "p", "status": "done"})},
        {
            "TableName": "t",
            "Key": to_item({"pk": "p"}),
            "UpdateExpression": "SET #s = :s REMOVE sweep, completing_until, lease_token",
            "ConditionExpression": "attribute_exists(pk)",
            "ExpressionAttributeNames": {"#s": "status"},
            "ExpressionAttributeValues": to_item({":s": "done"}),
            "ReturnValues": "ALL_NEW",
        },
    )
    stub.add_client_error("update_item", "InternalServerError", 500)
    assert records._finish("p", "#s = :s", {":s": "done"}) == {"pk": "p", "status": "done"}
    with pytest.raises(
        DatabaseError, match=r"^recording the thing failed \(InternalServerError\)$"
    ):
        records._finish("p", "#s = :s", {":s": "done"})


# --- clients ----------------------------------------------------------------------------
def record_item(client_id: str) -> dict[str, Any]:
    return to_item(
        {
            "client_id": client_id,
            "role": "user",
            "key_prefix": "",
            "max_file_size": 1,
            "key_hash": "h",
            "created_at": "2026-01-12T10:30:00.000000Z",
            "act_as": False,
            "act_as_roles": [],
            "disabled": False,
            "last_used_at": None,
        }
    )


def test_a_key_hash_is_looked_up_once_and_trusted_only_when_unique(dynamodb):
    client, stub = dynamodb
    store = DynamoClientStore(client, "clients")
    query = {
        "TableName": "clients",
        "IndexName": "by_key_hash",
        "KeyConditionExpression": "key_hash = :h",
        "ExpressionAttributeValues": to_item({":h": "h"}),
        "Limit": 2,
    }
    stub.add_response("query", {"Items": [record_item("a")]}, query)
    stub.add_response("query", {"Items": [record_item("a"), record_item("b")]}, query)
    stub.add_response("query", {"Items": []}, query)
    stub.add_client_error("query", "ProvisionedThroughputExceededException", 400)
    found = store.find_by_key_hash("h")
    assert found is not None and found.client_id == "a"
    assert store.find_by_key_hash("h") is None
    assert store.find_by_key_hash("h") is None
    with pytest.raises(DatabaseError, match=r"^looking up the key failed \(Provisioned"):
        store.find_by_key_hash("h")


def test_noting_use_already_noted_is_no_error_and_a_throttle_is(dynamodb):
    client, stub = dynamodb
    store = DynamoClientStore(client, "clients")
    stub.add_client_error("update_item", "ConditionalCheckFailedException", 400)
    stub.add_client_error("update_item", "ProvisionedThroughputExceededException", 400)
    store.note_used("a", NOW, NOW - timedelta(hours=1))
    with pytest.raises(DatabaseError, match=r"^noting use failed \("):
        store.note_used("a", NOW, NOW - timedelta(hours=1))


def test_updating_an_unknown_client_is_none(dynamodb):
    client, stub = dynamodb
    store = DynamoClientStore(client, "clients")
    stub.add_client_error("update_item", "ConditionalCheckFailedException", 400)
    stub.add_response("update_item", {"Attributes": record_item("a")})
    assert store.update("ghost", disabled=True) is None
    updated = store.update("a", disabled=False)
    assert updated is not None and updated.client_id == "a"
