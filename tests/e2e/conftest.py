"""End-to-end fixtures: a local stack by default, or a deployed one.

Set STOWAGE_URL and STOWAGE_API_KEY to run the same tests against a deployment.
The session's stack (`stack_api`) is in tests/conftest.py, shared with tests/client.
"""

from __future__ import annotations

import pytest

from tests.support.http import Api


@pytest.fixture
def api(stack_api: Api) -> Api:
    return stack_api
