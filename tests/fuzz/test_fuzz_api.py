"""Generated requests against the local stack: no answer is a 5xx, every answer is what
the OpenAPI document says, every error is the contract's (or API Gateway's own).

Stateless: each operation with valid and invalid input. Stateful: sequences that follow
the document's links (init → parts → complete → status → download, draft → confirm),
with the bytes of small parts and drafts sent to S3 between the steps, so uploads do
complete and drafts do confirm. Sizes come from the generator but only files up to
64 KiB get bytes: the fuzzing is of the API, not of S3 (moto enforces no policy).
"""

from __future__ import annotations

from typing import Any

import hypothesis
import pytest
import requests
import schemathesis
from hypothesis.stateful import get_state_machine_test
from schemathesis import Case, Response
from schemathesis.checks import CheckContext, not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ensure_resource_availability,
    ignored_auth,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.fuzz.budget import CONFIG, DOCUMENT, REQUESTS, SCENARIOS, SEED, STEPS
from tests.support.http import Api, post_form

schema = schemathesis.openapi.from_path(DOCUMENT, config=CONFIG)

SMALL = 64 * 1024
MAX_BATCHES = 50


def whole_numbers(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: whole_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [whole_numbers(item) for item in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


@schema.hook
def map_body(_context: Any, body: Any) -> Any:
    """Integers as clients write them. JSON Schema counts 3257.0 as an integer, so the
    generator sends it; the API refuses it on purpose (requests are strict, never
    coerced: tests/unit/test_models.py), which the document says in words."""
    return whole_numbers(body)


GATEWAY_STATUSES = {401, 403, 404, 413, 429, 500, 503}


@schemathesis.check
def contract_error(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """An error is the contract's `{"error": {code, message, timestamp}}` with a code the
    document lists for this route and status, or one of API Gateway's `{"message"}`."""
    if response.status_code < 400 or case.method.upper() == "HEAD":
        return None
    body = response.json()
    if set(body) == {"message"}:
        assert response.status_code in GATEWAY_STATUSES, f"gateway-shaped {response.status_code}"
        return True
    error = body["error"]
    assert {"code", "message", "timestamp"} <= set(error), error
    assert set(error) <= {"code", "message", "timestamp", "field", "missing"}, error
    documented = case.operation.definition.raw["responses"].get(str(response.status_code), {})
    codes = documented.get("x-error-codes", [])
    assert error["code"] in codes, (
        f"{error['code']} is not among the codes documented for {response.status_code}: {codes}"
    )
    return True


class Target(dict[str, Any]):
    """`case.call` arguments whose repr, in a failure report, does not show the key."""

    def __repr__(self) -> str:
        return f"Target({self['base_url']}, the dev key)"


@pytest.fixture(scope="module")
def target(stack_api: Api) -> Target:
    """Where requests go: the session's stack, with the dev key."""
    return Target(base_url=stack_api.url, headers=stack_api.headers())


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
    contract_error,
]


@schema.parametrize()
def test_every_operation_answers_as_documented(case: Case, target: Target) -> None:
    # Given a generated request (valid or not) for one operation
    # When it is sent
    response = case.call(**target)
    REQUESTS["stateless"] += 1
    # Then the answer is no server error, matches the document, and errors are the contract's
    checks = [*CHECKS, ignored_auth]
    case.validate_response(response, checks=checks, headers=target["headers"])


def send_small_bytes(response: Response, case: Case) -> None:
    """Upload what a step just signed, when it is small, so the next steps can complete."""
    if case.operation.definition.raw.get("operationId") == "UploadParts":
        if response.status_code == 200:
            for part in response.json()["parts"]:
                if part["size"] <= SMALL:
                    requests.put(part["url"], data=b"\0" * part["size"], timeout=30)
                    REQUESTS["S3 part PUTs"] += 1
    elif case.operation.definition.raw.get("operationId") == "DraftCreate":
        if response.status_code == 201 and case.body["size"] <= SMALL:
            post_form(response.json()["upload"], b"\0" * case.body["size"])
            REQUESTS["S3 draft POSTs"] += 1


def small_enough_to_upload(case: Case) -> None:
    """Half the inits and drafts of a sequence get a size whose bytes are sent (the
    generator mostly picks far larger ones), so sequences go on to complete, confirm,
    download and delete."""
    body = case.body
    if case.operation.definition.raw.get("operationId") not in ("UploadInit", "DraftCreate"):
        return
    if isinstance(body, dict) and type(body.get("size")) is int and body["size"] % 2 == 0:
        body["size"] %= SMALL + 1


def start_from_creation(fuzz_schema: Any) -> None:
    """Let sequences start with an init or a draft. schemathesis takes `file_name` and
    `user_id` for references to resources nothing creates, so it would not start there;
    they are plain input."""
    graph = fuzz_schema.analysis.dependency_graph
    for label in ("POST /v1/uploads", "POST /v1/drafts"):
        node = graph.operations[label]
        node.inputs = [slot for slot in node.inputs if slot.resource_field is None]


def run_in_batches(machine: Any, scenarios: int) -> None:
    """Run `scenarios` seeded scenarios. On a live stack what a link
    yields depends on what the stack holds by then, which Hypothesis notices when a
    scenario retraces an earlier one (Flaky) and ends the batch; the next batch, with
    the next seed, carries on, as schemathesis's own runner does."""
    done = 0
    for batch in range(MAX_BATCHES):
        if done >= scenarios:
            break
        settings = hypothesis.settings(
            max_examples=scenarios - done,
            stateful_step_count=STEPS,
            database=None,
            deadline=None,
            suppress_health_check=list(hypothesis.HealthCheck),
        )
        test = get_state_machine_test(machine, settings=settings, _min_steps=2)
        before = machine.scenarios
        try:
            hypothesis.seed(SEED + batch)(test)()
        except hypothesis.errors.Flaky:
            pass  # the batch ends here; the scenarios it ran count
        done += max(machine.scenarios - before, 1)


# Where sequences start: creating, or listing what exists. A start with a made-up id
# is a 404 the stateless test already covers, and would take most of the budget.
STARTS = {
    "RANDOM__POST_v1_uploads",
    "RANDOM__POST_v1_drafts",
    "RANDOM__GET_v1_uploads",
    "RANDOM__GET_v1_files",
}


def only_start_from(machine: Any, starts: set[str]) -> None:
    assert starts <= machine.root_rules, sorted(machine.root_rules)
    for name in machine.root_rules - starts:
        setattr(machine, name, None)  # no longer a rule Hypothesis picks


def test_sequences_follow_the_links(target: Target) -> None:
    # Given sequences of calls that follow the document's links, from an init or a draft on
    start_from_creation(schema)
    failures: list[str] = []

    class Sequences(schema.as_state_machine()):  # type: ignore[misc]
        scenarios = 0

        def get_call_kwargs(self, case: Case) -> dict[str, Any]:
            return dict(target)

        def before_call(self, case: Case) -> None:
            super().before_call(case)
            small_enough_to_upload(case)

        def after_call(self, response: Response, case: Case) -> None:
            super().after_call(response, case)
            REQUESTS["stateful"] += 1
            send_small_bytes(response, case)

        def teardown(self) -> None:
            super().teardown()
            Sequences.scenarios += 1

        def validate_response(self, response: Response, case: Case, **kwargs: Any) -> None:
            # Not use_after_free: DELETE of an upload or a draft cancels or discards it,
            # and its status says so afterwards (200), by design.
            checks = [*CHECKS, ensure_resource_availability]
            try:
                case.validate_response(
                    response, checks=checks, headers=target["headers"], recorder=self.recorder
                )
            except (AssertionError, FailureGroup) as failure:
                # Noted, not raised: the stack's state moves on, so Hypothesis could not
                # replay (or shrink) a sequence; the failing step is reported as it was.
                key = {"Authorization": "Bearer [the dev key]"}
                curl = case.as_curl_command(headers=key, base_url=target["base_url"])
                step = f"{case.operation.label} -> {response.status_code}"
                failures.append(f"{step}: {failure}\n{curl}")

    only_start_from(Sequences, STARTS)
    # When they run
    run_in_batches(Sequences, SCENARIOS)
    # Then every answer on the way kept the contract
    assert Sequences.scenarios > 0
    assert not failures, f"{len(failures)} failing steps:\n\n" + "\n\n".join(failures[:10])
