"""The scheduled cleanup of 10,000 expired drafts on the local stack: calls and time."""

from __future__ import annotations

import os
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from itertools import batched
from typing import Any

from devstack.stack import LocalStack
from stowage import config
from stowage.adapters.dynamodb import stored_fields, to_item
from stowage.domain.draft import Draft
from stowage.wiring import build_cleanup_service
from tests.support.fakes import draft_record

DRAFTS = int(os.environ.get("BENCH_DRAFTS", "10000"))


def seed_drafts(stack: LocalStack, drafts: list[Draft]) -> None:
    """Records by BatchWriteItem and objects by parallel PUTs: setup is not what is timed."""
    table, bucket = stack.table_name("UploadsTable"), stack.bucket_name("DraftsBucket")
    dynamodb, s3 = stack.dynamodb(), stack.s3()
    for batch in batched(drafts, 25, strict=False):
        items = [{"PutRequest": {"Item": to_item(stored_fields(d) | _keys(d))}} for d in batch]
        dynamodb.batch_write_item(RequestItems={table: items})
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda d: s3.put_object(Bucket=bucket, Key=d.object_key, Body=b"x"), drafts))


def _keys(draft: Draft) -> dict[str, Any]:
    return {"pk": draft.draft_id, "kind": "draft", "sweep": "draft", "ttl": 0}


def count_calls(client: Any, calls: Counter[str]) -> None:
    client.meta.events.register("before-call.*.*", lambda model, **kw: calls.update([model.name]))


def report() -> None:
    now = datetime.now(UTC)
    with LocalStack(port=0, s3_port=0) as stack:
        seed_drafts(
            stack,
            [draft_record(f"dr_bench{n:020d}", now - timedelta(hours=25)) for n in range(DRAFTS)],
        )
        config.clear_settings()  # the stack set the functions' environment just now
        service = build_cleanup_service()
        calls: Counter[str] = Counter()
        count_calls(service.draft_objects.client, calls)
        count_calls(service.sessions.client, calls)  # type: ignore[attr-defined]
        count_calls(service.drafts.client, calls)  # type: ignore[attr-defined]
        start = time.perf_counter()
        result = service.run()
        elapsed = time.perf_counter() - start
    print(f"## Cleanup of {DRAFTS:,} expired drafts on the local stack")
    print(f"drafts deleted: {result.drafts_deleted:,}, failed: {result.drafts_failed}")
    print(f"time: {elapsed:.1f} s ({elapsed / DRAFTS * 1000:.2f} ms a draft)")
    print("| call | count |")
    print("|---|---|")
    for name, count in sorted(calls.items()):
        print(f"| {name} | {count:,} |")
