"""Read a SAM template and resolve what the local stack needs from it.

The template is the single source of truth: routes, authorizers, environment,
buckets and tables all come from here, so local runs cannot drift from a deploy.
Intrinsic functions are resolved with local stand-ins (fake ARNs, local names).
"""

from __future__ import annotations

import base64
import json
import posixpath
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

STACK_NAME = "stowage-local"
REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
API_ID = "local"

# A parsed YAML value: dict, list, str, int, float, bool or None.
Node = Any


class TemplateError(Exception):
    """The template uses something the local stack cannot emulate, or is invalid."""


# ---------------------------------------------------------------- loading YAML

_SHORT_TAGS = {
    "Ref": "Ref",
    "Condition": "Condition",
    **{
        name: f"Fn::{name}"
        for name in (
            "GetAtt Sub If Join Select Split Equals Not And Or FindInMap GetAZs "
            "ImportValue Base64 Cidr Length ToJsonString"
        ).split()
    },
}
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"


class CfnLoader(yaml.SafeLoader):
    """SafeLoader that turns CloudFormation short tags into their long forms.

    Dates stay strings ("2012-10-17" is a policy version, not a date) because
    CloudFormation treats every scalar as text.
    """

    yaml_implicit_resolvers = {
        first: [(tag, regex) for tag, regex in resolvers if tag != _TIMESTAMP_TAG]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }


def _construct_node(loader: CfnLoader, node: yaml.Node) -> Node:
    """Build the plain value under a tag, whatever its YAML kind."""
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]


def _construct_intrinsic(loader: CfnLoader, suffix: str, node: yaml.Node) -> dict[str, Node]:
    """`!Name value` becomes `{"Fn::Name": value}` (or `Ref`/`Condition`)."""
    key = _SHORT_TAGS.get(suffix)
    if key is None:
        raise yaml.constructor.ConstructorError(
            None, None, f"unknown CloudFormation tag !{suffix}", node.start_mark
        )
    value = _construct_node(loader, node)
    if key == "Fn::GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {key: value}


CfnLoader.add_multi_constructor("!", _construct_intrinsic)


def read_template(path: Path) -> dict[str, Node]:
    """Parse a template file into plain data with long-form intrinsics."""
    with path.open(encoding="utf-8") as stream:
        data = yaml.load(stream, Loader=CfnLoader)  # nosec B506  # CfnLoader is a SafeLoader
    if not isinstance(data, dict) or not isinstance(data.get("Resources"), dict):
        raise TemplateError(f"{path} is not a CloudFormation template (no Resources)")
    return data


# ------------------------------------------------------------------- the specs


@dataclass(frozen=True)
class RouteSpec:
    """One HttpApi route; `authorizer` is the name that applies, or None."""

    method: str
    path: str
    authorizer: str | None

    @property
    def route_key(self) -> str:
        """The routeKey API Gateway puts in events, e.g. `POST /v1/uploads`."""
        return "$default" if self.path == "$default" else f"{self.method} {self.path}"


@dataclass(frozen=True)
class ScheduleSpec:
    """A Schedule (EventBridge rule) or ScheduleV2 (EventBridge Scheduler) event.

    Locally every enabled schedule runs on one short dev interval, whatever its
    expression; `rate_seconds` is what a rate() means once deployed (None for cron
    and at, which are checked but not interpreted).
    """

    name: str
    expression: str
    enabled: bool
    rate_seconds: int | None
    arn: str  # the rule's or the schedule's, which EventBridge puts in `resources`
    scheduler: bool = False  # ScheduleV2: EventBridge Scheduler sends the event
    input: str | None = None  # Input JSON, sent instead of the Scheduled Event


@dataclass(frozen=True)
class FunctionSpec:
    """A Lambda function as deployed: code, handler, environment and its routes."""

    logical_id: str
    code_uri: str
    handler: str
    environment: dict[str, str]
    routes: list[RouteSpec]
    function_name: str = ""
    timeout_seconds: int = 3
    memory_mb: int = 128
    # Folders (relative to the template) Lambda's runtime imports layers from.
    layer_paths: list[str] = field(default_factory=list)
    schedules: list[ScheduleSpec] = field(default_factory=list)
    # EventInvokeConfig, resolved: how asynchronous invocations retry (devstack.invoke).
    event_invoke: dict[str, Node] = field(default_factory=dict)


@dataclass(frozen=True)
class AuthorizerSpec:
    """An HttpApi Lambda authorizer (payload format 2.0)."""

    name: str
    function_logical_id: str
    identity_headers: list[str]
    cache_ttl_seconds: int
    simple_responses: bool


@dataclass(frozen=True)
class CorsSpec:
    """The HttpApi CorsConfiguration, which API Gateway answers itself."""

    allow_origins: list[str]
    allow_methods: list[str]
    allow_headers: list[str]
    expose_headers: list[str]
    max_age_seconds: int | None
    allow_credentials: bool


@dataclass(frozen=True)
class ApiSpec:
    """The one HttpApi the functions' events attach to."""

    logical_id: str
    default_authorizer: str | None
    authorizers: dict[str, AuthorizerSpec]
    cors: CorsSpec | None


@dataclass(frozen=True)
class BucketSpec:
    """An S3 bucket with its CloudFormation-shaped, resolved configuration."""

    logical_id: str
    name: str
    cors_rules: list[dict[str, Node]]
    lifecycle_rules: list[dict[str, Node]]
    properties: dict[str, Node]


@dataclass(frozen=True)
class TableSpec:
    """A DynamoDB table with its CloudFormation-shaped, resolved definition."""

    logical_id: str
    name: str
    key_schema: list[dict[str, Node]]
    attribute_definitions: list[dict[str, Node]]
    global_secondary_indexes: list[dict[str, Node]]
    billing_mode: str
    time_to_live: dict[str, Node] | None
    local_secondary_indexes: list[dict[str, Node]] = field(default_factory=list)
    provisioned_throughput: dict[str, Node] | None = None
    stream_specification: dict[str, Node] | None = None


@dataclass(frozen=True)
class StackSpec:
    """Everything the local stack builds, resolved from one template."""

    template_path: Path
    stack_name: str
    region: str
    parameters: dict[str, str | list[str]]
    functions: list[FunctionSpec]
    api: ApiSpec | None
    buckets: list[BucketSpec]
    tables: list[TableSpec]
    warnings: list[str] = field(default_factory=list)
    # Kinds of the template's resources that are not emulated, with how many there are.
    ignored: dict[str, int] = field(default_factory=dict)

    @property
    def ignored_note(self) -> str | None:
        """The one line the stack prints at start about what it leaves out."""
        if not self.ignored:
            return None
        kinds = [kind if n == 1 else f"{kind} x{n}" for kind, n in self.ignored.items()]
        return f"not emulated, left out: {', '.join(kinds)}"

    @property
    def base_dir(self) -> Path:
        """CodeUri and ContentUri are relative to the template's folder, as in SAM."""
        return self.template_path.parent

    def function(self, logical_id: str) -> FunctionSpec:
        """The function with this logical id."""
        for spec in self.functions:
            if spec.logical_id == logical_id:
                return spec
        raise TemplateError(f"no function {logical_id} in the template")


# ------------------------------------------------------------------ parameters


def _scalar_text(value: Node) -> str:
    """CloudFormation sees every scalar as text; YAML gave us ints and bools."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    raise TemplateError(f"expected a scalar, got {value!r}")


def _check_allowed(name: str, declared: Mapping[str, Node], text: str) -> None:
    """AllowedValues and AllowedPattern, which CloudFormation enforces on deploy."""
    allowed = declared.get("AllowedValues")
    if allowed is not None and text not in [_scalar_text(value) for value in allowed]:
        raise TemplateError(f"parameter {name}={text!r} is not one of {allowed}")
    pattern = declared.get("AllowedPattern")
    if pattern is not None and re.fullmatch(str(pattern), text) is None:
        raise TemplateError(f"parameter {name}={text!r} does not match {pattern}")


def _check_number(name: str, declared: Mapping[str, Node], text: str) -> None:
    """Number parameters must parse and respect MinValue/MaxValue."""
    try:
        number = float(text)
    except ValueError:
        raise TemplateError(f"parameter {name}={text!r} is not a number") from None
    low, high = declared.get("MinValue"), declared.get("MaxValue")
    if (low is not None and number < float(low)) or (high is not None and number > float(high)):
        raise TemplateError(f"parameter {name}={text} is outside [{low}, {high}]")


def _parameter_value(name: str, declared: Mapping[str, Node], raw: Node) -> str | list[str]:
    """Validate one parameter value and give lists their list form."""
    kind = str(declared.get("Type", "String"))
    text = ",".join(map(_scalar_text, raw)) if isinstance(raw, list) else _scalar_text(raw)
    _check_allowed(name, declared, text)
    if kind == "Number":
        _check_number(name, declared, text)
    if kind == "CommaDelimitedList" or kind.startswith("List<"):
        return [item.strip() for item in text.split(",")]
    return text


def _parameter_values(
    declared: Mapping[str, Mapping[str, Node]], overrides: Mapping[str, str]
) -> dict[str, str | list[str]]:
    """Defaults, replaced by overrides; neither is an error, as on deploy."""
    unknown = sorted(set(overrides) - set(declared))
    if unknown:
        raise TemplateError(f"unknown parameter override(s): {', '.join(unknown)}")
    values: dict[str, str | list[str]] = {}
    for name, spec in declared.items():
        raw = overrides.get(name, spec.get("Default"))
        if raw is None:
            raise TemplateError(f"parameter {name} has no Default and no override")
        values[name] = _parameter_value(name, spec, raw)
    return values


# ------------------------------------------------------------------ intrinsics

_NO_VALUE = object()  # AWS::NoValue: the property disappears
_SUB_VARIABLE = re.compile(r"\$\{([^}]+)\}")
_NAME_PROPERTY = {
    "AWS::S3::Bucket": "BucketName",
    "AWS::DynamoDB::Table": "TableName",
    "AWS::Serverless::Function": "FunctionName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::SQS::Queue": "QueueName",
}
_ARN_FORMAT = {
    "AWS::S3::Bucket": "arn:aws:s3:::{name}",
    "AWS::DynamoDB::Table": "arn:aws:dynamodb:{region}:{account}:table/{name}",
    "AWS::Serverless::Function": "arn:aws:lambda:{region}:{account}:function:{name}",
    "AWS::Lambda::Function": "arn:aws:lambda:{region}:{account}:function:{name}",
    "AWS::Logs::LogGroup": "arn:aws:logs:{region}:{account}:log-group:{name}:*",
    "AWS::SQS::Queue": "arn:aws:sqs:{region}:{account}:{name}",
}


def is_intrinsic(node: Node) -> bool:
    """A one-key mapping such as `{"Ref": ...}` or `{"Fn::Sub": ...}`."""
    if not isinstance(node, dict) or len(node) != 1:
        return False
    key = next(iter(node))
    return (
        key == "Ref"
        or key.startswith("Fn::")
        or (key == "Condition" and isinstance(node[key], str))
    )


def _text(value: Node) -> str:
    """Text for string contexts (Sub, Join, environment); lists are an error there."""
    if isinstance(value, list | dict) or value is _NO_VALUE:
        raise TemplateError(f"expected a string, got {value!r}")
    return _scalar_text(value)


class Resolver:
    """Evaluates intrinsic functions with local stand-ins for deploy-time values."""

    def __init__(
        self,
        template: Mapping[str, Node],
        parameters: Mapping[str, str | list[str]],
        stack_name: str = STACK_NAME,
        region: str = REGION,
    ) -> None:
        self.resources: Mapping[str, Mapping[str, Node]] = template.get("Resources") or {}
        self.conditions: Mapping[str, Node] = template.get("Conditions") or {}
        self.mappings: Mapping[str, Node] = template.get("Mappings") or {}
        self.stack_name, self.region = stack_name, region
        self.values: dict[str, Node] = {
            **parameters,
            "AWS::Region": region,
            "AWS::StackName": stack_name,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackId": self.arn_prefix("cloudformation") + f"stack/{stack_name}/x",
            "AWS::NotificationARNs": [],
            "AWS::NoValue": _NO_VALUE,
        }
        self.functions: dict[str, Callable[[Node], Node]] = {
            "Ref": self.ref,
            "Condition": self.condition,
            "Fn::GetAtt": self.get_att,
            "Fn::Sub": self._sub,
            "Fn::Join": self._join,
            "Fn::Select": self._select,
            "Fn::Split": self._split,
            "Fn::If": self._if,
            "Fn::Equals": self._equals,
            "Fn::Not": lambda arg: not self._truth(arg[0]),
            "Fn::And": lambda arg: all(self._truth(item) for item in arg),
            "Fn::Or": lambda arg: any(self._truth(item) for item in arg),
            "Fn::FindInMap": self._find_in_map,
            "Fn::GetAZs": lambda arg: [f"{self.region}{zone}" for zone in "abc"],
            "Fn::ImportValue": self._import_value,
            "Fn::Base64": lambda arg: base64.b64encode(_text(self.resolve(arg)).encode()).decode(),
        }

    def resolve(self, node: Node) -> Node:
        """Resolve every intrinsic inside `node`; AWS::NoValue entries disappear."""
        if isinstance(node, list):
            return [item for item in map(self.resolve, node) if item is not _NO_VALUE]
        if is_intrinsic(node):
            ((key, argument),) = node.items()
            if key not in self.functions:
                raise TemplateError(f"{key} is not emulated locally")
            return self.functions[key](argument)
        if isinstance(node, dict):
            resolved = {key: self.resolve(value) for key, value in node.items()}
            return {key: value for key, value in resolved.items() if value is not _NO_VALUE}
        return node

    def active(self, logical_id: str) -> bool:
        """A resource with a false Condition is not created."""
        name = self.resources[logical_id].get("Condition")
        return name is None or self.condition(name)

    def ref(self, name: Node) -> Node:
        """Parameters, pseudo parameters, or a resource's local physical name."""
        if name in self.values:
            return self.values[name]
        if name not in self.resources:
            raise TemplateError(f"!Ref {name}: no such parameter or resource")
        return self.physical_name(name)

    def physical_name(self, logical_id: str) -> str:
        """The name a resource gets: its explicit name, or `<stack>-<LogicalId>`."""
        resource = self.resources[logical_id]
        kind = resource.get("Type", "")
        explicit = (resource.get("Properties") or {}).get(_NAME_PROPERTY.get(kind, ""))
        if explicit is not None:
            return _text(self.resolve(explicit))
        if kind == "AWS::S3::Bucket":
            return f"{self.stack_name}-{logical_id}".lower()  # bucket names are lowercase
        if kind in ("AWS::Serverless::HttpApi", "AWS::ApiGatewayV2::Api"):
            return API_ID
        if kind.endswith("::LayerVersion"):
            return self.arn_prefix("lambda") + f"layer:{self.stack_name}-{logical_id}:1"
        return f"{self.stack_name}-{logical_id}"

    def arn_prefix(self, service: str) -> str:
        """`arn:aws:<service>:<region>:<account>:` for fake ARNs."""
        return f"arn:aws:{service}:{self.region}:{ACCOUNT_ID}:"

    def get_att(self, argument: Node) -> Node:
        """Fake but well-formed ARNs; other attributes are not emulated."""
        logical_id, attribute = argument
        if logical_id not in self.resources:
            raise TemplateError(f"!GetAtt {logical_id}.{attribute}: no such resource")
        kind = self.resources[logical_id].get("Type", "")
        name = self.physical_name(logical_id)
        arn = _ARN_FORMAT.get(kind, "arn:aws:local:{region}:{account}:{name}").format(
            name=name, region=self.region, account=ACCOUNT_ID
        )
        if attribute == "Arn":
            return arn
        if attribute == "StreamArn" and kind == "AWS::DynamoDB::Table":
            return f"{arn}/stream/local"
        raise TemplateError(f"!GetAtt {logical_id}.{attribute} is not emulated locally")

    def condition(self, name: Node) -> bool:
        """Evaluate a named entry of the Conditions section."""
        if name not in self.conditions:
            raise TemplateError(f"no condition named {name}")
        return self._truth(self.conditions[name])

    def _truth(self, node: Node) -> bool:
        value = self.resolve(node)
        if not isinstance(value, bool):
            raise TemplateError(f"a condition must be true or false, got {value!r}")
        return value

    def _sub(self, argument: Node) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        local = {key: self.resolve(value) for key, value in variables.items()}

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):  # ${!Literal} stays as ${Literal}
                return "${" + name[1:] + "}"
            if name in local:
                return _text(local[name])
            if "." in name:
                return _text(self.get_att(name.split(".", 1)))
            return _text(self.ref(name))

        return _SUB_VARIABLE.sub(substitute, text)

    def _join(self, argument: Node) -> str:
        delimiter, items = argument
        return str(delimiter).join(_text(item) for item in self.resolve(items))

    def _select(self, argument: Node) -> Node:
        index, items = self.resolve(argument)
        return items[int(index)]

    def _split(self, argument: Node) -> list[str]:
        delimiter, text = self.resolve(argument)
        return _text(text).split(str(delimiter))

    def _if(self, argument: Node) -> Node:
        name, when_true, when_false = argument
        return self.resolve(when_true if self.condition(name) else when_false)

    def _equals(self, argument: Node) -> bool:
        left, right = self.resolve(argument)
        return bool(_comparable(left) == _comparable(right))

    def _find_in_map(self, argument: Node) -> Node:
        name, top, second = (_text(part) for part in self.resolve(argument))
        try:
            return self.mappings[name][top][second]
        except KeyError:
            raise TemplateError(f"!FindInMap [{name}, {top}, {second}]: no such entry") from None

    def _import_value(self, argument: Node) -> Node:
        raise TemplateError(f"!ImportValue {argument!r}: other stacks do not exist locally")


def _comparable(value: Node) -> Node:
    """Fn::Equals compares text: the YAML int 0 equals the parameter "0"."""
    if isinstance(value, list):
        return [_comparable(item) for item in value]
    return _scalar_text(value) if isinstance(value, bool | int | float | str) else value


# ------------------------------------------------------------ globals merging


def merge_globals(global_value: Node, local_value: Node) -> Node:
    """SAM's Globals rule: maps merge, lists append, anything else the local wins."""
    if isinstance(global_value, dict) and isinstance(local_value, dict):
        if is_intrinsic(global_value) or is_intrinsic(local_value):
            return local_value
        merged = dict(global_value)
        for key, value in local_value.items():
            merged[key] = merge_globals(global_value[key], value) if key in global_value else value
        return merged
    if isinstance(global_value, list) and isinstance(local_value, list):
        return global_value + local_value
    return local_value


def _bool(value: Node) -> bool:
    """Booleans may arrive as YAML bools or as parameter text."""
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _logical_id_of(node: Node, what: str) -> str:
    """The resource a `!Ref X`, `!GetAtt X.Arn` or `!Sub ${X.Arn}` points at."""
    if isinstance(node, dict) and "Ref" in node:
        return str(node["Ref"])
    if isinstance(node, dict) and "Fn::GetAtt" in node:
        return str(node["Fn::GetAtt"][0])
    if isinstance(node, dict) and isinstance(node.get("Fn::Sub"), str):
        match = re.fullmatch(r"\$\{(\w+)\.Arn\}", node["Fn::Sub"])
        if match:
            return match.group(1)
    raise TemplateError(f"{what} must point at a resource of this template, got {node!r}")


# ------------------------------------------------------------------ schedules

_RATE = re.compile(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
_CRON_FIELD = re.compile(r"[0-9A-Za-z*?,/#-]+")
_STATES = ("ENABLED", "DISABLED", "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS")


def rate_seconds(expression: str) -> int:
    """`rate(5 minutes)` -> 300, by EventBridge's rules: a whole number of at least 1,
    a singular unit for 1 and a plural one above (rate(1 hours) fails on deploy)."""
    match = _RATE.fullmatch(expression)
    if match is None:
        raise TemplateError(f"{expression!r} is not rate(N minute(s)|hour(s)|day(s))")
    value, unit = int(match.group(1)), match.group(2)
    singular = unit.removesuffix("s")
    if value < 1:
        raise TemplateError(f"{expression!r}: a rate must be at least 1")
    if (value == 1) != (unit == singular):
        wanted = singular if value == 1 else f"{singular}s"
        raise TemplateError(f"{expression!r}: EventBridge only accepts rate({value} {wanted})")
    return value * _UNIT_SECONDS[singular]


def check_cron(expression: str) -> None:
    """Six fields (minutes hours day-of-month month day-of-week year), one of the two
    day fields `?` and the other not, as EventBridge requires."""
    fields = expression.removeprefix("cron(").removesuffix(")").split()
    if len(fields) != 6 or not all(map(_CRON_FIELD.fullmatch, fields)):
        raise TemplateError(
            f"{expression!r}: cron needs six fields: "
            "minutes hours day-of-month month day-of-week year"
        )
    if (fields[2] == "?") == (fields[4] == "?"):
        raise TemplateError(f"{expression!r}: exactly one of day-of-month and day-of-week is ?")


def check_at(expression: str) -> None:
    """A one-time schedule: `at(2026-01-31T12:00:00)`."""
    try:
        datetime.strptime(expression.removeprefix("at(").removesuffix(")"), "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        raise TemplateError(f"{expression!r}: at() needs yyyy-mm-ddThh:mm:ss") from None


def schedule_rate(expression: str, scheduler: bool = False) -> int | None:
    """Seconds between runs for rate(); cron() (and at() for the Scheduler) are
    checked and give None."""
    if expression.startswith("rate("):
        return rate_seconds(expression)
    if expression.startswith("cron(") and expression.endswith(")"):
        check_cron(expression)
        return None
    if scheduler and expression.startswith("at(") and expression.endswith(")"):
        check_at(expression)
        return None
    kinds = "rate(...), cron(...) or at(...)" if scheduler else "rate(...) or cron(...)"
    raise TemplateError(f"{expression!r} is not a schedule expression: use {kinds}")


def _schedule_enabled(enabled: Node, state: Node, where: str) -> bool:
    """`Enabled: true|false` or `State: ENABLED|DISABLED`; SAM refuses both at once."""
    if enabled is not None and state is not None:
        raise TemplateError(f"{where}: Enabled and State cannot both be set")
    if state is not None:
        if state not in _STATES:
            raise TemplateError(f"{where}: State {state!r} is not one of {', '.join(_STATES)}")
        return bool(state != "DISABLED")
    text = "true" if enabled is None else _scalar_text(enabled).lower()
    if text not in ("true", "false"):
        raise TemplateError(f"{where}: Enabled must be true or false, got {enabled!r}")
    return text == "true"


def _schedule_input(value: Node, where: str) -> str | None:
    """Input is JSON text (a Lambda target refuses anything else)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise TemplateError(f"{where}: Input must be JSON text, got {value!r}")
    try:
        json.loads(value)
    except ValueError as error:
        raise TemplateError(f"{where}: Input is not JSON ({error})") from None
    return value


# --------------------------------------------------------------- spec building

# What the local stack builds, or reads to build something; any other kind of resource
# (alarms, dashboards, topics, queues, log groups, bucket policies, secrets...) is left
# out, and the stack says which once at start.
EMULATED_KINDS = frozenset(
    {
        "AWS::Serverless::Function",
        "AWS::Serverless::HttpApi",
        "AWS::Serverless::LayerVersion",
        "AWS::S3::Bucket",
        "AWS::DynamoDB::Table",
    }
)

IMPLICIT_API = "ServerlessHttpApi"  # SAM's name for the API events create without ApiId


class _Builder:
    """Turns a parsed template into specs, one resource kind at a time."""

    def __init__(self, template: Mapping[str, Node], resolver: Resolver, base_dir: Path) -> None:
        self.template = template
        self.resolver = resolver
        self.base_dir = base_dir
        self.globals: Mapping[str, Node] = template.get("Globals") or {}
        self.warnings: list[str] = []

    def resources_of(self, *kinds: str) -> list[tuple[str, Mapping[str, Node]]]:
        """Active resources of the given types, with their raw properties."""
        return [
            (logical_id, resource.get("Properties") or {})
            for logical_id, resource in self.resolver.resources.items()
            if resource.get("Type") in kinds and self.resolver.active(logical_id)
        ]

    # -- functions and routes

    def functions(self, api: ApiSpec | None) -> list[FunctionSpec]:
        """Every Serverless function, Globals.Function merged in."""
        function_globals = self.globals.get("Function") or {}
        return [
            self.function(logical_id, merge_globals(function_globals, properties), api)
            for logical_id, properties in self.resources_of("AWS::Serverless::Function")
        ]

    def function(
        self, logical_id: str, props: Mapping[str, Node], api: ApiSpec | None
    ) -> FunctionSpec:
        """One function; its code must be a local folder, as `sam build` needs."""
        resolve = self.resolver.resolve
        code_uri, handler = resolve(props.get("CodeUri")), resolve(props.get("Handler"))
        if not isinstance(code_uri, str) or not isinstance(handler, str):
            raise TemplateError(f"{logical_id}: CodeUri and Handler must be local strings")
        variables = resolve((props.get("Environment") or {}).get("Variables") or {})
        return FunctionSpec(
            logical_id=logical_id,
            code_uri=code_uri,
            handler=handler,
            environment={name: _text(value) for name, value in variables.items()},
            routes=self.routes(logical_id, props.get("Events") or {}, api),
            function_name=self.resolver.physical_name(logical_id),
            timeout_seconds=int(_text(resolve(props.get("Timeout", 3)))),
            memory_mb=int(_text(resolve(props.get("MemorySize", 128)))),
            layer_paths=[path for path in map(self.layer_path, props.get("Layers") or []) if path],
            schedules=self.schedules(logical_id, props.get("Events") or {}),
            event_invoke=resolve(props.get("EventInvokeConfig") or {}),
        )

    def routes(
        self, logical_id: str, events: Mapping[str, Node], api: ApiSpec | None
    ) -> list[RouteSpec]:
        """Routes come only from HttpApi events: the template is the route table."""
        routes = []
        for event in events.values():
            if event.get("Type") != "HttpApi":
                continue
            if api is None:
                raise TemplateError(f"{logical_id}: an HttpApi event without an HttpApi")
            routes.append(self.route(event.get("Properties") or {}, api))
        return routes

    def route(self, props: Mapping[str, Node], api: ApiSpec) -> RouteSpec:
        """Method and path, and which authorizer applies (`NONE` opts out)."""
        resolve = self.resolver.resolve
        path, method = resolve(props.get("Path")), resolve(props.get("Method"))
        auth = props.get("Auth") or {}
        name = resolve(auth["Authorizer"]) if "Authorizer" in auth else api.default_authorizer
        authorizer = None if name in (None, "NONE") else str(name)
        if authorizer is not None and authorizer not in api.authorizers:
            raise TemplateError(f"route {method} {path}: unknown authorizer {authorizer}")
        if path is None and method is None:
            return RouteSpec("ANY", "$default", authorizer)
        return RouteSpec(str(method or "ANY").upper(), str(path), authorizer)

    def schedules(self, logical_id: str, events: Mapping[str, Node]) -> list[ScheduleSpec]:
        """The function's Schedule and ScheduleV2 events."""
        return [
            self.schedule(logical_id, name, event.get("Properties") or {}, event["Type"])
            for name, event in events.items()
            if event.get("Type") in ("Schedule", "ScheduleV2")
        ]

    def schedule(
        self, logical_id: str, event_name: str, props: Mapping[str, Node], kind: str
    ) -> ScheduleSpec:
        """One schedule; only the properties used here are resolved (a DeadLetterConfig
        may hold intrinsics that are not emulated)."""
        where = f"{logical_id} event {event_name}"
        scheduler = kind == "ScheduleV2"

        def value(key: str) -> Node:
            return self.resolver.resolve(props.get(key))

        key = "ScheduleExpression" if scheduler else "Schedule"
        expression = value(key)
        if not isinstance(expression, str):
            raise TemplateError(f"{where}: {key} must be a text expression, got {expression!r}")
        try:
            rate = schedule_rate(expression, scheduler)
        except TemplateError as error:
            raise TemplateError(f"{where}: {error}") from None
        name = value("Name")
        if name is None:  # CloudFormation would add a random suffix; local names are fixed
            name = f"{self.resolver.stack_name}-{logical_id}{event_name}"
        return ScheduleSpec(
            name=event_name,
            expression=expression,
            enabled=_schedule_enabled(value("Enabled"), value("State"), where),
            rate_seconds=rate,
            arn=self.schedule_arn(_text(name), value("GroupName"), scheduler),
            scheduler=scheduler,
            input=_schedule_input(value("Input"), where),
        )

    def schedule_arn(self, name: str, group: Node, scheduler: bool) -> str:
        """A rule's ARN, or a Scheduler schedule's (in its group, `default` unless named)."""
        if scheduler:
            group_name = "default" if group is None else _text(group)
            return self.resolver.arn_prefix("scheduler") + f"schedule/{group_name}/{name}"
        return self.resolver.arn_prefix("events") + f"rule/{name}"

    def layer_path(self, node: Node) -> str | None:
        """Where a layer's modules land on /opt/python; published ARNs are skipped.

        With a python BuildMethod, sam build copies ContentUri into python/, so
        ContentUri itself is the import root; otherwise the layer is ContentUri as
        it is, and Lambda imports from its python/ folder.
        """
        if not is_intrinsic(node):
            self.warnings.append(f"layer {node} is not local and is not loaded")
            return None
        layer_id = _logical_id_of(node, "Layers entry")
        resource = self.resolver.resources.get(layer_id) or {}
        uri = self.resolver.resolve((resource.get("Properties") or {}).get("ContentUri"))
        if not isinstance(uri, str):
            raise TemplateError(f"layer {layer_id}: ContentUri must be a local folder")
        build_method = str((resource.get("Metadata") or {}).get("BuildMethod", ""))
        if not build_method.startswith("python"):
            return posixpath.join(uri, "python")
        if (self.base_dir / uri / "python").is_dir():
            self.warnings.append(
                f"layer {layer_id}: BuildMethod {build_method} copies {uri} into "
                f"python/, so its own python/ folder deploys as /opt/python/python/"
            )
        return uri

    # -- the API

    def api(self) -> ApiSpec | None:
        """The one HttpApi the events attach to (explicit, or SAM's implicit one)."""
        api_ids = self.api_ids()
        if len(api_ids) > 1:
            raise TemplateError(f"events use several HttpApis {sorted(api_ids)}; one is emulated")
        if not api_ids:
            return None
        (api_id,) = api_ids
        resource = self.resolver.resources.get(api_id) or {}
        props = merge_globals(self.globals.get("HttpApi") or {}, resource.get("Properties") or {})
        auth = props.get("Auth") or {}
        authorizers = {
            name: self.authorizer(name, spec)
            for name, spec in (auth.get("Authorizers") or {}).items()
        }
        default = self.resolver.resolve(auth.get("DefaultAuthorizer"))
        if default is not None and default not in authorizers:
            raise TemplateError(f"DefaultAuthorizer {default} is not among the Authorizers")
        cors = self.cors(self.resolver.resolve(props.get("CorsConfiguration")))
        return ApiSpec(api_id, default, authorizers, cors)

    def api_ids(self) -> set[str]:
        """Which HttpApi each HttpApi event names (no ApiId means the implicit API)."""
        ids = set()
        for _, props in self.resources_of("AWS::Serverless::Function"):
            for event in (props.get("Events") or {}).values():
                if event.get("Type") == "HttpApi":
                    api_ref = (event.get("Properties") or {}).get("ApiId")
                    ids.add(IMPLICIT_API if api_ref is None else _logical_id_of(api_ref, "ApiId"))
        return ids

    def authorizer(self, name: str, props: Mapping[str, Node]) -> AuthorizerSpec:
        """A Lambda authorizer; JWT and IAM authorizers are not emulated."""
        if "FunctionArn" not in props:
            raise TemplateError(f"authorizer {name}: only Lambda authorizers are emulated")
        resolve = self.resolver.resolve
        version = _text(resolve(props.get("AuthorizerPayloadFormatVersion", "")))
        if version != "2.0":
            raise TemplateError(f"authorizer {name}: payload format {version!r} is not emulated")
        identity = props.get("Identity") or {}
        unsupported = sorted(set(identity) - {"Headers", "ReauthorizeEvery"})
        if unsupported:
            raise TemplateError(f"authorizer {name}: Identity {unsupported} is not emulated")
        headers = [_text(header) for header in resolve(identity.get("Headers") or [])]
        ttl = int(_text(resolve(identity.get("ReauthorizeEvery", 300))))  # API Gateway's default
        return AuthorizerSpec(
            name=name,
            function_logical_id=_logical_id_of(
                props["FunctionArn"], f"authorizer {name} FunctionArn"
            ),
            identity_headers=headers,
            cache_ttl_seconds=ttl if headers else 0,  # no identity source, nothing to key on
            simple_responses=_bool(resolve(props.get("EnableSimpleResponses", False))),
        )

    def cors(self, config: Node) -> CorsSpec | None:
        """HttpApi CorsConfiguration; `true` means any origin, as in SAM."""
        if config is None or config is False:
            return None
        if config is True:
            config = {"AllowOrigins": ["*"]}
        if isinstance(config, str):
            config = {"AllowOrigins": [config.strip("'")]}
        max_age = config.get("MaxAge")
        return CorsSpec(
            allow_origins=[_text(item) for item in config.get("AllowOrigins") or []],
            allow_methods=[_text(item).upper() for item in config.get("AllowMethods") or []],
            allow_headers=[_text(item).lower() for item in config.get("AllowHeaders") or []],
            expose_headers=[_text(item).lower() for item in config.get("ExposeHeaders") or []],
            max_age_seconds=None if max_age is None else int(_text(max_age)),
            allow_credentials=_bool(config.get("AllowCredentials", False)),
        )

    # -- storage

    def buckets(self) -> list[BucketSpec]:
        """Every S3 bucket, configuration resolved but still CloudFormation-shaped."""
        specs = []
        for logical_id, raw in self.resources_of("AWS::S3::Bucket"):
            props = self.resolver.resolve(raw)
            specs.append(
                BucketSpec(
                    logical_id=logical_id,
                    name=self.resolver.physical_name(logical_id),
                    cors_rules=(props.get("CorsConfiguration") or {}).get("CorsRules") or [],
                    lifecycle_rules=(props.get("LifecycleConfiguration") or {}).get("Rules") or [],
                    properties=props,
                )
            )
        return specs

    def tables(self) -> list[TableSpec]:
        """Every DynamoDB table, definitions resolved."""
        specs = []
        for logical_id, raw in self.resources_of("AWS::DynamoDB::Table"):
            props = self.resolver.resolve(raw)
            specs.append(
                TableSpec(
                    logical_id=logical_id,
                    name=self.resolver.physical_name(logical_id),
                    key_schema=props["KeySchema"],
                    attribute_definitions=props.get("AttributeDefinitions") or [],
                    global_secondary_indexes=props.get("GlobalSecondaryIndexes") or [],
                    billing_mode=str(props.get("BillingMode", "PROVISIONED")),
                    time_to_live=props.get("TimeToLiveSpecification"),
                    local_secondary_indexes=props.get("LocalSecondaryIndexes") or [],
                    provisioned_throughput=props.get("ProvisionedThroughput"),
                    stream_specification=props.get("StreamSpecification"),
                )
            )
        return specs


def load_template(
    path: Path,
    parameter_overrides: Mapping[str, str] | None = None,
    stack_name: str = STACK_NAME,
    region: str = REGION,
) -> StackSpec:
    """Read `path` and resolve everything the local stack needs from it."""
    template = read_template(path)
    parameters = _parameter_values(template.get("Parameters") or {}, parameter_overrides or {})
    resolver = Resolver(template, parameters, stack_name, region)
    builder = _Builder(template, resolver, path.resolve().parent)
    api = builder.api()
    functions = builder.functions(api)
    known = {spec.logical_id for spec in functions}
    for authorizer in api.authorizers.values() if api else []:
        if authorizer.function_logical_id not in known:
            raise TemplateError(
                f"authorizer {authorizer.name}: no function {authorizer.function_logical_id}"
            )
    return StackSpec(
        template_path=path.resolve(),
        stack_name=stack_name,
        region=region,
        parameters=parameters,
        functions=functions,
        api=api,
        buckets=builder.buckets(),
        tables=builder.tables(),
        warnings=sorted(set(builder.warnings)),
        ignored=_ignored_kinds(resolver),
    )


def _ignored_kinds(resolver: Resolver) -> dict[str, int]:
    """Resources that would be created on deploy (their Condition holds) but not here."""
    kinds = [
        str(resource.get("Type"))
        for logical_id, resource in resolver.resources.items()
        if resource.get("Type") not in EMULATED_KINDS and resolver.active(logical_id)
    ]
    return {kind: kinds.count(kind) for kind in sorted(set(kinds))}
