"""Fuzzing the API with schemathesis (tests/fuzz/budget.py sets how much).

Every request is counted and the count printed at the end of the session.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from tests.fuzz.budget import REQUESTS

# `make fuzz` promises a number of requests: fewer is a failed run, not a quiet one.
MIN_REQUESTS = int(os.environ.get("STOWAGE_FUZZ_MIN_REQUESTS", "0"))


def pytest_sessionfinish(session: pytest.Session) -> None:
    if REQUESTS and sum(REQUESTS.values()) < MIN_REQUESTS:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if REQUESTS:
        total = sum(REQUESTS.values())
        kinds = ", ".join(f"{count} {kind}" for kind, count in sorted(REQUESTS.items()))
        terminalreporter.write_line(f"fuzz: {total} requests ({kinds})")
        if total < MIN_REQUESTS:
            terminalreporter.write_line(f"fuzz: fewer than the {MIN_REQUESTS} asked for")
