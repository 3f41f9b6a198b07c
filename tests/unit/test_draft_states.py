"""The draft life cycle's states and leases, with the real adapters under moto (one
stack for the module): what each refusal says, and which state wins a race."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from stowage.domain.waiting import Patience
from stowage.errors import DraftConfirmedError, DraftConfirmingError, DraftExpiredError
from stowage.models.drafts import CreateDraftRequest
from stowage.models.identity import Caller
from stowage.wiring import build_draft_service
from tests.support.moto_stack import moto_stack

DEV = Caller(client_id="dev", role="user", max_file_size=1 << 40)


@pytest.fixture(scope="module")
def drafts_bucket() -> Iterator[str]:
    with moto_stack() as (spec, _patch):
        yield next(b.name for b in spec.buckets if b.logical_id == "DraftsBucket")


def service(moment: datetime) -> Any:
    drafts = build_draft_service()
    drafts.clock = lambda: moment
    drafts.rules = replace(drafts.rules, patience=Patience(wait=0.2, poll=0.01))
    return drafts


def drafted(drafts_bucket: str, moment: datetime) -> str:
    answer = service(moment).create_draft(DEV, CreateDraftRequest(file_name="a.txt", size=3))
    boto3.client("s3").put_object(
        Bucket=drafts_bucket, Key=answer.upload.fields["key"], Body=b"abc"
    )
    return answer.draft_id


def refusal(error: type[Exception], call: Any, *args: Any) -> str:
    with pytest.raises(error) as raised:
        call(*args)
    return str(raised.value)


NOW = datetime.now(UTC)


def test_an_expired_draft_can_be_neither_confirmed_nor_discarded(drafts_bucket):
    draft_id = drafted(drafts_bucket, NOW - timedelta(hours=25))
    later = service(NOW)
    message = "the draft expired; create a new one"
    assert refusal(DraftExpiredError, later.confirm, DEV, draft_id) == message
    assert refusal(DraftExpiredError, later.discard, DEV, draft_id) == message


def test_a_discarded_draft_cannot_be_confirmed_and_discarding_again_is_fine(drafts_bucket):
    draft_id = drafted(drafts_bucket, NOW)
    drafts = service(NOW)
    assert drafts.discard(DEV, draft_id).status == "discarded"
    assert drafts.discard(DEV, draft_id).status == "discarded"
    assert refusal(DraftExpiredError, drafts.confirm, DEV, draft_id) == (
        "the draft was discarded; create a new one"
    )


def test_a_draft_being_confirmed_cannot_be_discarded_and_a_confirm_waits(drafts_bucket):
    draft_id = drafted(drafts_bucket, NOW)
    drafts = service(NOW)
    draft = drafts.drafts.get(draft_id)
    assert drafts.drafts.claim_confirmation(draft, NOW, NOW + timedelta(minutes=1))
    assert refusal(DraftConfirmedError, drafts.discard, DEV, draft_id) == (
        "the draft is confirmed or being confirmed"
    )
    assert refusal(DraftConfirmingError, drafts.confirm, DEV, draft_id) == (
        "the draft is being confirmed; retry shortly"
    )
    assert drafts.drafts.get(draft_id).status == "pending"


def test_a_confirmed_draft_cannot_be_discarded(drafts_bucket):
    draft_id = drafted(drafts_bucket, NOW)
    drafts = service(NOW)
    key = drafts.confirm(DEV, draft_id).key
    assert refusal(DraftConfirmedError, drafts.discard, DEV, draft_id) == (
        "the draft is confirmed or being confirmed"
    )
    assert drafts.confirm(DEV, draft_id).key == key


def test_a_discard_that_keeps_losing_its_race_says_retry(drafts_bucket):
    draft_id = drafted(drafts_bucket, NOW)
    drafts = service(NOW)
    drafts.drafts.mark_discarded = lambda draft, now: False  # someone always wrote first
    assert refusal(DraftConfirmingError, drafts.discard, DEV, draft_id) == (
        "the draft changed meanwhile; retry"
    )
