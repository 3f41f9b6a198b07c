"""The one local stack that tests/e2e and tests/client share.

Only one LocalStack runs per process (os.environ and sys.path are process-wide),
so the suites that talk HTTP to a stack use this session fixture, and tests/devstack,
which starts stacks of its own, runs before any of them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.http import Api

OWN_STACKS = Path(__file__).parent / "devstack"


@pytest.fixture(scope="session")
def stack_api() -> Iterator[Api]:
    """A local stack by default; STOWAGE_URL and STOWAGE_API_KEY name a deployed one."""
    url, key = os.environ.get("STOWAGE_URL"), os.environ.get("STOWAGE_API_KEY")
    if url and key:
        yield Api(url, key)
        return
    from devstack.seed import seed
    from devstack.stack import LocalStack

    # No authorizer cache, so a disabled or rotated key is refused at once; the cache
    # itself is covered by tests/devstack.
    overrides = {"AuthorizerCacheTtlSeconds": "0"}
    stack = LocalStack(port=0, s3_port=0, seed=seed, parameter_overrides=overrides)
    stack.start()
    try:
        yield Api(stack.url, stack.api_key)
    finally:
        stack.stop()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """tests/devstack first: the shared stack above lives until the session ends, and
    a second stack cannot start beside it (tests/client sorts before tests/devstack).
    The tests on the shared stack last: its moto server runs in a child process now, so a
    `mock_aws` (unit, integration, faults…) no longer resets its data, but its functions
    run in this process, and their background work (S3 events, asynchronous invokes)
    would reach a later test's `mock_aws` instead of the stack's moto."""
    items.sort(
        key=lambda item: (
            not item.path.is_relative_to(OWN_STACKS),
            "stack_api" in getattr(item, "fixturenames", ()),
        )
    )
