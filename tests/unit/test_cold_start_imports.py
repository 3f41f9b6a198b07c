"""What a handler's cold start imports, and the lazy tracer and settings it relies on."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
from aws_lambda_powertools.tracing import Tracer
from pydantic import ValidationError

from bench.cold_start import environment, handler_code, stack
from stowage import config, wiring
from stowage.observability import LazyTracer
from tests.faults.injector import clients_of

PROBE = "\nprint(sorted(m for m in ('aws_xray_sdk', 'pydantic_settings') if m in sys.modules))"


def test_a_handler_imports_neither_the_xray_sdk_nor_pydantic_settings() -> None:
    spec = stack()
    code = handler_code(spec, "UploadInit") + PROBE
    done = subprocess.run(
        [sys.executable, "-c", code], env=environment(spec), capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"


OTHER_ROUTES = (
    "zipstream",
    "stowage.domain.archives",
    "stowage.domain.companion",
    "stowage.domain.tus",
    "stowage.domain.drafts",
    "stowage.domain.cleanup",
    "stowage.domain.clients",
    "stowage.adapters.secrets",
)


def test_an_upload_handler_imports_no_other_routes_code() -> None:
    spec = stack()
    probe = f"\nprint(sorted(m for m in {OTHER_ROUTES!r} if m in sys.modules))"
    code = handler_code(spec, "UploadInit") + probe
    done = subprocess.run(
        [sys.executable, "-c", code], env=environment(spec), capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_one_build_makes_one_client_per_service(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UPLOADS_TABLE", "uploads")
    monkeypatch.setenv("FILES_BUCKET", "files")
    monkeypatch.setenv("DRAFTS_BUCKET", "drafts")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    config.clear_settings()
    try:
        service = wiring.build_draft_service()
    finally:
        config.clear_settings()
    names = sorted(c.meta.service_model.service_name for c in clients_of(service))
    assert names == ["dynamodb", "s3"]
    assert clients_of(wiring.build_draft_service()) != clients_of(service)  # none shared


def echo(event: Any, _context: Any) -> Any:
    return {"echo": event}


def test_the_tracer_stays_unmade_unless_the_sdk_is_asked_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("STOWAGE_XRAY_SDK", raising=False)
    tracer = LazyTracer()
    handler = tracer.capture_lambda_handler(capture_response=False)(echo)
    assert handler(1, None) == {"echo": 1}
    assert tracer.real is None
    monkeypatch.setenv("STOWAGE_XRAY_SDK", "true")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    assert tracer.real is None  # Powertools' own switch still wins


def test_the_sdk_tracer_is_made_at_the_first_call_when_asked_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("STOWAGE_XRAY_SDK", "true")
    monkeypatch.delenv("POWERTOOLS_TRACE_DISABLED", raising=False)
    tracer = LazyTracer()
    handler = tracer.capture_lambda_handler(echo)
    assert tracer._tracer is None  # decorating made nothing
    assert handler(2, None) == {"echo": 2}
    assert isinstance(tracer.real, Tracer)
    assert handler(3, None) == {"echo": 3}


def test_settings_come_from_the_environment_in_any_case(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UPLOADS_TABLE", "uploads")
    monkeypatch.setenv("files_bucket", "files")
    monkeypatch.setenv("PART_URL_TTL", "120")
    settings = config.UploadSettings.from_environment()
    assert (settings.uploads_table, settings.files_bucket) == ("uploads", "files")
    assert settings.part_url_ttl == 120
    assert settings.backup_keep == 10


def test_a_missing_or_bad_setting_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DRAFTS_BUCKET", raising=False)
    with pytest.raises(ValidationError):
        config.DraftSettings.from_environment()
    monkeypatch.setenv("DRAFTS_BUCKET", "drafts")
    monkeypatch.setenv("UPLOAD_TTL", "5")  # below the 60 s floor
    with pytest.raises(ValidationError):
        config.DraftSettings.from_environment()
