"""EventBridge, locally: the template's schedules fire on one short dev interval.

A deployed `rate(1 hour)` would make a developer wait an hour to see a run, so
every enabled schedule fires every `interval_seconds` instead, with the payload
EventBridge sends (or the schedule's Input). Runs are sequential, on one thread:
a schedule never overlaps itself, and stop() only waits for the run in flight.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from devstack.runtime import log
from devstack.template import ACCOUNT_ID, FunctionSpec, ScheduleSpec, StackSpec

Invoke = Callable[[str, Any], Any]


def scheduled_event(schedule: ScheduleSpec, region: str) -> Any:
    """What the function receives: the Input JSON, else a "Scheduled Event".

    A rule (Schedule) sends `source: aws.events` and `detail: {}`; EventBridge
    Scheduler (ScheduleV2) sends `source: aws.scheduler` and `detail` as the text "{}".
    """
    if schedule.input is not None:
        return json.loads(schedule.input)  # a fresh copy: a handler may change its event
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.scheduler" if schedule.scheduler else "aws.events",
        "account": ACCOUNT_ID,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [schedule.arn],
        "detail": "{}" if schedule.scheduler else {},
    }


def default_event(function: FunctionSpec, stack: StackSpec) -> Any:
    """The event of the function's first schedule; a function without one gets the
    Scheduled Event of a rule named after it."""
    if function.schedules:
        return scheduled_event(function.schedules[0], stack.region)
    name = function.function_name or function.logical_id
    rule = ScheduleSpec(
        name="Invoke",
        expression="",
        enabled=True,
        rate_seconds=None,
        arn=f"arn:aws:events:{stack.region}:{ACCOUNT_ID}:rule/{name}-invoke",
    )
    return scheduled_event(rule, stack.region)


def enabled_schedules(stack: StackSpec) -> list[tuple[str, ScheduleSpec]]:
    """(function logical id, schedule) for every schedule that is not disabled."""
    return [
        (function.logical_id, schedule)
        for function in stack.functions
        for schedule in function.schedules
        if schedule.enabled
    ]


class Scheduler:
    """A daemon thread firing every enabled schedule every `interval_seconds`."""

    def __init__(self, stack: StackSpec, invoke: Invoke, interval_seconds: float) -> None:
        if interval_seconds <= 0:
            raise ValueError(f"the schedule interval must be positive, got {interval_seconds}")
        self.region = stack.region
        self.targets = enabled_schedules(stack)
        self.invoke = invoke
        self.interval_seconds = interval_seconds
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        """Begin firing; the first runs come one interval from now, as on EventBridge."""
        if not self.targets:
            return
        self.stopping.clear()
        self.thread = threading.Thread(target=self._loop, name="devstack-scheduler", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        """Stop at once between runs; a run in flight ends first (at most its Timeout)."""
        self.stopping.set()
        if self.thread is not None:
            self.thread.join()
            self.thread = None

    def fire_all(self) -> None:
        """One round: every target once, in template order, until stop() is called."""
        for logical_id, schedule in self.targets:
            if self.stopping.is_set():
                return
            self.fire(logical_id, schedule)

    def fire(self, logical_id: str, schedule: ScheduleSpec) -> None:
        """One run; a failure is logged, never raised (EventBridge carries on too)."""
        started = time.monotonic()
        try:
            self.invoke(logical_id, scheduled_event(schedule, self.region))
        except Exception as error:  # the dev stack must outlive a broken function
            log(f"schedule {logical_id}.{schedule.name} failed: {error}")
            return
        elapsed = (time.monotonic() - started) * 1000
        log(f"schedule {logical_id}.{schedule.name} ran in {elapsed:.0f} ms")

    def _loop(self) -> None:
        while not self.stopping.wait(self.interval_seconds):
            self.fire_all()
