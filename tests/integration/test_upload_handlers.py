"""Each upload handler with its real adapters, against moto's S3 and DynamoDB."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from tests.integration.conftest import Invoke
from tests.support.events import load_event

MIB = 1024 * 1024
DEV = {"client_id": "dev", "role": "user", "key_prefix": "", "max_file_size": 10 * MIB}


def init(invoke: Invoke, **body: Any) -> dict[str, Any]:
    body = {"file_name": "report.pdf", "size": 7 * MIB, "part_size": 5 * MIB} | body
    answer = invoke("upload_init", load_event("upload_init", body=body, caller=DEV))
    assert answer.status == 201, answer.body
    return answer.body


def put_parts(bucket: str, plan: dict[str, Any], s3_upload_id: str) -> None:
    s3 = boto3.client("s3")
    sizes = [5 * MIB, 2 * MIB][: plan["part_count"]]
    for number, size in enumerate(sizes, start=1):
        s3.upload_part(
            Bucket=bucket,
            Key=plan["key"],
            UploadId=s3_upload_id,
            PartNumber=number,
            Body=b"p" * size,
        )


def stored(table: str, upload_id: str) -> dict[str, Any]:
    item = boto3.client("dynamodb").get_item(TableName=table, Key={"pk": {"S": upload_id}})
    return item["Item"]


def test_init_records_a_session_and_starts_a_multipart_upload(invoke, bucket, table):
    # Given / When
    plan = init(invoke)
    # Then
    item = stored(table, plan["upload_id"])
    assert item["status"]["S"] == "initiated" and item["client_id"]["S"] == "dev"
    uploads = boto3.client("s3").list_multipart_uploads(Bucket=bucket)["Uploads"]
    assert [u["Key"] for u in uploads] == [plan["key"]]
    assert int(item["ttl"]["N"]) > 0


def test_init_refuses_a_file_over_the_clients_limit(invoke, bucket):
    answer = invoke(
        "upload_init",
        load_event("upload_init", body={"file_name": "a", "size": 10 * MIB + 1}, caller=DEV),
    )
    assert (answer.status, answer.body["error"]["code"]) == (413, "FILE_TOO_LARGE")
    assert "Uploads" not in boto3.client("s3").list_multipart_uploads(Bucket=bucket)


def test_the_whole_cycle_through_the_handlers(invoke, bucket, table):
    # Given
    plan = init(invoke)
    upload_id = plan["upload_id"]
    path = {"upload_id": upload_id}
    s3_upload_id = stored(table, upload_id)["s3_upload_id"]["S"]
    # When parts are signed, uploaded and the upload completed
    signed = invoke(
        "upload_parts",
        load_event("upload_parts", body={"part_numbers": [1, 2]}, path_parameters=path, caller=DEV),
    )
    put_parts(bucket, plan, s3_upload_id)
    status = invoke("upload_status", load_event("upload_status", path_parameters=path, caller=DEV))
    done = invoke(
        "upload_complete", load_event("upload_complete", path_parameters=path, caller=DEV)
    )
    # Then
    assert signed.status == 200 and [p["size"] for p in signed.body["parts"]] == [5 * MIB, 2 * MIB]
    assert status.body["parts_uploaded"] == 2 and status.body["status"] == "in_progress"
    assert done.status == 200 and done.body["status"] == "completed"
    head = boto3.client("s3").head_object(Bucket=bucket, Key=plan["key"])
    assert head["ContentLength"] == 7 * MIB
    assert head["Metadata"]["upload"] == upload_id
    assert head["ContentType"] == "application/pdf"
    assert stored(table, upload_id)["status"]["S"] == "completed"


def test_cancel_aborts_the_s3_upload_and_releases_the_name(invoke, bucket, table):
    # Given
    plan = init(invoke)
    path = {"upload_id": plan["upload_id"]}
    # When
    answer = invoke("upload_cancel", load_event("upload_cancel", path_parameters=path, caller=DEV))
    # Then
    assert answer.status == 200 and answer.body["status"] == "cancelled"
    assert "Uploads" not in boto3.client("s3").list_multipart_uploads(Bucket=bucket)
    assert "Item" not in boto3.client("dynamodb").get_item(
        TableName=table, Key={"pk": {"S": f"key#{plan['key']}"}}
    )
    assert init(invoke)["key"] == plan["key"]


def test_list_pages_with_a_cursor_and_refuses_a_forged_one(invoke):
    # Given three uploads
    ids = {init(invoke, file_name=f"f{n}.bin")["upload_id"] for n in range(3)}
    # When listed two at a time
    first = invoke(
        "upload_list",
        load_event("upload_list", query={"status": "initiated", "limit": "2"}, caller=DEV),
    )
    cursor = first.body["next_cursor"]
    second = invoke(
        "upload_list",
        load_event(
            "upload_list", query={"status": "initiated", "limit": "2", "cursor": cursor}, caller=DEV
        ),
    )
    forged = invoke(
        "upload_list", load_event("upload_list", query={"cursor": cursor[:-4] + "AAAA"}, caller=DEV)
    )
    other = invoke(
        "upload_list",
        load_event("upload_list", query={"cursor": cursor}, caller=DEV | {"client_id": "eve"}),
    )
    # Then
    seen = [u["upload_id"] for u in first.body["uploads"] + second.body["uploads"]]
    assert sorted(seen) == sorted(ids)
    assert (forged.status, forged.body["error"]["code"]) == (400, "INVALID_FIELD")
    assert (other.status, other.body["error"]["field"]) == (400, "cursor")


def test_download_redirects_only_for_the_owner(invoke, bucket, table):
    # Given a completed upload
    plan = init(invoke, size=1)
    path = {"upload_id": plan["upload_id"]}
    boto3.client("s3").upload_part(
        Bucket=bucket,
        Key=plan["key"],
        UploadId=stored(table, plan["upload_id"])["s3_upload_id"]["S"],
        PartNumber=1,
        Body=b"x",
    )
    assert (
        invoke(
            "upload_complete", load_event("upload_complete", path_parameters=path, caller=DEV)
        ).status
        == 200
    )
    key_path = {"key": plan["key"]}
    # When
    mine = invoke("download", load_event("download", path_parameters=key_path, caller=DEV))
    as_json = invoke(
        "download",
        load_event("download", path_parameters=key_path, query={"redirect": "false"}, caller=DEV),
    )
    theirs = invoke(
        "download",
        load_event(
            "download", path_parameters=key_path, caller=DEV | {"client_id": "eve", "act_as": True}
        ),
    )
    # Then
    assert mine.status == 302 and "X-Amz-Signature" in mine.headers["Location"]
    assert as_json.status == 200 and as_json.body["url"].startswith("https://")
    assert theirs.status == 404 and theirs.body["error"]["code"] == "FILE_NOT_FOUND"


def test_a_request_without_identity_is_refused(invoke):
    event = load_event("upload_init")
    del event["requestContext"]["authorizer"]
    answer = invoke("upload_init", event)
    assert (answer.status, answer.body["error"]["code"]) == (403, "FORBIDDEN")


@pytest.mark.parametrize("directory", ["upload_status", "upload_cancel", "upload_complete"])
def test_the_sample_events_reach_their_handler(invoke, directory):
    answer = invoke(directory, load_event(directory))
    assert (answer.status, answer.body["error"]["code"]) == (404, "UPLOAD_NOT_FOUND")


def test_health(invoke):
    answer = invoke("health", load_event("health"))
    assert answer.status == 200 and answer.body["status"] == "ok"


def sign(invoke: Invoke, upload_id: str, numbers: list[int], caller: dict[str, Any] = DEV) -> Any:
    body = {"part_numbers": numbers}
    path = {"upload_id": upload_id}
    return invoke(
        "upload_parts", load_event("upload_parts", body=body, path_parameters=path, caller=caller)
    )


def test_signing_moves_the_session_to_in_progress_in_the_status_index(invoke, table):
    # Given an upload just started
    plan = init(invoke)
    created = stored(table, plan["upload_id"])
    # When its parts are signed (one conditional write, no read)
    signed = sign(invoke, plan["upload_id"], [1, 2])
    # Then the record is in progress, for the status index too, its expiry pushed back
    item = stored(table, plan["upload_id"])
    assert signed.status == 200, signed.body
    assert item["status"]["S"] == "in_progress"
    assert item["status_created"]["S"] == "in_progress#" + created["created_at"]["S"]
    assert item["expires_at"]["S"] >= created["expires_at"]["S"]


def test_a_session_recorded_before_the_one_write_touch_is_still_signed(invoke, table):
    # Given a session as recorded before it carried its in-progress index key
    plan = init(invoke)
    boto3.client("dynamodb").update_item(
        TableName=table,
        Key={"pk": {"S": plan["upload_id"]}},
        UpdateExpression="REMOVE status_created_in_progress",
    )
    # When its parts are signed
    signed = sign(invoke, plan["upload_id"], [1])
    # Then it is signed and moved to in progress all the same
    item = stored(table, plan["upload_id"])
    assert signed.status == 200, signed.body
    assert item["status_created"]["S"].startswith("in_progress#")


@pytest.mark.parametrize(
    ("numbers", "caller", "status", "code"),
    [
        ([3], DEV, 400, "INVALID_FIELD"),  # the upload has two parts
        ([1], DEV | {"client_id": "other"}, 404, "UPLOAD_NOT_FOUND"),
    ],
    ids=["a part past the last", "another client"],
)
def test_a_refused_sign_leaves_the_session_as_it_was(invoke, table, numbers, caller, status, code):
    # Given an upload just started
    plan = init(invoke)
    before = stored(table, plan["upload_id"])
    # When a sign request is refused
    answer = sign(invoke, plan["upload_id"], numbers, caller)
    # Then it answers why and the session is not touched
    assert (answer.status, answer.body["error"]["code"]) == (status, code)
    assert stored(table, plan["upload_id"]) == before
