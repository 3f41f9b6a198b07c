"""Shared fixtures: the fixture stack (with authorizers), started once per module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.stack import LocalStack

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    """The fixture template's stack; module-scoped because only one runs at a time."""
    with LocalStack(root=FIXTURES) as running:
        yield running
