"""What the cleanup finishes after a fault the caller never retried."""

from __future__ import annotations

from tests.faults.world import World
from tests.integration.conftest import LambdaContext
from tests.support.events import load_event


def test_a_cancel_whose_abort_failed_is_finished_by_the_cleanup(world: World):
    # Given a cancel whose AbortMultipartUpload is throttled on every attempt
    caller = world.new_case()
    upload = world.init(caller)
    event = load_event("upload_cancel", path_parameters={"upload_id": upload["upload_id"]})
    event["requestContext"]["authorizer"] = {"lambda": caller}
    world.module("upload_cancel", fresh=True)
    world.injector.plan("throttled", 2)
    answer = world.call("upload_cancel", event)
    assert [str(c) for c in world.injector.calls][2] == "s3.AbortMultipartUpload"
    assert (answer.status, answer.body["error"]["code"]) == (502, "STORAGE_ERROR")
    world.injector.plan(None)
    # When the client never retries, and the session's expiry passes
    world.expire(upload["upload_id"])
    cleanup = world.module("cleanup", fresh=True)
    report = cleanup.lambda_handler(load_event("cleanup"), LambdaContext())
    # Then the cleanup aborted its multipart upload, and it stays cancelled, out of sight
    record = world.record(upload["upload_id"])
    assert report["uploads_aborted"] >= 1 and report["uploads_failed"] == 0
    assert record["status"] == "cancelled" and "sweep" not in record
    assert not world.s3.list_multipart_uploads(Bucket=world.files, Prefix=upload["key"]).get(
        "Uploads"
    )
    assert world.broken(caller["client_id"], settled=True) == []
