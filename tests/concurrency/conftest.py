"""Concurrency: requests racing on threads, each in a Lambda instance of its own (a
handler module loaded afresh), against moto with DynamoDB's per-item atomicity."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.faults.world import World
from tests.support.moto_stack import moto_stack


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with moto_stack() as (spec, _):
        yield World(spec)
