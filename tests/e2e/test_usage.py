"""Usage over HTTP: per-day counters of the caller's own stored, confirmed and deleted
files and the failures it was answered, and its daily reports."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime

import pytest

from tests.support.http import Api

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("STOWAGE_URL")), reason="makes clients with the local admin commands"
)


@pytest.fixture
def fresh(stack_api: Api) -> Api:
    """A client of its own, so its counters start at zero."""
    from stowage.domain.clients import NewClient
    from stowage.wiring import build_client_admin

    new = NewClient(client_id=f"use-{uuid.uuid4().hex[:8]}", max_file_size=1 << 30)
    return Api(stack_api.url, build_client_admin().create_client(new)[1])


def today(api: Api) -> dict[str, int]:
    answer = api.call("GET", "/v1/usage", params={"days": 1})
    assert answer.status_code == 200, answer.text
    days = answer.json()["days"]
    assert [d["date"] for d in days] == [datetime.now(UTC).strftime("%Y-%m-%d")]
    return {k: v for k, v in days[0].items() if k != "date"}


def test_usage_counts_stored_confirmed_deleted_and_failures(fresh: Api):
    # Given: nothing done yet
    assert today(fresh) == {"uploads": 0, "bytes": 0, "confirmed": 0, "deleted": 0, "failures": 0}
    # When: a multipart upload (completed twice: counted once), a confirmed draft, a
    # delete, and a complete the server refuses
    done = fresh.upload(b"12345")
    assert fresh.complete(done["upload_id"]).status_code == 200
    draft = fresh.draft(b"abc")
    assert fresh.call("POST", f"/v1/drafts/{draft['draft_id']}/confirm").status_code == 200
    assert fresh.call("DELETE", "/v1/files/" + done["key"]).status_code == 200
    unfinished = fresh.init(size=1).json()["upload_id"]
    assert fresh.complete(unfinished).status_code == 409
    # Then
    assert today(fresh) == {"uploads": 2, "bytes": 8, "confirmed": 1, "deleted": 1, "failures": 1}


def test_usage_lists_the_days_asked_newest_first(fresh: Api):
    days = fresh.call("GET", "/v1/usage", params={"days": 90}).json()["days"]
    assert len(days) == 90 and days == sorted(days, key=lambda d: d["date"], reverse=True)
    assert len(fresh.call("GET", "/v1/usage").json()["days"]) == 7


@pytest.mark.parametrize("days", ["0", "91", "-1", "x"])
def test_usage_days_out_of_range_is_400(fresh: Api, days: str):
    answer = fresh.call("GET", "/v1/usage", params={"days": days})
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "INVALID_FIELD"


def test_a_daily_report_is_recorded(fresh: Api):
    body = {"date": "2026-01-12", "uploaded": 12, "skipped": 3, "failed": 1, "host": "web-1"}
    answer = fresh.call("POST", "/v1/usage/reports", json=body)
    assert answer.status_code == 201, answer.text
    assert answer.json() == {"date": "2026-01-12", "host": "web-1", "status": "recorded"}
    from stowage.wiring import build_usage_service

    stored = build_usage_service().store.days(fresh_client(fresh), ["2026-01-12"])
    assert stored[0].reports["web-1"] | {"received_at": None} == {
        "uploaded": 12,
        "skipped": 3,
        "failed": 1,
        "received_at": None,
    }


def fresh_client(api: Api) -> str:
    info = api.upload(b"x")
    return str(info["key"]).split("/")[2]  # {key_prefix}/user/{client_id}/…


@pytest.mark.parametrize(
    "body",
    [
        {"date": "2026-13-01", "uploaded": 1, "skipped": 0, "failed": 0},
        {"date": "2026-01-12", "uploaded": -1, "skipped": 0, "failed": 0},
        {"date": "2026-01-12", "uploaded": 1, "skipped": 0},
        {"date": "2026-01-12", "uploaded": 1, "skipped": 0, "failed": 0, "host": "a b"},
        {"date": "2026-01-12", "uploaded": "1", "skipped": 0, "failed": 0},
    ],
)
def test_a_bad_report_is_400(fresh: Api, body: dict[str, object]):
    answer = fresh.call("POST", "/v1/usage/reports", json=body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"] in ("INVALID_FIELD", "MISSING_FIELD")


def test_admin_report_prints_every_clients_usage_and_reports(fresh: Api, stack_api: Api):
    # Given: a client that stored a file and sent a report today
    from stowage.wiring import build_client_admin
    from stowage_cli.admin import usage_report

    fresh.upload(b"1234")
    day = datetime.now(UTC).strftime("%Y-%m-%d")
    body = {"date": day, "uploaded": 1, "skipped": 2, "failed": 0, "host": "h1"}
    assert fresh.call("POST", "/v1/usage/reports", json=body).status_code == 201
    client_id = fresh_client(fresh)
    # When
    report = usage_report(build_client_admin(), 2)
    # Then: its day, with the counters, the report and its last activity
    mine = next(c for c in report["clients"] if c["client_id"] == client_id)  # type: ignore[attr-defined]
    assert mine["last_activity"].startswith(day)
    assert mine["days"][0]["date"] == day and mine["days"][0]["uploads"] == 2
    assert mine["days"][0]["reports"]["h1"]["skipped"] == 2
