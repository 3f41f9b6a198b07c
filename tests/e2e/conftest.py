"""End-to-end fixtures: a local stack by default, or a deployed one.

Set STOWAGE_URL and STOWAGE_API_KEY to run the same tests against a deployment.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.support.http import Api


@pytest.fixture(scope="session")
def stack_api() -> Iterator[Api]:
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


@pytest.fixture
def api(stack_api: Api) -> Api:
    return stack_api
