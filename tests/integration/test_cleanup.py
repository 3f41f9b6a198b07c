"""The scheduled cleanup against moto, with a clock the test moves."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from stowage.models.drafts import CreateDraftRequest
from stowage.models.identity import Caller
from stowage.models.uploads import InitUploadRequest
from stowage.wiring import build_cleanup_service, build_draft_service, build_upload_service
from tests.faults.injector import Injector
from tests.integration.conftest import LambdaContext, load_handler
from tests.support.events import ROOT
from tests.support.fakes import FakeDraftStore, draft_record

NOW = datetime.now(UTC)
DEV = Caller(client_id="dev", role="user", max_file_size=1 << 40)


@pytest.fixture
def drafts_bucket(stack) -> str:
    return next(b.name for b in stack.buckets if b.logical_id == "DraftsBucket")


def at(moment: datetime) -> Any:
    return lambda: moment


def make_draft(moment: datetime, drafts_bucket: str, name: str = "a.txt") -> str:
    service = build_draft_service()
    service.clock = at(moment)
    answer = service.create_draft(DEV, CreateDraftRequest(file_name=name, size=3))
    boto3.client("s3").put_object(
        Bucket=drafts_bucket, Key=answer.upload.fields["key"], Body=b"abc"
    )
    return answer.draft_id


def make_upload(moment: datetime) -> str:
    service = build_upload_service()
    service.clock = at(moment)
    return service.init_upload(DEV, InitUploadRequest(file_name="big.bin", size=10)).upload_id


def run_cleanup(moment: datetime = NOW) -> dict[str, int]:
    service = build_cleanup_service()
    service.clock = at(moment)
    report = service.run()
    return dict(vars(report))


def draft_keys(bucket: str) -> set[str]:
    pages = boto3.client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return {o["Key"] for page in pages for o in page.get("Contents", [])}


def test_expired_drafts_are_removed_and_fresh_and_confirmed_ones_kept(stack, drafts_bucket, bucket):
    # Given: a draft past its 24 h lifetime, a fresh one, and an old one confirmed in time
    old = make_draft(NOW - timedelta(hours=25), drafts_bucket)
    fresh = make_draft(NOW - timedelta(hours=23), drafts_bucket)
    kept = make_draft(NOW - timedelta(hours=30), drafts_bucket, name="kept.txt")
    confirmer = build_draft_service()
    confirmer.clock = at(NOW - timedelta(hours=29))
    key = confirmer.confirm(DEV, kept).key
    # When
    report = run_cleanup()
    # Then
    assert report["drafts_deleted"] == 1 and report["drafts_failed"] == 0
    assert draft_keys(drafts_bucket) == {f"drafts/{fresh}"}
    store = build_draft_service().drafts
    assert store.get(old).status == "expired"
    assert store.get(fresh).status == "pending"
    assert store.get(kept).status == "confirmed"
    assert boto3.client("s3").head_object(Bucket=bucket, Key=key)["ContentLength"] == 3


def test_stale_multipart_uploads_are_aborted_and_fresh_ones_kept(stack, bucket):
    # Given: an upload idle for 8 days (expiry is 7) and a fresh one
    stale = make_upload(NOW - timedelta(days=8))
    fresh = make_upload(NOW - timedelta(days=1))
    # When
    report = run_cleanup()
    # Then
    assert (report["uploads_aborted"], report["uploads_failed"]) == (1, 0)
    sessions = build_upload_service().sessions
    assert sessions.get(stale).status == "expired"
    assert sessions.get(fresh).status == "initiated"
    uploads = boto3.client("s3").list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    assert [u["UploadId"] for u in uploads] == [sessions.get(fresh).s3_upload_id]


def test_a_second_run_finds_nothing_left_to_do(stack, drafts_bucket):
    make_draft(NOW - timedelta(days=2), drafts_bucket)
    make_upload(NOW - timedelta(days=9))
    first, second = run_cleanup(), run_cleanup()
    assert (first["drafts_deleted"], first["uploads_aborted"]) == (1, 1)
    assert set(second.values()) == {0}


def test_an_upload_being_completed_is_left_alone(stack, bucket):
    # Given: a stale upload whose completion holds a lease right now
    upload_id = make_upload(NOW - timedelta(days=8))
    sessions = build_upload_service().sessions
    session = sessions.get(upload_id)
    assert sessions.claim_completion(session, NOW - timedelta(days=8), NOW + timedelta(minutes=1))
    # When
    report = run_cleanup()
    # Then
    assert report["uploads_aborted"] == 0
    assert sessions.get(upload_id).status == "initiated"
    assert len(boto3.client("s3").list_multipart_uploads(Bucket=bucket)["Uploads"]) == 1


def test_2500_expired_drafts_cost_three_delete_objects_calls(stack, drafts_bucket):
    # Given: 2,500 drafts past their lifetime, their objects in S3. The records are kept
    # in memory: moto's DynamoDB takes ~6 ms a call, and what is counted here is S3's.
    service = build_cleanup_service()
    service.clock = at(NOW)
    service.drafts = FakeDraftStore()
    s3 = boto3.client("s3")
    for number in range(2500):
        draft = draft_record(f"dr_bulk{number:020d}", NOW - timedelta(hours=25))
        service.drafts.create(draft)
        s3.put_object(Bucket=drafts_bucket, Key=draft.object_key, Body=b"x")
    calls: list[int] = []
    service.draft_objects.client.meta.events.register(
        "provide-client-params.s3.DeleteObjects",
        lambda params, **kw: calls.append(len(params["Delete"]["Objects"])),
    )
    # When
    report = service.run()
    # Then
    assert calls == [1000, 1000, 500]
    assert report.drafts_deleted == 2500 and draft_keys(drafts_bucket) == set()


def test_keys_delete_objects_could_not_delete_are_reported_and_retried(stack, drafts_bucket):
    # Given: three expired drafts, and S3 answering their DeleteObjects 200 with `Errors`
    # for two of the keys (deleting only the third), at the wire
    ids = [make_draft(NOW - timedelta(hours=25), drafts_bucket) for _ in range(3)]
    service = build_cleanup_service()
    service.clock = at(NOW)
    injector = Injector()
    injector.attach(service.draft_objects.client)
    injector.plan("partial", 0)
    # When the cleanup runs, and again once S3 has recovered
    first = service.run()
    assert [str(c) for c in injector.calls] == ["s3.DeleteObjects"]
    left = draft_keys(drafts_bucket)
    statuses = {f"drafts/{i}": build_draft_service().drafts.get(i).status for i in ids}
    injector.plan(None)
    second = service.run()
    # Then the keys S3 kept were counted as failed, their drafts left pending for the
    # next run, which finishes them
    assert (first.drafts_deleted, first.drafts_failed) == (1, 2)
    assert len(left) == 2
    assert statuses == {k: "pending" if k in left else "expired" for k in statuses}
    assert (second.drafts_deleted, second.drafts_failed) == (2, 0)
    assert draft_keys(drafts_bucket) == set()
    assert {build_draft_service().drafts.get(i).status for i in ids} == {"expired"}


def small_pages(service: Any, size: int) -> list[str]:
    """Make the expiry Query answer `size` items a page, as DynamoDB does past 1 MB;
    answers the index of each Query sent, with "+" when it continued a page."""
    sent: list[str] = []

    def limit(params: dict[str, Any], **_: Any) -> None:
        params["Limit"] = min(params.get("Limit", size), size)
        sent.append(params.get("IndexName", "") + ("+" if "ExclusiveStartKey" in params else ""))

    for store in (service.sessions, service.drafts):
        store.client.meta.events.register("provide-client-params.dynamodb.Query", limit)
    return sent


def test_expired_records_over_several_pages_are_all_swept(stack, drafts_bucket, bucket):
    # Given: five expired drafts and three stale uploads, a fresh one of each, and the
    # expiry index answering two records a page
    old_drafts = [make_draft(NOW - timedelta(hours=25), drafts_bucket) for _ in range(5)]
    fresh_draft = make_draft(NOW - timedelta(hours=1), drafts_bucket)
    stale = [make_upload(NOW - timedelta(days=8)) for _ in range(3)]
    fresh_upload = make_upload(NOW - timedelta(days=1))
    service = build_cleanup_service()
    service.clock = at(NOW)
    sent = small_pages(service, 2)
    # When
    report = service.run()
    # Then every page was read: 3 + 2 pages (the last one of each may come back empty)
    assert sent.count("by_expiry+") >= 3 and sent[0] == "by_expiry"
    assert vars(report) == {
        "uploads_aborted": 3,
        "uploads_failed": 0,
        "drafts_deleted": 5,
        "drafts_failed": 0,
        "archives_deleted": 0,
        "archives_failed": 0,
    }
    drafts, sessions = build_draft_service().drafts, build_upload_service().sessions
    assert {drafts.get(d).status for d in old_drafts} == {"expired"}
    assert drafts.get(fresh_draft).status == "pending"
    assert {sessions.get(u).status for u in stale} == {"expired"}
    assert sessions.get(fresh_upload).status == "initiated"
    assert draft_keys(drafts_bucket) == {f"drafts/{fresh_draft}"}
    uploads = boto3.client("s3").list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    assert [u["UploadId"] for u in uploads] == [sessions.get(fresh_upload).s3_upload_id]


def test_a_run_takes_at_most_max_records_across_pages_and_the_next_the_rest(stack, drafts_bucket):
    # Given: five expired drafts, pages of two, and at most three records a run
    ids = [make_draft(NOW - timedelta(hours=25), drafts_bucket) for _ in range(5)]
    service = build_cleanup_service()
    service.clock = at(NOW)
    service.rules = replace(service.rules, max_records=3)
    small_pages(service, 2)
    # When / Then: three now (the oldest), two next time, none after
    assert service.run().drafts_deleted == 3
    assert len(draft_keys(drafts_bucket)) == 2
    assert service.run().drafts_deleted == 2
    assert service.run().drafts_deleted == 0
    assert draft_keys(drafts_bucket) == set()
    assert {build_draft_service().drafts.get(i).status for i in ids} == {"expired"}


def test_the_handler_takes_the_scheduled_event_and_reports_counts(stack, drafts_bucket):
    # Given
    make_draft(NOW - timedelta(days=3), drafts_bucket)
    event = json.loads((ROOT / "events" / "cleanup.json").read_text())
    # When
    answer = load_handler("cleanup").lambda_handler(event, LambdaContext(function_name="cleanup"))
    # Then
    assert answer == {
        "uploads_aborted": 0,
        "uploads_failed": 0,
        "drafts_deleted": 1,
        "drafts_failed": 0,
        "archives_deleted": 0,
        "archives_failed": 0,
    }
