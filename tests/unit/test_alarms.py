"""The alarms of template.yaml: generated and current, one for every function, queue and
table (like the tenancy matrix for routes), all behind EnableAlarms and sent to one topic,
and the Cleanup's "not run for two periods" worked out right for each kind of schedule."""

from __future__ import annotations

import dataclasses
import functools
import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from devstack.template import Resolver, rate_seconds
from stowage.domain.cleanup import CleanupReport
from stowage.domain.clients import LOOKUP_FAILED
from tools import alarms

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"
TEXT = TEMPLATE.read_text(encoding="utf-8")
FUNCTION_TYPES = ("AWS::Serverless::Function", "AWS::Lambda::Function")
TOPIC = {"Fn::If": ["NoAlarmTopicArn", {"Ref": "AlarmTopic"}, {"Ref": "AlarmTopicArn"}]}

NEW_RESOURCES = """
  Archiver:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/archiver/
      Events:
        Jobs:
          Type: SQS
          Properties:
            Queue: !GetAtt ArchiveJobs.Arn
  ArchiveJobs:
    Type: AWS::SQS::Queue
    Properties:
      RedrivePolicy:
        deadLetterTargetArn: !GetAtt ArchiveFailures.Arn
        maxReceiveCount: 3
  ArchiveFailures:
    Type: AWS::SQS::Queue
  ArchiveTable:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      KeySchema: [{AttributeName: pk, KeyType: HASH}]
      AttributeDefinitions: [{AttributeName: pk, AttributeType: S}]
"""


@functools.cache
def parsed() -> dict[str, Any]:
    """template.yaml, parsed once (tests only read it)."""
    return alarms.read(TEXT)


def with_new_resources(text: str) -> str:
    """The template with a function, a work queue, its dead-letter queue and a table added
    by hand, as another branch would add them."""
    at = text.index("\n  CommonLayer:\n")
    return text[:at] + "\n" + NEW_RESOURCES + text[at:]


def defaults(template: Mapping[str, Any], **overrides: str) -> dict[str, str | list[str]]:
    values: dict[str, str | list[str]] = {}
    for name, spec in template["Parameters"].items():
        raw = overrides.get(name, spec.get("Default"))
        values[name] = raw.split(",") if spec["Type"] == "CommaDelimitedList" else str(raw)
    return values


def alarms_of(template: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {
        name: resource
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::CloudWatch::Alarm"
    }


def _watched_ids(node: Any) -> Iterator[str]:
    """Logical ids a metric's dimensions or query point at."""
    if isinstance(node, dict):
        if "Ref" in node:
            yield node["Ref"]
        elif "Fn::GetAtt" in node:
            yield node["Fn::GetAtt"][0]
        elif "Fn::Sub" in node and isinstance(node["Fn::Sub"], str):
            yield from re.findall(r"\$\{(\w+)\}", node["Fn::Sub"])
        else:
            for value in node.values():
                yield from _watched_ids(value)
    elif isinstance(node, list):
        for item in node:
            yield from _watched_ids(item)


def _metric_names(props: Mapping[str, Any]) -> set[str]:
    names = {props["MetricName"]} if "MetricName" in props else set()
    for query in props.get("Metrics", []):
        if "MetricStat" in query:
            names.add(query["MetricStat"]["Metric"]["MetricName"])
        expression = query.get("Expression", {})
        text = expression.get("Fn::Sub", "") if isinstance(expression, dict) else expression
        names.update(re.findall(r"SUM\((\w+)\)", text))
    return names


def watching(template: Mapping[str, Any]) -> dict[str, set[str]]:
    """For each logical id, the metric names alarms watch it by (read from the alarms'
    dimensions and queries, not from the generator)."""
    seen: dict[str, set[str]] = {}
    for alarm in alarms_of(template).values():
        props = alarm["Properties"]
        dimensions = [props.get("Dimensions"), props.get("Metrics")]
        for logical_id in set(_watched_ids(dimensions)):
            seen.setdefault(logical_id, set()).update(_metric_names(props))
    return seen


def unwatched(template: Mapping[str, Any]) -> list[str]:
    """Every function, queue and table without the alarms it needs."""
    needs = {
        **{kind: {"Errors", "Throttles"} for kind in FUNCTION_TYPES},
        "AWS::DynamoDB::Table": {"ThrottledRequests", "SystemErrors"},
    }
    queue_metrics = {"ApproximateNumberOfMessagesVisible", "ApproximateAgeOfOldestMessage"}
    seen = watching(template)
    missing = []
    for name, resource in template["Resources"].items():
        kind, got = resource["Type"], seen.get(name, set())
        if kind in needs and not needs[kind] <= got:
            missing.append(f"{name}: {sorted(needs[kind] - got)}")
        if kind == "AWS::SQS::Queue" and not got & queue_metrics:
            missing.append(f"{name}: no queue alarm")
    return missing


# ------------------------------------------------------------------------- tests


def test_the_generated_block_is_current() -> None:
    # Given template.yaml as committed
    # When the block is generated again
    regenerated = alarms.regenerate(TEXT)

    # Then nothing changes (run `make alarms` after adding a function, queue or table)
    assert alarms.current_block(TEXT) is not None
    assert regenerated == TEXT, "template.yaml's generated alarms are stale: run `make alarms`"


def test_every_function_queue_and_table_has_its_alarms() -> None:
    # Given the template
    template = parsed()

    # When each resource is matched with the alarms whose dimensions name it
    missing = unwatched(template)

    # Then none lacks one, and there are resources of each kind to check
    assert missing == []
    kinds = [resource["Type"] for resource in template["Resources"].values()]
    assert kinds.count("AWS::Serverless::Function") >= 10
    assert {"AWS::SQS::Queue", "AWS::DynamoDB::Table"} <= set(kinds)


def test_a_new_function_queue_or_table_without_a_fresh_block_is_caught() -> None:
    # Given resources added by hand, the block not regenerated
    stale = with_new_resources(TEXT)

    # When it is checked, then regenerated and checked again
    before = unwatched(alarms.read(stale))
    fresh = alarms.regenerate(stale)
    after = unwatched(alarms.read(fresh))

    # Then each new resource was unwatched, and the regenerated block watches them
    assert sorted(item.split(":")[0] for item in before) == [
        "ArchiveFailures",
        "ArchiveJobs",
        "ArchiveTable",
        "Archiver",
    ]
    assert after == []
    resources = alarms.read(fresh)["Resources"]
    dead = resources["AlarmArchiveFailuresDeadLetters"]["Properties"]
    assert dead["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert (dead["Threshold"], dead["ComparisonOperator"]) == (0, "GreaterThanThreshold")
    work = resources["AlarmArchiveJobsOldestMessage"]["Properties"]
    assert work["MetricName"] == "ApproximateAgeOfOldestMessage"
    assert "${ArchiveTable}" in json.dumps(alarms.read(fresh)["Resources"]["Dashboard"])


def test_generating_is_idempotent_and_adds_a_missing_block_before_outputs() -> None:
    # Given the template without its block
    block = alarms.current_block(TEXT)
    assert block is not None
    bare = TEXT.replace(block, "")

    # When it is generated once, and again
    once = alarms.regenerate(bare)
    twice = alarms.regenerate(once)

    # Then the block is back just before Outputs, and the second run changed nothing
    assert once == twice
    assert once.index(alarms.END) < once.index("\nOutputs:\n")
    assert alarms.current_block(once) == block


def test_the_cleanup_dead_letter_queue_alarms_on_any_message() -> None:
    # Given the generated alarms
    resources = parsed()["Resources"]

    # When the Cleanup's dead-letter queue alarm is read
    props = resources["AlarmCleanupFailuresDeadLetters"]["Properties"]

    # Then one visible message is enough
    assert props["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": ["CleanupFailures", "QueueName"]}}
    ]
    assert (props["Threshold"], props["ComparisonOperator"]) == (0, "GreaterThanThreshold")


def test_every_alarm_goes_to_the_topic_and_enable_alarms_false_removes_them_all() -> None:
    # Given the template
    template = parsed()
    found = alarms_of(template)
    on = Resolver(template, defaults(template))
    off = Resolver(template, defaults(template, EnableAlarms="false"))

    # Then each alarm and its recovery go to the one topic, and none exists when turned off
    assert len(found) > 40
    for name, alarm in found.items():
        assert alarm["Properties"]["AlarmActions"] == [TOPIC], name
        assert alarm["Properties"]["OKActions"] == [TOPIC], name
        assert alarm["Properties"]["TreatMissingData"] in ("breaching", "notBreaching"), name
        assert not off.active(name), name
    assert not off.active("AlarmTopic")
    assert [name for name in found if not on.active(name)] == ["AlarmCleanupNotRunCron"]


def test_an_existing_topic_replaces_the_created_one_and_an_email_subscribes() -> None:
    # Given an existing topic and an address
    template = parsed()
    arn = "arn:aws:sns:eu-west-1:123456789012:team-alarms"
    given = Resolver(template, defaults(template, AlarmTopicArn=arn, AlarmEmail="ops@example.com"))
    plain = Resolver(template, defaults(template))

    # Then no topic is created, the alarms send to the given one, and the address subscribes
    assert not given.active("AlarmTopic") and plain.active("AlarmTopic")
    assert given.resolve(TOPIC) == arn
    assert given.active("AlarmEmailSubscription") and not plain.active("AlarmEmailSubscription")
    subscription = given.resolve(template["Resources"]["AlarmEmailSubscription"]["Properties"])
    assert subscription == {"Protocol": "email", "Endpoint": "ops@example.com", "TopicArn": arn}


def test_the_authorizer_errors_alarm_is_more_sensitive_than_a_function_errors_alarm() -> None:
    # Given the authorizer and an ordinary function's Errors alarms
    resources = parsed()["Resources"]
    authorizer = resources["AlarmAuthorizerAuthorizerErrors"]["Properties"]
    ordinary = resources["AlarmUploadInitErrors"]["Properties"]

    # Then the authorizer's looks at one minute, with its own threshold
    assert "AlarmAuthorizerErrors" not in resources
    assert authorizer["MetricName"] == ordinary["MetricName"] == "Errors"
    assert authorizer["Period"] == 60 < ordinary["Period"]
    assert authorizer["Threshold"] == {"Ref": "AuthorizerErrorsThreshold"}
    assert ordinary["Threshold"] == {"Ref": "FunctionErrorsThreshold"}


@pytest.mark.parametrize(
    "schedule",
    ["rate(1 minute)", "rate(5 minutes)", "rate(1 hour)", "rate(6 hours)", "rate(3 days)"],
)
def test_cleanup_not_run_looks_at_exactly_two_schedule_periods(schedule: str) -> None:
    # Given a rate() schedule
    template = parsed()
    resolver = Resolver(template, defaults(template, CleanupSchedule=schedule))

    # When the alarm's period and evaluation periods are resolved as CloudFormation would
    assert resolver.active("AlarmCleanupNotRun")
    assert not resolver.active("AlarmCleanupNotRunCron")
    props = resolver.resolve(template["Resources"]["AlarmCleanupNotRun"]["Properties"])
    window = int(props["Period"]) * int(props["EvaluationPeriods"])

    # Then they span two periods of the schedule, missing data counting as not run,
    # within CloudWatch's limits on an alarm's evaluation range
    assert window == 2 * rate_seconds(schedule)
    assert props["MetricName"] == "Invocations"
    assert props["TreatMissingData"] == "breaching"
    assert window <= (86400 if int(props["Period"]) < 3600 else 604800)


def test_a_cron_cleanup_schedule_waits_cleanup_max_silence_hours() -> None:
    # Given a cron() schedule
    template = parsed()
    cron = defaults(template, CleanupSchedule="cron(0 3 * * ? *)", CleanupMaxSilenceHours="50")
    resolver = Resolver(template, cron)

    # When the alarms are resolved
    props = resolver.resolve(template["Resources"]["AlarmCleanupNotRunCron"]["Properties"])

    # Then the cron alarm replaces the rate one and waits the given hours
    assert not resolver.active("AlarmCleanupNotRun")
    assert resolver.active("AlarmCleanupNotRunCron")
    assert int(props["Period"]) * int(props["EvaluationPeriods"]) == 50 * 3600


def test_cleanup_failure_alarms_watch_the_metrics_the_cleanup_emits() -> None:
    # Given the functions' Powertools settings and the Cleanup's report fields
    template = parsed()
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    emitted = {field.name for field in dataclasses.fields(CleanupReport)} | {LOOKUP_FAILED}

    # When the failure alarms are read
    found = [
        alarm["Properties"]
        for alarm in alarms_of(template).values()
        if alarm["Properties"].get("Namespace") == variables["POWERTOOLS_METRICS_NAMESPACE"]
    ]

    # Then they are the cleanup's failure counters and the authorizer's failed lookups, by
    # the service dimension Powertools adds
    assert sorted(props["MetricName"] for props in found) == [
        "AuthorizerLookupFailed",
        "archives_failed",
        "drafts_failed",
        "uploads_failed",
    ]
    for props in found:
        assert props["MetricName"] in emitted
        assert props["Dimensions"] == [
            {"Name": "service", "Value": variables["POWERTOOLS_SERVICE_NAME"]}
        ]


def test_the_dashboard_shows_every_function_table_and_the_api() -> None:
    # Given the dashboard's body (JSON once the ${} are substituted)
    template = parsed()
    body = json.loads(template["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"])
    by_title = {widget["properties"]["title"]: widget for widget in body["widgets"]}

    # Then the duration and cold start widgets list every function, and the rest is there
    functions = [n for n, r in template["Resources"].items() if r["Type"] in FUNCTION_TYPES]
    for title in ("Lambda duration p99 (ms)", "Cold starts (Powertools ColdStart)"):
        shown = {line[3] for line in by_title[title]["properties"]["metrics"]}
        assert shown == {f"${{{name}}}" for name in functions}, title
    by_route = by_title["Latency by route (access log, ms)"]["properties"]
    assert "pct(latency, 99)" in by_route["query"]
    text = json.dumps(body)
    for needed in ("5xx", "ConsumedWriteCapacityUnits", "ThrottledRequests", "uploads_failed"):
        assert needed in text
    assert any("sum(size)" in w["properties"].get("query", "") for w in body["widgets"])
    assert len({(w["x"], w["y"]) for w in body["widgets"]}) == len(body["widgets"])


def test_every_alarm_points_at_a_section_of_the_runbook() -> None:
    # Given the runbook's headings, as GitHub anchors
    runbook = (TEMPLATE.parent / "docs" / "operations.md").read_text(encoding="utf-8")
    headings = re.findall(r"^#+ (.+)$", runbook, flags=re.MULTILINE)
    anchors = {re.sub(r"[^a-z0-9 -]", "", title.lower()).replace(" ", "-") for title in headings}

    # When each alarm's description is read
    linked = {
        name: alarm["Properties"]["AlarmDescription"].rsplit("#", 1)[1]
        for name, alarm in alarms_of(parsed()).items()
    }

    # Then each one links a section that exists
    assert {name: anchor for name, anchor in linked.items() if anchor not in anchors} == {}
    assert len(set(linked.values())) >= 10


def test_a_conditional_resource_gets_conditional_alarms_and_stays_off_the_dashboard() -> None:
    # Given a function behind a condition, with and without the Alarms<condition> it needs
    added = """
  Optional:
    Type: AWS::Serverless::Function
    Condition: WithOptional
    Properties: {CodeUri: functions/optional/}
"""
    at = TEXT.index("\n  CommonLayer:\n")
    text = TEXT[:at] + "\n" + added + TEXT[at:]
    conditions = "\nConditions:\n"
    declared = text.replace(
        conditions,
        conditions
        + '  WithOptional: !Equals [!Ref AWS::Region, "eu-west-1"]\n'
        + "  AlarmsWithOptional: !And [!Condition AlarmsEnabled, !Condition WithOptional]\n",
    )

    # When the block is generated for each
    with pytest.raises(SystemExit, match="AlarmsWithOptional: !And"):
        alarms.regenerate(text)
    resources = alarms.read(alarms.regenerate(declared))["Resources"]

    # Then its alarms take that condition, and the dashboard does not name it
    assert resources["AlarmOptionalErrors"]["Condition"] == "AlarmsWithOptional"
    assert resources["AlarmOptionalThrottles"]["Condition"] == "AlarmsWithOptional"
    assert "${Optional}" not in json.dumps(resources["Dashboard"])
    assert resources["AlarmUploadInitErrors"]["Condition"] == "AlarmsEnabled"
