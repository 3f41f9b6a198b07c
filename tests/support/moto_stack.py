"""The template's buckets and tables under moto, as a context manager: tests/integration's
`stack` fixture for each test, and one per module for the fault and concurrency tests
(building it takes ~0.5 s; each of their cases acts as a client of its own)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import boto3
import pytest
from moto import mock_aws

from devstack.atomic import serialize_dynamodb
from devstack.aws import create_bucket, create_table
from devstack.template import StackSpec, load_template
from stowage import config
from tests.support.events import ROOT


@contextmanager
def moto_stack() -> Iterator[tuple[StackSpec, pytest.MonkeyPatch]]:
    """The template's buckets and tables under moto, with the functions' environment;
    yields the patch too, for whatever else the caller wants undone at the end."""
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
        config.clear_settings()
        serialize_dynamodb()  # DynamoDB's per-item atomicity, which moto lacks under threads
        try:
            with mock_aws():
                for bucket in spec.buckets:
                    create_bucket(boto3.client("s3"), bucket)
                for table in spec.tables:
                    create_table(boto3.client("dynamodb"), table)
                yield spec, patch
        finally:
            config.clear_settings()
