"""Fault injection: one moto stack per test module (each case acts as a client of its
own, so cases never meet), botocore's back-off without its sleeps, and a tally of what
the injected faults came to."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import boto3
import pytest
from botocore.retries.standard import ExponentialBackoff
from moto import mock_aws

from devstack.atomic import serialize_dynamodb
from devstack.aws import create_bucket, create_table
from devstack.template import StackSpec, load_template
from stowage import config
from tests.faults.world import World
from tests.support.events import ROOT

TALLY: Counter[str] = Counter()
"""Outcomes of every injected fault in this session: "502", "retried", "correct", "known"
(see test_faults.KNOWN) or "wrong"."""


@pytest.fixture(scope="module")
def shared_stack() -> Iterator[StackSpec]:
    """tests/integration's `stack`, once for a whole module: building it takes ~0.5 s."""
    spec = load_template(ROOT / "template.yaml")
    with pytest.MonkeyPatch.context() as patch:
        for name, value in {
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_METRICS_DISABLED": "true",
        }.items():
            patch.setenv(name, value)
        patch.delenv("AWS_ENDPOINT_URL", raising=False)
        for function in spec.functions:
            for name, value in function.environment.items():
                patch.setenv(name, value)
        # botocore still retries as configured; it only does not wait between attempts.
        patch.setattr(ExponentialBackoff, "delay_amount", lambda _self, _context: 0)
        config.clear_settings()
        serialize_dynamodb()
        with mock_aws():
            for bucket in spec.buckets:
                create_bucket(boto3.client("s3"), bucket)
            for table in spec.tables:
                create_table(boto3.client("dynamodb"), table)
            yield spec
        config.clear_settings()


@pytest.fixture(scope="module")
def world(shared_stack: StackSpec) -> World:
    return World(shared_stack)


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
