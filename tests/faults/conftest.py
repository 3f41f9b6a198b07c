"""Fault injection: one moto stack for the module, botocore's back-off without its
sleeps, and a tally of what the injected faults came to."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
from botocore.retries.standard import ExponentialBackoff

from tests.faults.world import World
from tests.support.moto_stack import moto_stack

TALLY: Counter[str] = Counter()
"""Outcomes of every injected fault in this session: "502", "retried", "correct", "known"
(see test_faults.KNOWN) or "wrong"."""


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with moto_stack() as (spec, patch):
        # botocore still retries as configured; it only does not wait between attempts.
        patch.setattr(ExponentialBackoff, "delay_amount", lambda _self, _context: 0)
        yield World(spec)


@pytest.fixture
def tally() -> Counter[str]:
    return TALLY


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if TALLY:
        total = sum(TALLY.values())
        terminalreporter.write_line(
            f"fault injection: {total} faults injected; {TALLY['502']} answered 502"
            f" DATABASE_ERROR/STORAGE_ERROR, {TALLY['retried']} retried through by botocore,"
            f" {TALLY['correct']} answered correctly anyway, {TALLY['known']} known"
            f" (left to a lifecycle rule), {TALLY['wrong']} wrong"
        )
