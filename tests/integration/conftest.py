"""Handlers with their real adapters under moto, tables and buckets built from template.yaml."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import pytest

from devstack.template import StackSpec
from tests.support.events import ROOT
from tests.support.moto_stack import moto_stack


@dataclass
class LambdaContext:
    function_name: str = "test"
    function_version: str = "$LATEST"
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:test"
    memory_limit_in_mb: int = 256
    aws_request_id: str = "test-request"

    def get_remaining_time_in_millis(self) -> int:
        return 29_000


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: Any


Invoke = Callable[[str, dict[str, Any]], Answer]


@pytest.fixture
def stack() -> Iterator[StackSpec]:
    with moto_stack() as (spec, _patch):
        yield spec


def load_handler(directory: str) -> ModuleType:
    """A fresh import of `functions/<directory>/app.py`, as a new Lambda container would do."""
    path = ROOT / "functions" / directory / "app.py"
    spec = importlib.util.spec_from_file_location(f"handler_{directory}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def invoke(stack: StackSpec) -> Invoke:
    modules: dict[str, ModuleType] = {}

    def call(directory: str, event: dict[str, Any]) -> Answer:
        if directory not in modules:
            modules[directory] = load_handler(directory)
        raw = modules[directory].lambda_handler(event, LambdaContext(function_name=directory))
        body = raw.get("body") or ""
        return Answer(raw["statusCode"], raw.get("headers", {}), json.loads(body) if body else None)

    return call


@pytest.fixture
def bucket(stack: StackSpec) -> str:
    return next(b.name for b in stack.buckets if b.logical_id == "FilesBucket")


@pytest.fixture
def table(stack: StackSpec) -> str:
    return next(t.name for t in stack.tables if t.logical_id == "UploadsTable")
