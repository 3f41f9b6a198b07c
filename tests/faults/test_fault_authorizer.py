"""The authorizer's AWS calls (GetSecretValue for the pepper, the key's Query, the hourly
last-used UpdateItem), each failed in turn in each way a call can fail: a valid key is
let through when only the bookkeeping failed, refused (API Gateway's 403) when the
lookup itself failed, and the function never raises (API Gateway's 500)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters

from stowage.adapters.clients import DynamoClientStore
from stowage.adapters.dynamodb import to_item
from stowage.domain.clients import ClientAdmin, NewClient
from stowage.wiring import utc_now
from tests.faults.injector import KINDS, Call, applies, clients_of
from tests.faults.world import World
from tests.integration.conftest import LambdaContext, load_handler

PEPPER = "fault-pepper"
BOOKKEEPING = "UpdateItem"
PROVIDER: dict[str, parameters.SecretsProvider] = {}
"""The Powertools provider whose client the injector watches."""


def forget_pepper() -> None:
    """As a new container: the pepper not cached (Powertools keeps it for max_age)."""
    PROVIDER["secrets"].clear_cache()
    parameters.base.DEFAULT_PROVIDERS["secrets"] = PROVIDER["secrets"]


def environment(world: World) -> dict[str, str]:
    return next(f for f in world.stack.functions if f.logical_id == "Authorizer").environment


@pytest.fixture(scope="module")
def authorizer(world: World) -> Iterator[tuple[ModuleType, str, str]]:
    """The authorizer module with the injector on its DynamoDB client and on the
    Powertools provider's Secrets Manager client; a valid key and its client's table."""
    name = environment(world)["API_KEY_PEPPER_SECRET"]
    table = environment(world)["CLIENTS_TABLE"]
    secrets = boto3.client("secretsmanager")
    secrets.create_secret(Name=name, SecretString=PEPPER)
    world.injector.attach(secrets)
    PROVIDER["secrets"] = parameters.SecretsProvider(boto3_client=secrets)
    store = DynamoClientStore(boto3.client("dynamodb"), table)
    admin = ClientAdmin(store, lambda: PEPPER.encode(), utc_now)
    _, key = admin.create_client(NewClient(client_id="fault-client", max_file_size=1024))
    module = load_handler("authorizer")
    for client in clients_of(module.authorizer):
        world.injector.attach(client)
    yield module, key, table
    parameters.base.DEFAULT_PROVIDERS.pop("secrets", None)
    parameters.clear_caches()


def event(key: str) -> dict[str, Any]:
    return {
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": "arn:aws:execute-api:us-east-1:123456789012:api/$default/GET/v1/files",
        "identitySource": [f"Bearer {key}"],
        "routeKey": "GET /v1/files",
        "rawPath": "/v1/files",
        "rawQueryString": "",
        "headers": {"authorization": f"Bearer {key}"},
        "requestContext": {"http": {"method": "GET", "path": "/v1/files"}},
    }


def fresh_request(world: World, table: str) -> None:
    """As for a first request of the hour: nothing cached, no use noted within the hour."""
    forget_pepper()
    world.dynamodb.update_item(
        TableName=table,
        Key=to_item({"client_id": "fault-client"}),
        UpdateExpression="REMOVE last_used_at",
    )


def decide(module: ModuleType, key: str) -> bool:
    answer = module.lambda_handler(event(key), LambdaContext(function_name="authorizer"))
    assert set(answer) == {"isAuthorized", "context"} or set(answer) == {"isAuthorized"}
    return bool(answer["isAuthorized"])


def test_each_call_of_the_authorizer_fails_in_turn(world, authorizer, tally: Counter[str]):
    module, key, table = authorizer
    # Given the calls a first request of the hour makes when nothing fails
    fresh_request(world, table)
    world.injector.plan(None)
    assert decide(module, key) is True
    calls: list[Call] = list(world.injector.calls)
    assert [c.operation for c in calls] == ["GetSecretValue", "Query", BOOKKEEPING]
    problems: list[str] = []
    for kind in KINDS:
        for target, call in enumerate(calls):
            if not applies(kind, call):
                continue
            # When that call fails that way
            before = len(problems)
            fresh_request(world, table)
            world.injector.plan(kind, target)
            try:
                allowed = decide(module, key)
            except Exception as exc:  # the gateway's 500
                problems.append(f"{kind} on {call}: raised {exc!r}")
                continue
            finally:
                attempts = world.injector.attempts
                world.injector.plan(None)
            # Then bookkeeping never refuses; a lookup that failed refuses, and only then
            through = attempts > 1 and kind == "internal"  # botocore's retry went through
            expected = call.operation == BOOKKEEPING or through
            if attempts == 0:
                problems.append(f"{kind} on {call}: the planned call never came")
            if allowed is not expected:
                problems.append(f"{kind} on {call}: isAuthorized {allowed}, not {expected}")
            # and the next request, nothing failing, lets the key through
            forget_pepper()
            if decide(module, key) is not True:
                problems.append(f"{kind} on {call}: the next request was refused")
            tally["wrong" if len(problems) > before else ("retried" if through else "correct")] += 1
    assert not problems, "\n".join(problems)


def test_a_throttled_lookup_is_refused_not_raised_and_counted(world, authorizer, caplog):
    module, key, table = authorizer
    fresh_request(world, table)
    world.injector.plan(None)
    decide(module, key)
    query = [c.operation for c in world.injector.calls].index("Query")
    fresh_request(world, table)
    world.injector.plan("throttled", query)
    assert decide(module, key) is False
    world.injector.plan(None)
    assert "key lookup failed" in caplog.text
