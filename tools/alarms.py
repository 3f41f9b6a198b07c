"""`make alarms`: the alarms and the dashboard of template.yaml, generated from the template.

Functions, queues and tables come and go as the service grows; alarms written by hand one
by one would fall behind. So this reads template.yaml and rewrites ONE block at the end of
`Resources:`, between the marker comments, with:

- every function: Errors and Throttles (an HTTP API authorizer's Errors on a 1-minute
  period with its own threshold: a failing authorizer fails every request);
- every SQS queue: a dead-letter queue (one something sends its failures to) alarms on any
  visible message, any other queue on the age of its oldest message;
- every DynamoDB table: throttled requests and system errors (CloudWatch Metrics Insights
  queries, since both metrics exist only per operation);
- the HTTP API: its 5xx rate and its p99 latency;
- the function the `CleanupSchedule` parameter runs: not having run for two schedule
  periods, and its own `uploads_failed` / `drafts_failed` metrics;
- one CloudWatch dashboard over all of the above.

Everything else (the topic, the parameters and conditions the alarms use) is written by
hand in template.yaml. The output depends only on the template, in its own order, so a
second run changes nothing; tests/unit/test_alarms.py fails when the block is stale or
when a function, queue or table has no alarm. `--check` exits 1 instead of writing.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from devstack.template import CfnLoader, Node

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"
BEGIN = "  # BEGIN generated: make alarms (tools/alarms.py); edit the generator, not this block"
END = "  # END generated"
RUNBOOK = "docs/operations.md"
SCHEDULE_PARAMETER = "CleanupSchedule"
FUNCTION_TYPES = ("AWS::Serverless::Function", "AWS::Lambda::Function")
# Functions whose "upload completed" / "draft confirmed" log lines carry a stored file's size.
STORED_BYTES_LOGS = {"UploadComplete": "upload completed", "DraftConfirm": "draft confirmed"}


# ------------------------------------------------------------- short-form tags


class Ref(str):
    """`!Ref name`."""


class GetAtt(str):
    """`!GetAtt Resource.Attribute`."""


class Sub(str):
    """`!Sub text`, written as a literal block when it spans lines."""


class Select(list[Any]):
    """`!Select [index, list]`."""


class Split(list[Any]):
    """`!Split [delimiter, text]`."""


class If(list[Any]):
    """`!If [condition, when_true, when_false]`."""


class _Dumper(yaml.SafeDumper):
    """Block style, template order, CloudFormation's short tags, written as the rest of
    template.yaml is: indented sequences, no anchors, tagged scalars unquoted."""

    def ignore_aliases(self, data: Any) -> bool:
        return True

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)

    def choose_scalar_style(self) -> str:
        event = self.event
        if not isinstance(event, yaml.ScalarEvent):
            return str(super().choose_scalar_style())
        if (event.tag or "").startswith("!") and not event.style:
            analysis = self.analysis = self.analysis or self.analyze_scalar(event.value)
            plain = analysis.allow_flow_plain if self.flow_level else analysis.allow_block_plain
            if plain and not analysis.multiline and not analysis.empty:
                return ""
        return str(super().choose_scalar_style())


def _scalar(tag: str) -> Any:
    def represent(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
        style = "|" if "\n" in value else None
        return dumper.represent_scalar(tag, str(value), style=style)

    return represent


def _flow_sequence(tag: str) -> Any:
    def represent(dumper: yaml.SafeDumper, value: list[Any]) -> yaml.Node:
        return dumper.represent_sequence(tag, list(value), flow_style=True)

    return represent


for _text_kind, _tag in ((Ref, "!Ref"), (GetAtt, "!GetAtt"), (Sub, "!Sub")):
    _Dumper.add_representer(_text_kind, _scalar(_tag))
for _list_kind, _tag in ((Select, "!Select"), (Split, "!Split"), (If, "!If")):
    _Dumper.add_representer(_list_kind, _flow_sequence(_tag))


# --------------------------------------------------------- what gets watched


@dataclass(frozen=True)
class Watched:
    """The resources of a template that alarms and the dashboard cover."""

    functions: list[str]
    authorizers: set[str]
    dead_letter_queues: list[str]
    work_queues: list[str]
    tables: list[str]
    buckets: list[str]
    api: str | None
    access_log: str | None
    cleanup: str | None
    metrics_namespace: str
    service: str
    # A resource that has a Condition: its own, by logical id; the conditions declared.
    conditions: dict[str, str]
    declared_conditions: set[str]

    def shown(self, names: list[str]) -> list[str]:
        """What the dashboard may name: a conditional resource may not exist."""
        return [name for name in names if name not in self.conditions]


def _references(node: Node) -> Iterator[str]:
    """Logical ids a `Ref`, `GetAtt` or `Sub` inside `node` points at."""
    if isinstance(node, list):
        for item in node:
            yield from _references(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                yield value
            elif key == "Fn::GetAtt" and isinstance(value, list):
                yield str(value[0])
            elif key == "Fn::Sub":
                text = value if isinstance(value, str) else value[0]
                for part in str(text).split("${")[1:]:
                    yield part.split("}")[0].split(".")[0]
            else:
                yield from _references(value)


def _dead_letter_targets(node: Node, inside: bool = False) -> Iterator[str]:
    """What is referenced under a key naming a dead-letter target or an on-failure one
    (DeadLetterQueue, DeadLetterConfig, RedrivePolicy's deadLetterTargetArn, OnFailure)."""
    if isinstance(node, list):
        for item in node:
            yield from _dead_letter_targets(item, inside)
    elif isinstance(node, dict):
        if inside:
            yield from _references(node)
            return
        for key, value in node.items():
            marks = "deadletter" in key.lower() or key in ("OnFailure", "RedrivePolicy")
            yield from _dead_letter_targets(value, marks)


def _authorizer_functions(resources: Mapping[str, Node]) -> set[str]:
    """Functions an HttpApi names as a Lambda authorizer."""
    found: set[str] = set()
    for resource in resources.values():
        if resource.get("Type") != "AWS::Serverless::HttpApi":
            continue
        auth = (resource.get("Properties") or {}).get("Auth") or {}
        for spec in (auth.get("Authorizers") or {}).values():
            found.update(_references(spec.get("FunctionArn")))
    return found


def _scheduled_by(resources: Mapping[str, Node], parameter: str) -> str | None:
    """The function with a Schedule event whose expression is `!Ref parameter`."""
    for logical_id, resource in resources.items():
        if resource.get("Type") not in FUNCTION_TYPES:
            continue
        for event in ((resource.get("Properties") or {}).get("Events") or {}).values():
            schedule = (event.get("Properties") or {}).get("Schedule")
            if event.get("Type") == "Schedule" and schedule == {"Ref": parameter}:
                return logical_id
    return None


def watched(template: Mapping[str, Node]) -> Watched:
    """Sort the template's resources into what each kind of alarm covers."""
    resources: Mapping[str, Node] = template["Resources"]

    def of(*kinds: str) -> list[str]:
        return [name for name, res in resources.items() if res.get("Type") in kinds]

    dead_letters = {
        target for resource in resources.values() for target in _dead_letter_targets(resource)
    }
    queues = of("AWS::SQS::Queue")
    apis = of("AWS::Serverless::HttpApi")
    env = ((template.get("Globals") or {}).get("Function") or {}).get("Environment") or {}
    variables = env.get("Variables") or {}
    access_log = None
    if apis:
        settings = (resources[apis[0]].get("Properties") or {}).get("AccessLogSettings") or {}
        access_log = next(_references(settings.get("DestinationArn")), None)
    return Watched(
        functions=of(*FUNCTION_TYPES),
        authorizers=_authorizer_functions(resources),
        dead_letter_queues=[name for name in queues if name in dead_letters],
        work_queues=[name for name in queues if name not in dead_letters],
        tables=of("AWS::DynamoDB::Table"),
        buckets=of("AWS::S3::Bucket"),
        api=apis[0] if apis else None,
        access_log=access_log,
        cleanup=_scheduled_by(resources, SCHEDULE_PARAMETER),
        metrics_namespace=str(variables.get("POWERTOOLS_METRICS_NAMESPACE", "Stowage")),
        service=str(variables.get("POWERTOOLS_SERVICE_NAME", "stowage")),
        conditions={
            name: str(res["Condition"]) for name, res in resources.items() if "Condition" in res
        },
        declared_conditions=set(template.get("Conditions") or {}),
    )


# ----------------------------------------------------------------- the alarms

TOPIC = If(["NoAlarmTopicArn", Ref("AlarmTopic"), Ref("AlarmTopicArn")])


def _alarm(
    subject: str,
    what: str,
    description: str,
    anchor: str,
    missing: str,
    settings: dict[str, Any],
    condition: str = "AlarmsEnabled",
) -> dict[str, Any]:
    """One alarm resource: named after its stack, sent (and its recovery) to the topic."""
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Condition": condition,
        "Properties": {
            "AlarmName": Sub(f"${{AWS::StackName}}-{subject}-{what}"),
            "AlarmDescription": f"{description} Runbook: {RUNBOOK}#{anchor}",
            "AlarmActions": [TOPIC],
            "OKActions": [TOPIC],
            **settings,
            "TreatMissingData": missing,
        },
    }


def _metric(
    namespace: str, name: str, dimensions: dict[str, Any], statistic: str, period: Any
) -> dict[str, Any]:
    """The single-metric part of an alarm."""
    stat_key = "ExtendedStatistic" if statistic.startswith("p") else "Statistic"
    return {
        "Namespace": namespace,
        "MetricName": name,
        "Dimensions": [{"Name": key, "Value": value} for key, value in dimensions.items()],
        stat_key: statistic,
        "Period": period,
    }


def function_alarms(name: str, authorizer: bool) -> dict[str, dict[str, Any]]:
    """Errors (crashes, timeouts; a handled 4xx/5xx answer is no Lambda error) and Throttles.
    No invocation publishes nothing, and no traffic is not a failure: notBreaching."""
    lambda_metric = {"FunctionName": Ref(name)}
    if authorizer:
        errors = _alarm(
            name,
            "AuthorizerErrors",
            f"The authorizer {name} failed: every request it fails is a 500 to a caller.",
            "authorizer-errors",
            "notBreaching",
            {
                **_metric("AWS/Lambda", "Errors", lambda_metric, "Sum", 60),
                "EvaluationPeriods": 1,
                "Threshold": Ref("AuthorizerErrorsThreshold"),
                "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            },
        )
    else:
        errors = _alarm(
            name,
            "Errors",
            f"{name} crashed or timed out (Lambda Errors) in the last 5 minutes.",
            "function-errors",
            "notBreaching",
            {
                **_metric("AWS/Lambda", "Errors", lambda_metric, "Sum", 300),
                "EvaluationPeriods": 1,
                "Threshold": Ref("FunctionErrorsThreshold"),
                "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            },
        )
    throttles = _alarm(
        name,
        "Throttles",
        f"Lambda refused to run {name} (account concurrency exhausted).",
        "function-throttles",
        "notBreaching",
        {
            **_metric("AWS/Lambda", "Throttles", lambda_metric, "Sum", 300),
            "EvaluationPeriods": 1,
            "Threshold": Ref("FunctionThrottlesThreshold"),
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        },
    )
    kind = "AuthorizerErrors" if authorizer else "Errors"
    return {f"Alarm{name}{kind}": errors, f"Alarm{name}Throttles": throttles}


def queue_alarms(name: str, dead_letter: bool) -> dict[str, dict[str, Any]]:
    """A dead-letter queue: any message is a failure nobody has looked at. A work queue:
    its oldest message waiting too long. An idle, empty queue stops publishing: notBreaching."""
    dimensions = {"QueueName": GetAtt(f"{name}.QueueName")}
    if dead_letter:
        alarm = _alarm(
            name,
            "DeadLetters",
            f"Messages are waiting in the dead-letter queue {name}: something failed "
            "after its retries.",
            "dead-letter-messages",
            "notBreaching",
            {
                **_metric(
                    "AWS/SQS", "ApproximateNumberOfMessagesVisible", dimensions, "Maximum", 300
                ),
                "EvaluationPeriods": 1,
                "Threshold": 0,
                "ComparisonOperator": "GreaterThanThreshold",
            },
        )
        return {f"Alarm{name}DeadLetters": alarm}
    alarm = _alarm(
        name,
        "OldestMessage",
        f"The oldest message of {name} has waited longer than QueueMaxAgeSeconds.",
        "queue-backlog",
        "notBreaching",
        {
            **_metric("AWS/SQS", "ApproximateAgeOfOldestMessage", dimensions, "Maximum", 300),
            "EvaluationPeriods": 1,
            "Threshold": Ref("QueueMaxAgeSeconds"),
            "ComparisonOperator": "GreaterThanThreshold",
        },
    )
    return {f"Alarm{name}OldestMessage": alarm}


def _per_operation_query(metric: str, table: str) -> str:
    """DynamoDB publishes ThrottledRequests and SystemErrors per (table, operation) only:
    a Metrics Insights query sums every operation, present and future."""
    schema = 'SCHEMA("AWS/DynamoDB", Operation, TableName)'
    where = f"TableName = '${{{table}}}'"
    # A Metrics Insights query made of the template's own names, run by CloudWatch: not SQL.
    return f"SELECT SUM({metric}) FROM {schema} WHERE {where}"  # nosec B608  # see above


def table_alarms(name: str) -> dict[str, dict[str, Any]]:
    """Throttled requests and system errors; both are published only when they happen,
    so a missing point is a good one: notBreaching."""
    alarms = {}
    for metric, what, threshold, anchor, text in (
        ("ThrottledRequests", "Throttles", "TableThrottlesThreshold", "table-throttles",
         "DynamoDB throttled requests to"),
        ("SystemErrors", "SystemErrors", "TableSystemErrorsThreshold", "table-system-errors",
         "DynamoDB answered with internal errors (HTTP 500) for"),
    ):  # fmt: skip
        alarms[f"Alarm{name}{what}"] = _alarm(
            name,
            what,
            f"{text} {name} in the last 5 minutes.",
            anchor,
            "notBreaching",
            {
                "Metrics": [
                    {
                        "Id": "total",
                        "Label": f"{name} {metric}",
                        "Expression": Sub(_per_operation_query(metric, name)),
                        "Period": 300,
                        "ReturnData": True,
                    }
                ],
                "EvaluationPeriods": 1,
                "Threshold": Ref(threshold),
                "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            },
        )
    return alarms


def api_alarms(api: str) -> dict[str, dict[str, Any]]:
    """The 5xx share of answers (3 of 5 minutes, quiet minutes ignored) and p99 latency
    (15 minutes in a row). No request publishes nothing: notBreaching."""

    def stat(metric_id: str, name: str) -> dict[str, Any]:
        return {
            "Id": metric_id,
            "MetricStat": {
                "Metric": {
                    "Namespace": "AWS/ApiGateway",
                    "MetricName": name,
                    "Dimensions": [{"Name": "ApiId", "Value": Ref(api)}],
                },
                "Period": 60,
                "Stat": "Sum",
            },
            "ReturnData": False,
        }

    rate = _alarm(
        api,
        "5xxRate",
        "More than Api5xxRatePercent % of the answers of the API were 5xx in 3 of the "
        "last 5 minutes.",
        "api-5xx-rate",
        "notBreaching",
        {
            "Metrics": [
                stat("errors", "5xx"),
                stat("requests", "Count"),
                {
                    "Id": "rate",
                    "Label": "5xx % of requests",
                    "Expression": Sub(
                        "IF(requests >= ${Api5xxMinRequests}, 100 * FILL(errors, 0) / requests, 0)"
                    ),
                    "ReturnData": True,
                },
            ],
            "EvaluationPeriods": 5,
            "DatapointsToAlarm": 3,
            "Threshold": Ref("Api5xxRatePercent"),
            "ComparisonOperator": "GreaterThanThreshold",
        },
    )
    latency = _alarm(
        api,
        "LatencyP99",
        "The p99 latency of the API stayed above ApiLatencyP99Ms for 15 minutes.",
        "api-latency",
        "notBreaching",
        {
            **_metric("AWS/ApiGateway", "Latency", {"ApiId": Ref(api)}, "p99", 300),
            "EvaluationPeriods": 3,
            "Threshold": Ref("ApiLatencyP99Ms"),
            "ComparisonOperator": "GreaterThanThreshold",
        },
    )
    return {f"Alarm{api}5xxRate": rate, f"Alarm{api}LatencyP99": latency}


def _rate_count() -> Select:
    """N of `rate(N unit)`."""
    inner = Select([1, Split(["(", Ref(SCHEDULE_PARAMETER)])])
    return Select([0, Split([" ", inner])])


def cleanup_alarms(name: str, namespace: str, service: str) -> dict[str, dict[str, Any]]:
    """Not run for two schedule periods, and its failure counters.

    CloudFormation has no arithmetic, so "two periods of rate(N unit)" is N alarm periods
    of two units each: Period = 2 units (120, 7,200 or 172,800 s, chosen by the Cleanup*
    conditions), EvaluationPeriods = N (split out of the expression), every one of them
    without an invocation. A cron() schedule cannot be read that way: its alarm waits
    CleanupMaxSilenceHours. Here a missing point IS the failure: breaching.
    """
    invocations = {"FunctionName": Ref(name)}
    two_units = If(["CleanupInMinutes", 120, If(["CleanupInHours", 7200, 172800])])
    not_run = {
        "NotRun": ("CleanupRateAlarm", two_units, _rate_count()),
        "NotRunCron": ("CleanupCronAlarm", 3600, Ref("CleanupMaxSilenceHours")),
    }
    alarms = {}
    for suffix, (condition, period, periods) in not_run.items():
        alarms[f"Alarm{name}{suffix}"] = _alarm(
            name,
            "NotRun",
            f"{name} has not run for two periods of its schedule ({SCHEDULE_PARAMETER}).",
            "cleanup-not-run",
            "breaching",
            {
                **_metric("AWS/Lambda", "Invocations", invocations, "Sum", period),
                "EvaluationPeriods": periods,
                "Threshold": 1,
                "ComparisonOperator": "LessThanThreshold",
            },
            condition,
        )
    for counter in ("uploads_failed", "drafts_failed", "archives_failed"):
        title = "".join(part.title() for part in counter.split("_"))
        alarms[f"Alarm{name}{title}"] = _alarm(
            name,
            title,
            f"{name} counted {counter} above CleanupFailedThreshold in 2 of the last 3 "
            "hours: the same records keep failing.",
            "cleanup-failures",
            "notBreaching",
            {
                **_metric(namespace, counter, {"service": service}, "Sum", 3600),
                "EvaluationPeriods": 3,
                "DatapointsToAlarm": 2,
                "Threshold": Ref("CleanupFailedThreshold"),
                "ComparisonOperator": "GreaterThanThreshold",
            },
        )
    return alarms


def authorizer_lookup_alarm(name: str, namespace: str, service: str) -> dict[str, dict[str, Any]]:
    """The authorizer refuses (403) a key it could not look up, so its Errors never see a
    DynamoDB or Secrets Manager outage: its own `AuthorizerLookupFailed` metric does."""
    return {
        f"Alarm{name}LookupFailed": _alarm(
            name,
            "LookupFailed",
            f"The authorizer {name} could not look keys up (DynamoDB or Secrets Manager "
            "failing): callers with valid keys are refused 403.",
            "authorizer-errors",
            "notBreaching",
            {
                **_metric(namespace, "AuthorizerLookupFailed", {"service": service}, "Sum", 60),
                "EvaluationPeriods": 1,
                "Threshold": Ref("AuthorizerErrorsThreshold"),
                "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            },
        )
    }


def gated(seen: Watched, name: str, made: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The alarms of a resource that has a Condition C exist only with it and with alarms:
    they take the condition `AlarmsC`, which must be declared by hand as
    `!And [!Condition AlarmsEnabled, !Condition C]` (this block holds resources only)."""
    condition = seen.conditions.get(name)
    if condition is None:
        return made
    wanted = f"Alarms{condition}"
    if wanted not in seen.declared_conditions:
        raise SystemExit(
            f"make alarms: {name} has Condition {condition}; declare "
            f"`{wanted}: !And [!Condition AlarmsEnabled, !Condition {condition}]` "
            "under Conditions in template.yaml, then run it again"
        )
    for alarm in made.values():
        alarm["Condition"] = wanted
    return made


def alarms(seen: Watched) -> dict[str, dict[str, Any]]:
    """Every generated alarm, in template order within each kind."""
    out: dict[str, dict[str, Any]] = {}
    if seen.api:
        out |= gated(seen, seen.api, api_alarms(seen.api))
    for name in seen.functions:
        out |= gated(seen, name, function_alarms(name, name in seen.authorizers))
        if name in seen.authorizers:
            lookup = authorizer_lookup_alarm(name, seen.metrics_namespace, seen.service)
            out |= gated(seen, name, lookup)
    if seen.cleanup:
        out |= cleanup_alarms(seen.cleanup, seen.metrics_namespace, seen.service)
    for name in seen.dead_letter_queues:
        out |= gated(seen, name, queue_alarms(name, dead_letter=True))
    for name in seen.work_queues:
        out |= gated(seen, name, queue_alarms(name, dead_letter=False))
    for name in seen.tables:
        out |= gated(seen, name, table_alarms(name))
    return out


# -------------------------------------------------------------- the dashboard


def _graph(title: str, metrics: list[list[Any]], stat: str, period: int) -> dict[str, Any]:
    return {
        "type": "metric",
        "properties": {
            "title": title,
            "view": "timeSeries",
            "region": "${AWS::Region}",
            "stat": stat,
            "period": period,
            "metrics": metrics,
        },
    }


def _logs(title: str, sources: list[str], query: str) -> dict[str, Any]:
    picked = " | ".join(f"SOURCE '{source}'" for source in sources)
    return {
        "type": "log",
        "properties": {
            "title": title,
            "region": "${AWS::Region}",
            "view": "table",
            "query": f"{picked} | {query}",
        },
    }


def _per_function(seen: Watched, metric: str, stat: str) -> list[list[Any]]:
    return [
        ["AWS/Lambda", metric, "FunctionName", f"${{{name}}}", {"stat": stat, "label": name}]
        for name in seen.shown(seen.functions)
    ]


def _api_widgets(api: str, access_log: str | None) -> list[dict[str, Any]]:
    def metric(name: str, stat: str) -> list[Any]:
        return ["AWS/ApiGateway", name, "ApiId", f"${{{api}}}", {"stat": stat, "label": name}]

    widgets = [
        _graph(
            "API requests, 4xx and 5xx",
            [metric("Count", "Sum"), metric("4xx", "Sum"), metric("5xx", "Sum")],
            "Sum",
            300,
        ),
        _graph(
            "API latency (ms)",
            [
                metric("Latency", "p50"),
                metric("Latency", "p99"),
                metric("IntegrationLatency", "p99"),
            ],
            "p99",
            300,
        ),
    ]
    if access_log:  # per route: the access log has routeKey, status and latency
        source = f"${{{access_log}}}"
        widgets += [
            _logs(
                "Latency by route (access log, ms)",
                [source],
                "stats count(*) as requests, pct(latency, 50) as p50, pct(latency, 99) as p99"
                " by routeKey | sort p99 desc",
            ),
            _logs(
                "4xx and 5xx by route (access log)",
                [source],
                "filter status like /^[45]/ | stats count(*) as answers by routeKey, status"
                " | sort answers desc",
            ),
        ]
    return widgets


def _lambda_widgets(seen: Watched) -> list[dict[str, Any]]:
    cold_starts = [
        [
            seen.metrics_namespace,
            "ColdStart",
            "function_name",
            f"${{{name}}}",
            "service",
            seen.service,
            {"label": name},
        ]
        for name in seen.shown(seen.functions)
    ]
    account = [["AWS/Lambda", "ConcurrentExecutions", {"stat": "Maximum", "label": "account"}]]
    return [
        _graph("Lambda duration p99 (ms)", _per_function(seen, "Duration", "p99"), "p99", 300),
        _graph(
            "Lambda concurrency (max)",
            account + _per_function(seen, "ConcurrentExecutions", "Maximum"),
            "Maximum",
            300,
        ),
        _graph("Lambda errors", _per_function(seen, "Errors", "Sum"), "Sum", 300),
        _graph("Lambda throttles", _per_function(seen, "Throttles", "Sum"), "Sum", 300),
        _graph("Cold starts (Powertools ColdStart)", cold_starts, "Sum", 300),
    ]


def _table_widgets(tables: list[str]) -> list[dict[str, Any]]:
    capacity: list[list[Any]] = []
    trouble: list[list[Any]] = []
    for name in tables:
        for unit in ("Read", "Write"):
            capacity.append(
                [
                    "AWS/DynamoDB",
                    f"Consumed{unit}CapacityUnits",
                    "TableName",
                    f"${{{name}}}",
                    {"label": f"{name} {unit.lower()}"},
                ]
            )
        for metric in ("ThrottledRequests", "SystemErrors"):
            query = _per_operation_query(metric, name)
            trouble.append([{"expression": query, "label": f"{name} {metric}", "id": ""}])
    for index, row in enumerate(trouble):
        row[0]["id"] = f"q{index}"
    return [
        _graph("DynamoDB consumed capacity", capacity, "Sum", 300),
        _graph("DynamoDB throttled requests and system errors", trouble, "Sum", 300),
    ]


def _storage_widgets(seen: Watched) -> list[dict[str, Any]]:
    sources = [
        f"/aws/lambda/${{{name}}}"
        for name in STORED_BYTES_LOGS
        if name in seen.shown(seen.functions)
    ]
    messages = json.dumps([STORED_BYTES_LOGS[name] for name in STORED_BYTES_LOGS])
    widgets = []
    if sources:
        widgets.append(
            _logs(
                "Bytes stored per day (completed uploads and confirmed drafts)",
                sources,
                f"filter message in {messages} | stats sum(size) as bytes, count(*) as files"
                " by bin(1d) as day | sort day desc",
            )
        )
    sizes = [
        [
            "AWS/S3",
            "BucketSizeBytes",
            "BucketName",
            f"${{{name}}}",
            "StorageType",
            storage,
            {"label": f"{name} {storage}"},
        ]
        for name in seen.shown(seen.buckets)
        for storage in ("StandardStorage", "StandardIAStorage")
    ]
    if sizes:
        widgets.append(_graph("Bucket size (S3, daily)", sizes, "Average", 86400))
    return widgets


def _cleanup_widgets(seen: Watched) -> list[dict[str, Any]]:
    widgets = []
    if seen.cleanup:
        counters = [
            [seen.metrics_namespace, counter, "service", seen.service, {"label": counter}]
            for counter in ("uploads_aborted", "uploads_failed", "drafts_deleted", "drafts_failed")
        ]
        runs = ["AWS/Lambda", "Invocations", "FunctionName", f"${{{seen.cleanup}}}"]
        counters.append([*runs, {"label": "runs", "yAxis": "right"}])
        widgets.append(_graph("Cleanup: per hour", counters, "Sum", 3600))
    queues = [
        [
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            "QueueName",
            f"${{{name}.QueueName}}",
            {"label": name},
        ]
        for name in seen.shown(seen.dead_letter_queues + seen.work_queues)
    ]
    if queues:
        widgets.append(_graph("Queues: messages waiting", queues, "Maximum", 300))
    return widgets


def dashboard_body(seen: Watched) -> str:
    """The dashboard's JSON, one widget a line, laid out two by two."""
    widgets = []
    if seen.api:
        widgets += _api_widgets(seen.api, seen.access_log)
    widgets += _lambda_widgets(seen) + _table_widgets(seen.shown(seen.tables))
    widgets += _storage_widgets(seen) + _cleanup_widgets(seen)
    lines = []
    for index, widget in enumerate(widgets):
        placed = {**widget, "x": 12 * (index % 2), "y": 6 * (index // 2), "width": 12, "height": 6}
        lines.append("    " + json.dumps(placed, ensure_ascii=False))
    return '{\n  "widgets": [\n' + ",\n".join(lines) + "\n  ]\n}\n"


def dashboard(seen: Watched) -> dict[str, dict[str, Any]]:
    return {
        "Dashboard": {
            "Type": "AWS::CloudWatch::Dashboard",
            "Properties": {
                "DashboardName": Sub("${AWS::StackName}"),
                "DashboardBody": Sub(dashboard_body(seen)),
            },
        }
    }


# ---------------------------------------------------------- the template file


def read(text: str) -> dict[str, Node]:
    """The template as plain data with long-form intrinsics."""
    data: dict[str, Node] = yaml.load(text, Loader=CfnLoader)  # nosec B506  # a SafeLoader
    return data


def render(template: Mapping[str, Node]) -> str:
    """The generated block, markers included."""
    seen = watched(template)
    resources = alarms(seen) | dashboard(seen)
    taken = set(template["Resources"]) - set(_block_ids(template))
    clashes = sorted(taken & set(resources))
    if clashes:
        raise SystemExit(f"make alarms: generated ids already used by hand: {clashes}")
    body = yaml.dump(resources, Dumper=_Dumper, sort_keys=False, width=100, allow_unicode=True)
    indented = "".join(f"  {line}" if line.strip() else line for line in body.splitlines(True))
    return f"{BEGIN}\n{indented}{END}\n"


def _block_ids(template: Mapping[str, Node]) -> list[str]:
    """What the current block generated (alarms and the dashboard it names)."""
    return [
        name
        for name, res in template["Resources"].items()
        if res.get("Type") in ("AWS::CloudWatch::Alarm", "AWS::CloudWatch::Dashboard")
        and (name.startswith("Alarm") or name == "Dashboard")
    ]


def current_block(text: str) -> str | None:
    """The block as it is in the file, markers included, or None."""
    start = text.find(BEGIN + "\n")
    if start < 0:
        return None
    end = text.index(END + "\n", start) + len(END) + 1
    return text[start:end]


def regenerate(text: str) -> str:
    """The template text with its block replaced (or added just before Outputs)."""
    block = render(read(text))
    old = current_block(text)
    if old is not None:
        return text.replace(old, block, 1)
    outputs = text.index("\nOutputs:\n")
    return text[:outputs] + "\n" + block + text[outputs:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tools/alarms.py", description=__doc__.split("\n")[0])
    parser.add_argument("--template", type=Path, default=TEMPLATE)
    parser.add_argument("--check", action="store_true", help="exit 1 if the block is stale")
    args = parser.parse_args(argv)
    text = args.template.read_text(encoding="utf-8")
    new = regenerate(text)
    if args.check:
        if new != text:
            print(f"{args.template}: the generated alarms are stale; run `make alarms`")
            return 1
        return 0
    if new != text:
        args.template.write_text(new, encoding="utf-8")
        print(f"{args.template}: alarms and dashboard regenerated")
    else:
        print(f"{args.template}: alarms and dashboard already up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
