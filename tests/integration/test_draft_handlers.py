"""Each draft handler with its real adapters, against moto's S3 and DynamoDB.

moto does not enforce a POST policy, so the policy is checked by decoding what was
signed; bytes are put into the drafts bucket directly (the e2e tests POST them)."""

from __future__ import annotations

import base64
import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from stowage.errors import DatabaseError, StorageError
from tests.integration.conftest import Invoke
from tests.support.events import load_event

MIB = 1024 * 1024
GIB = 1024 * MIB
DEV = {"client_id": "dev", "role": "user", "key_prefix": "", "max_file_size": 10 * GIB}
OTHER = DEV | {"client_id": "other"}


@pytest.fixture
def drafts_bucket(stack) -> str:
    return next(b.name for b in stack.buckets if b.logical_id == "DraftsBucket")


def create(invoke: Invoke, caller: dict[str, Any] = DEV, **body: Any) -> Any:
    body = {"file_name": "photo.jpg", "size": 1024, "content_type": "image/jpeg"} | body
    return invoke("draft_create", load_event("draft_create", body=body, caller=caller))


def call(invoke: Invoke, name: str, draft_id: str, caller: dict[str, Any] = DEV) -> Any:
    event = load_event(name, path_parameters={"draft_id": draft_id}, caller=caller)
    return invoke(name, event)


def upload(drafts_bucket: str, answer: dict[str, Any], size: int = 1024) -> None:
    key = answer["upload"]["fields"]["key"]
    boto3.client("s3").put_object(
        Bucket=drafts_bucket, Key=key, Body=b"d" * size, ContentType="image/jpeg"
    )


def new_draft(invoke: Invoke, drafts_bucket: str, **body: Any) -> dict[str, Any]:
    answer = create(invoke, **body)
    assert answer.status == 201, answer.body
    upload(drafts_bucket, answer.body, body.get("size", 1024))
    return answer.body


def policy_of(answer: dict[str, Any]) -> dict[str, Any]:
    return json.loads(base64.b64decode(answer["upload"]["fields"]["policy"]))


def test_the_signed_post_pins_key_exact_size_and_content_type(invoke, drafts_bucket):
    # Given / When
    answer = create(invoke, size=4321, content_type="image/png")
    # Then
    assert answer.status == 201
    fields = answer.body["upload"]["fields"]
    policy = policy_of(answer.body)
    assert fields["key"] == f"drafts/{answer.body['draft_id']}"
    assert fields["x-amz-algorithm"] == "AWS4-HMAC-SHA256"  # SigV4, not SigV2
    conditions = policy["conditions"]
    assert {"key": fields["key"]} in conditions
    assert {"bucket": drafts_bucket} in conditions
    assert ["content-length-range", 4321, 4321] in conditions
    assert {"Content-Type": "image/png"} in conditions and fields["Content-Type"] == "image/png"


def test_the_post_expires_after_the_upload_ttl_and_the_draft_after_its_lifetime(invoke):
    # Given
    before = datetime.now(UTC)
    # When
    answer = create(invoke).body
    # Then
    expiration = datetime.fromisoformat(policy_of(answer)["expiration"].replace("Z", "+00:00"))
    assert timedelta(minutes=59) < expiration - before <= timedelta(hours=1, seconds=5)
    upload_expires = datetime.fromisoformat(answer["upload"]["expires_at"].replace("Z", "+00:00"))
    assert abs(upload_expires - expiration) <= timedelta(seconds=2)
    draft_expires = datetime.fromisoformat(answer["expires_at"].replace("Z", "+00:00"))
    assert (
        timedelta(hours=23, minutes=59) < draft_expires - before <= timedelta(hours=24, seconds=5)
    )


@pytest.mark.parametrize(
    ("size", "caller", "words"),
    [(5 * GIB + 1, DEV, "multipart"), (2 * MIB, DEV | {"max_file_size": MIB}, "limit")],
)
def test_too_large_drafts_are_refused_with_413(invoke, size, caller, words):
    answer = create(invoke, caller=caller, size=size)
    assert (answer.status, answer.body["error"]["code"]) == (413, "FILE_TOO_LARGE")
    assert words in answer.body["error"]["message"]


def test_a_draft_of_exactly_5_gib_is_accepted(invoke):
    assert create(invoke, size=5 * GIB).status == 201


def test_status_goes_from_pending_to_uploaded(invoke, drafts_bucket):
    # Given
    draft = create(invoke).body
    # When
    before = call(invoke, "draft_status", draft["draft_id"]).body
    upload(drafts_bucket, draft)
    after = call(invoke, "draft_status", draft["draft_id"]).body
    # Then
    assert (before["status"], after["status"]) == ("pending", "uploaded")
    assert after["file_name"] == "photo.jpg" and after["size"] == 1024 and after["key"] is None


def test_confirm_before_upload_is_409(invoke):
    draft = create(invoke).body
    answer = call(invoke, "draft_confirm", draft["draft_id"])
    assert (answer.status, answer.body["error"]["code"]) == (409, "DRAFT_NOT_UPLOADED")


def test_confirm_copies_to_the_final_key_and_deletes_the_draft(invoke, drafts_bucket, bucket):
    # Given
    draft = new_draft(invoke, drafts_bucket)
    # When
    answer = call(invoke, "draft_confirm", draft["draft_id"])
    # Then
    assert answer.status == 200, answer.body
    key = answer.body["key"]
    today = datetime.now(UTC).strftime("%Y%m%d")
    assert key == f"user/dev/{today}/image/photo.jpg"
    assert answer.body == {
        "draft_id": draft["draft_id"],
        "key": key,
        "size": 1024,
        "status": "confirmed",
        "deduplicated": False,
    }
    s3 = boto3.client("s3")
    head = s3.head_object(Bucket=bucket, Key=key)
    assert head["ContentLength"] == 1024 and head["ContentType"] == "image/jpeg"
    assert head["Metadata"]["client"] == "dev" and head["Metadata"]["upload"] == draft["draft_id"]
    assert "Contents" not in s3.list_objects_v2(Bucket=drafts_bucket)
    status = call(invoke, "draft_status", draft["draft_id"]).body
    assert (status["status"], status["key"]) == ("confirmed", key)


def test_confirm_twice_gives_the_same_answer_and_one_file(invoke, drafts_bucket, bucket):
    draft = new_draft(invoke, drafts_bucket)
    first = call(invoke, "draft_confirm", draft["draft_id"])
    second = call(invoke, "draft_confirm", draft["draft_id"])
    assert (first.status, second.status) == (200, 200) and first.body == second.body
    assert boto3.client("s3").list_objects_v2(Bucket=bucket)["KeyCount"] == 1


def test_a_taken_name_gets_a_variant_unless_overwrite(invoke, drafts_bucket):
    keys = [
        call(invoke, "draft_confirm", new_draft(invoke, drafts_bucket, **extra)["draft_id"]).body[
            "key"
        ]
        for extra in ({}, {}, {"overwrite": True})
    ]
    assert keys[0].endswith("/photo.jpg") and keys[1].endswith("/photo (1).jpg")
    assert keys[2] == keys[0]


def test_two_concurrent_confirms_copy_once_and_answer_alike(invoke, drafts_bucket, bucket):
    # Given: a draft, and a count of CopyObject calls made by the confirm handler
    draft = new_draft(invoke, drafts_bucket)
    from tests.integration.conftest import load_handler

    handler = load_handler("draft_confirm")
    copies: list[str] = []
    handler.service.files.client.meta.events.register(
        "before-call.s3.CopyObject", lambda **kw: copies.append("copy")
    )
    event = load_event("draft_confirm", path_parameters={"draft_id": draft["draft_id"]}, caller=DEV)
    answers: list[dict[str, Any]] = []

    def confirm() -> None:
        answers.append(handler.lambda_handler(event, _Context()))

    # When
    threads = [threading.Thread(target=confirm) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Then
    assert [a["statusCode"] for a in answers] == [200, 200]
    assert json.loads(answers[0]["body"]) == json.loads(answers[1]["body"])
    assert copies == ["copy"]
    assert boto3.client("s3").list_objects_v2(Bucket=bucket)["KeyCount"] == 1


def test_confirm_after_expiry_is_410(invoke, drafts_bucket, table):
    # Given: a draft uploaded, then its lifetime over
    draft = new_draft(invoke, drafts_bucket)
    past = (datetime.now(UTC) - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    boto3.client("dynamodb").update_item(
        TableName=table,
        Key={"pk": {"S": draft["draft_id"]}},
        UpdateExpression="SET expires_at = :p",
        ExpressionAttributeValues={":p": {"S": past}},
    )
    # When
    answer = call(invoke, "draft_confirm", draft["draft_id"])
    # Then
    assert (answer.status, answer.body["error"]["code"]) == (410, "DRAFT_EXPIRED")
    assert call(invoke, "draft_status", draft["draft_id"]).body["status"] == "expired"


def test_a_draft_of_another_size_is_409_and_not_copied(invoke, drafts_bucket, bucket):
    draft = create(invoke, size=1000).body
    upload(drafts_bucket, draft, size=999)
    answer = call(invoke, "draft_confirm", draft["draft_id"])
    assert (answer.status, answer.body["error"]["code"]) == (409, "SIZE_MISMATCH")
    assert boto3.client("s3").list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_a_failed_draft_delete_after_the_copy_still_confirms(invoke, drafts_bucket, bucket):
    # Given: the draft object cannot be deleted (S3 failing right after the copy)
    from tests.integration.conftest import load_handler

    handler = load_handler("draft_confirm")
    draft = new_draft(invoke, drafts_bucket)

    def fail(key: str) -> None:
        raise StorageError("deleting the file failed (InternalError)")

    handler.service.objects.delete = fail
    event = load_event("draft_confirm", path_parameters={"draft_id": draft["draft_id"]}, caller=DEV)
    # When
    answer = handler.lambda_handler(event, _Context())
    # Then: the file is stored and recorded; the draft object waits for the cleanup
    assert answer["statusCode"] == 200
    key = json.loads(answer["body"])["key"]
    s3 = boto3.client("s3")
    assert s3.head_object(Bucket=bucket, Key=key)["ContentLength"] == 1024
    assert s3.list_objects_v2(Bucket=drafts_bucket)["KeyCount"] == 1
    assert call(invoke, "draft_confirm", draft["draft_id"]).body["key"] == key


def test_a_crash_between_copy_and_record_is_finished_by_a_retry(invoke, drafts_bucket, bucket):
    # Given: the first confirm copies, then cannot record (DynamoDB failing)
    from tests.integration.conftest import load_handler

    handler = load_handler("draft_confirm")
    draft = new_draft(invoke, drafts_bucket)
    real_mark = handler.service.drafts.mark_confirmed

    def fail(*args: Any) -> Any:
        raise DatabaseError("recording the draft failed (InternalServerError)")

    handler.service.drafts.mark_confirmed = fail
    event = load_event("draft_confirm", path_parameters={"draft_id": draft["draft_id"]}, caller=DEV)
    first = handler.lambda_handler(event, _Context())
    # When: the client retries (the failed attempt gave its lease back)
    handler.service.drafts.mark_confirmed = real_mark
    second = handler.lambda_handler(event, _Context())
    # Then: one file, under the first key, and the draft gone
    assert (first["statusCode"], second["statusCode"]) == (502, 200)
    s3 = boto3.client("s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys == [json.loads(second["body"])["key"]] and keys[0].endswith("/photo.jpg")
    assert s3.list_objects_v2(Bucket=drafts_bucket)["KeyCount"] == 0


def test_preview_redirects_to_the_draft_then_to_the_file(invoke, drafts_bucket, bucket):
    # Given
    draft = create(invoke).body
    # When
    early = call(invoke, "draft_content", draft["draft_id"])
    upload(drafts_bucket, draft)
    preview = call(invoke, "draft_content", draft["draft_id"])
    call(invoke, "draft_confirm", draft["draft_id"])
    after = call(invoke, "draft_content", draft["draft_id"])
    # Then
    assert (early.status, early.body["error"]["code"]) == (409, "DRAFT_NOT_UPLOADED")
    assert preview.status == 302 and drafts_bucket in preview.headers["Location"]
    assert f"/drafts/{draft['draft_id']}?" in preview.headers["Location"]
    assert (
        after.status == 302 and f"{bucket}.s3.amazonaws.com/user/dev/" in after.headers["Location"]
    )
    assert preview.headers["Cache-Control"] == "no-store"


def test_discard_deletes_the_bytes_and_ends_the_draft(invoke, drafts_bucket):
    # Given
    draft = new_draft(invoke, drafts_bucket)
    # When
    first = call(invoke, "draft_discard", draft["draft_id"])
    again = call(invoke, "draft_discard", draft["draft_id"])
    confirm = call(invoke, "draft_confirm", draft["draft_id"])
    # Then
    assert (first.status, again.status) == (200, 200)
    assert first.body == {"draft_id": draft["draft_id"], "status": "discarded"}
    assert boto3.client("s3").list_objects_v2(Bucket=drafts_bucket)["KeyCount"] == 0
    assert (confirm.status, confirm.body["error"]["code"]) == (410, "DRAFT_EXPIRED")


def test_discarding_a_confirmed_draft_is_409_and_keeps_the_file(invoke, drafts_bucket, bucket):
    draft = new_draft(invoke, drafts_bucket)
    call(invoke, "draft_confirm", draft["draft_id"])
    answer = call(invoke, "draft_discard", draft["draft_id"])
    assert (answer.status, answer.body["error"]["code"]) == (409, "DRAFT_CONFIRMED")
    assert boto3.client("s3").list_objects_v2(Bucket=bucket)["KeyCount"] == 1


@pytest.mark.parametrize(
    "name", ["draft_status", "draft_content", "draft_confirm", "draft_discard"]
)
def test_another_clients_draft_is_404_and_untouched(invoke, drafts_bucket, name):
    draft = new_draft(invoke, drafts_bucket)
    answer = call(invoke, name, draft["draft_id"], caller=OTHER)
    assert (answer.status, answer.body["error"]["code"]) == (404, "DRAFT_NOT_FOUND")
    assert call(invoke, "draft_status", draft["draft_id"]).body["status"] == "uploaded"


@pytest.mark.parametrize("draft_id", ["nope", "up_AAAAAAAAAAAAAAAAAAAAAAAA", "dr_" + "x" * 10])
def test_malformed_or_unknown_draft_ids_are_404(invoke, draft_id):
    answer = call(invoke, "draft_status", draft_id)
    assert (answer.status, answer.body["error"]["code"]) == (404, "DRAFT_NOT_FOUND")


def test_an_upload_id_is_not_a_draft(invoke):
    upload_id = invoke(
        "upload_init",
        load_event("upload_init", body={"file_name": "a.bin", "size": 10}, caller=DEV),
    ).body["upload_id"]
    answer = call(invoke, "draft_status", "dr_" + upload_id[3:])
    assert answer.status == 404


class _Context:
    function_name = "draft_confirm"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:draft_confirm"
    memory_limit_in_mb = 256
    aws_request_id = "test-request"

    def get_remaining_time_in_millis(self) -> int:
        return 29_000
