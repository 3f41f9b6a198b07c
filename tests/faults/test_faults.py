"""Each AWS call of each step fails in turn, in each way a call can fail
(tests/faults/injector.py). Whatever failed, the caller gets a correct answer or the
contract's 502, a retry succeeds, and what is stored stays whole (World.broken)."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pytest

from tests.faults.injector import KINDS, WRITES, Call, applies
from tests.faults.steps import STEPS, Step
from tests.faults.world import World
from tests.integration.conftest import Answer

LEAKS = ("Traceback", 'File "', "botocore", "An error occurred (")
"""What a stack trace or a raw boto error would put in a body."""
KNOWN = {
    ("lost", "CreateMultipartUpload"): "belongs to no session",
}
"""Problems that are known and left to another safeguard, and why.

A CreateMultipartUpload that S3 applied but whose answer was lost is sent again by
botocore: S3 has no idempotency token for it, so the first multipart upload's id is
never known to stowage. The files bucket's AbortIncompleteUploadsAfterDays lifecycle
rule (10 days) aborts it; telling it from a concurrent upload of the same key (with
`overwrite`) would take a guess, and a wrong guess aborts someone else's upload."""


@dataclass(frozen=True)
class Case:
    step: Step
    kind: str
    target: int
    call: Call

    def __str__(self) -> str:
        return f"{self.kind} on call {self.target} ({self.call})"


@dataclass
class Prepared:
    caller: dict[str, Any]
    event: dict[str, Any]
    info: dict[str, Any]


def prepare(world: World, step: Step) -> Prepared:
    caller = world.new_case()
    world.injector.plan(None)
    event, info = step.prepare(world, caller)
    return Prepared(caller, event, info)


def calls_of(world: World, step: Step, prepared: Prepared) -> list[Call]:
    """The AWS calls the step makes when nothing fails, in order."""
    world.injector.plan(None)
    answer = step.invoke(world, prepared.event)
    assert answer.status == step.ok, answer.body
    return list(world.injector.calls)


def answer_problems(step: Step, answer: Answer) -> list[str]:
    error = (answer.body if isinstance(answer.body, dict) else {}).get("error") or {}
    problems = [f"leaks {word!r}" for word in LEAKS if word in json.dumps(answer.body)]
    if answer.status != step.ok and (answer.status != 502 or error.get("code") not in step.failed):
        problems.append(f"answered {answer.status} {error.get('code') or answer.body}")
    return problems


def run_case(world: World, case: Case, shared: Prepared | None) -> tuple[str, list[str]]:
    """Prepare (unless the step only reads: then `shared` serves every case), fail the
    call, check, retry, check."""
    step = case.step
    prepared = shared or prepare(world, step)
    world.injector.plan(case.kind, case.target)
    first = step.invoke(world, prepared.event)
    attempts = world.injector.attempts
    world.injector.plan(None)
    problems = answer_problems(step, first)
    if attempts == 0:
        problems.append("the planned call never came")
    client_id = prepared.caller["client_id"]
    if shared is None and first.status != step.ok:
        # What a failure left, as the cleanup would find it if the client never retried
        # (after a correct answer, the check after the retry sees the same).
        problems += world.broken(client_id, settled=False)
    retry = step.invoke(world, prepared.event)
    if retry.status not in (step.ok, *step.retry_ok):
        problems.append(f"a retry answered {retry.status} {retry.body}")
    elif step.same_answer and first.status == step.ok and retry.body != first.body:
        problems.append(f"a retry answered {retry.body}, not {first.body}")
    if shared is None:
        problems += world.broken(client_id, settled=True) + step.settle(world, prepared.info)
    known = KNOWN.get((case.kind, case.call.operation), "\0")
    if problems and all(known in problem for problem in problems):
        return "known", []
    if problems:
        return "wrong", problems
    if first.status != step.ok:
        return "502", []
    return ("retried" if attempts > 1 else "correct"), []


@pytest.mark.parametrize("step", STEPS, ids=lambda step: step.name)
def test_each_call_of_the_step_fails_in_turn(world: World, step: Step, tally: Counter[str]):
    # Given the calls the step makes when nothing fails
    first = prepare(world, step)
    calls = calls_of(world, step, first)
    if step.from_call:  # the shared beginning ends where the step's own calls begin
        assert calls[step.from_call - 1].operation in ("CompleteMultipartUpload", "CopyObject")
    reads_only = not any(call.operation in WRITES for call in calls)
    problems: list[str] = []
    for kind in KINDS:
        world.module(step.handler, fresh=True)  # new clients: botocore's retry quota is full
        for target, call in enumerate(calls):
            if target < step.from_call or not applies(kind, call):
                continue
            # When that call fails that way
            case = Case(step, kind, target, call)
            outcome, found = run_case(world, case, first if reads_only else None)
            # Then the answer, a retry and what is stored are right
            tally[outcome] += 1
            problems += [f"{case}: {problem}" for problem in found]
    if reads_only:
        problems += world.broken(first.caller["client_id"], settled=True)
    assert not problems, "\n".join(problems)
