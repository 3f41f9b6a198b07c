"""Bounded retries with exponential backoff and jitter, for transient failures only."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

# 429 and every 5xx: the gateway, Lambda or S3 may answer them under load or
# during a deployment; the same request usually succeeds a moment later.
TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    """Tries in all, the first one included."""
    base_delay: float = 0.5
    max_delay: float = 15.0

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed try number `attempt` (1-based); full jitter
        so that eight workers hitting the same error do not retry in lockstep."""
        ceiling = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        return random.uniform(ceiling / 2, ceiling)  # nosec B311  # jitter, not a secret


def is_transient_error(error: BaseException) -> bool:
    """Timeouts, refused or reset connections, a reply cut short."""
    return isinstance(error, httpx.TransportError)


def retrying[T](
    call: Callable[[], T],
    policy: RetryPolicy,
    should_retry: Callable[[BaseException], bool],
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run `call`; on an exception that `should_retry` accepts, wait and run it again,
    at most `policy.attempts` times in all. The last exception is raised."""
    for attempt in range(1, policy.attempts + 1):
        try:
            return call()
        except Exception as error:
            if attempt == policy.attempts or not should_retry(error):
                raise
            sleep(policy.delay(attempt))
    raise AssertionError("unreachable: the loop returns or raises")
