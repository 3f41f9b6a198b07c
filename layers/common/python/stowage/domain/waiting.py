"""Waiting for another caller's work: the loser of a race waits for the winner's answer."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from stowage.errors import StowageError


@dataclass(frozen=True)
class Patience:
    """How long to wait for a lease someone else holds, and how often to look."""

    wait: float = 20.0
    poll: float = 0.1


def answer_when_free[T](
    attempt: Callable[[], T | None], patience: Patience, busy: Callable[[], StowageError]
) -> T:
    """Call `attempt` until it answers (None means "someone else holds the lease")."""
    deadline = time.monotonic() + patience.wait
    while True:
        answer = attempt()
        if answer is not None:
            return answer
        if time.monotonic() >= deadline:
            raise busy()
        time.sleep(patience.poll)
