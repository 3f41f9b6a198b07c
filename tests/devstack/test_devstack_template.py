"""devstack.template: CloudFormation tags, intrinsic resolution and the specs."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from devstack.runtime import function_environment
from devstack.stack import REPO_ROOT
from devstack.template import (
    AuthorizerSpec,
    Resolver,
    RouteSpec,
    TemplateError,
    load_template,
    read_template,
)

FIXTURES = Path(__file__).parent / "fixtures"

MINIMAL = """
Resources:
  Bucket:
    Type: AWS::S3::Bucket
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "template.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_short_tags_become_long_forms(tmp_path: Path) -> None:
    # Given a template using every short tag
    path = write(
        tmp_path,
        MINIMAL
        + """
Outputs:
  All:
    Value:
      - !Ref Bucket
      - !GetAtt Bucket.Arn
      - !GetAtt [Bucket, Arn]
      - !Sub "${Bucket}-x"
      - !If [IsProd, a, b]
      - !Join [",", [a, b]]
      - !Select [0, [a, b]]
      - !Split [",", "a,b"]
      - !Equals [a, b]
      - !Not [!Equals [a, b]]
      - !And [!Condition IsProd, !Condition IsProd]
      - !Or [!Condition IsProd, !Condition IsProd]
      - !FindInMap [Map, Top, Key]
      - !GetAZs ""
      - !ImportValue Other
      - !Base64 text
""",
    )

    # When it is read
    values = read_template(path)["Outputs"]["All"]["Value"]

    # Then each tag has its long form
    assert values[0] == {"Ref": "Bucket"}
    assert values[1] == values[2] == {"Fn::GetAtt": ["Bucket", "Arn"]}
    assert values[3] == {"Fn::Sub": "${Bucket}-x"}
    assert values[4] == {"Fn::If": ["IsProd", "a", "b"]}
    assert [next(iter(value)) for value in values[5:]] == [
        "Fn::Join",
        "Fn::Select",
        "Fn::Split",
        "Fn::Equals",
        "Fn::Not",
        "Fn::And",
        "Fn::Or",
        "Fn::FindInMap",
        "Fn::GetAZs",
        "Fn::ImportValue",
        "Fn::Base64",
    ]
    assert values[10] == {"Fn::And": [{"Condition": "IsProd"}, {"Condition": "IsProd"}]}


def test_dates_stay_text(tmp_path: Path) -> None:
    # Given an unquoted policy version, which plain YAML reads as a date
    path = write(tmp_path, MINIMAL + "Metadata:\n  Version: 2012-10-17\n")

    # When it is read
    template = read_template(path)

    # Then it is still the text CloudFormation sees
    assert template["Metadata"]["Version"] == "2012-10-17"


def resolver(parameters: dict[str, str | list[str]] | None = None) -> Resolver:
    template = {
        "Resources": {
            "FilesBucket": {"Type": "AWS::S3::Bucket"},
            "Table": {"Type": "AWS::DynamoDB::Table"},
            "Fn": {"Type": "AWS::Serverless::Function"},
        },
        "Conditions": {
            "IsProd": {"Fn::Equals": [{"Ref": "Env"}, "prod"]},
            "IsDev": {"Fn::Not": [{"Condition": "IsProd"}]},
        },
        "Mappings": {"Sizes": {"prod": {"Memory": 1024}}},
    }
    return Resolver(template, parameters or {"Env": "dev", "Names": ["a", "b"]})


def test_ref_and_get_att_give_local_names_and_fake_arns() -> None:
    # Given a resolver for a small template
    resolve = resolver().resolve

    # When references are resolved
    # Then buckets are lowercase, tables keep their case, ARNs are well formed
    assert resolve({"Ref": "FilesBucket"}) == "stowage-local-filesbucket"
    assert resolve({"Ref": "Table"}) == "stowage-local-Table"
    assert resolve({"Fn::GetAtt": ["FilesBucket", "Arn"]}) == (
        "arn:aws:s3:::stowage-local-filesbucket"
    )
    assert resolve({"Fn::GetAtt": ["Table", "Arn"]}) == (
        "arn:aws:dynamodb:us-east-1:123456789012:table/stowage-local-Table"
    )
    assert resolve({"Fn::GetAtt": ["Fn", "Arn"]}).endswith(":function:stowage-local-Fn")
    assert resolve({"Ref": "Names"}) == ["a", "b"]
    assert resolve({"Ref": "AWS::Region"}) == "us-east-1"


def test_sub_replaces_parameters_resources_attributes_and_pseudo_parameters() -> None:
    # Given a resolver
    resolve = resolver().resolve

    # When Fn::Sub strings are resolved
    text = resolve({"Fn::Sub": "${AWS::StackName}/${Env}/${FilesBucket}/${Table.Arn}/${!Keep}"})
    with_variables = resolve({"Fn::Sub": ["${Greeting}, ${Env}", {"Greeting": "hi"}]})

    # Then every variable is substituted and ${!Keep} stays literal
    assert text == (
        "stowage-local/dev/stowage-local-filesbucket/"
        "arn:aws:dynamodb:us-east-1:123456789012:table/stowage-local-Table/${Keep}"
    )
    assert with_variables == "hi, dev"


def test_conditions_lists_maps_and_no_value() -> None:
    # Given a resolver where Env is "dev"
    resolve = resolver().resolve

    # When condition functions, list functions and AWS::NoValue are resolved
    # Then they behave as CloudFormation's
    assert resolve({"Fn::If": ["IsProd", "big", "small"]}) == "small"
    assert resolve({"Fn::If": ["IsDev", "yes", "no"]}) == "yes"
    assert resolve({"Fn::Or": [{"Condition": "IsProd"}, {"Condition": "IsDev"}]}) is True
    assert resolve({"Fn::And": [{"Condition": "IsProd"}, {"Condition": "IsDev"}]}) is False
    assert resolve({"Fn::Join": ["-", ["a", {"Ref": "Env"}]]}) == "a-dev"
    assert resolve({"Fn::Select": [1, {"Fn::Split": [",", "x,y,z"]}]}) == "y"
    assert resolve({"Fn::FindInMap": ["Sizes", "prod", "Memory"]}) == 1024
    assert resolve({"Fn::Base64": "hi"}) == base64.b64encode(b"hi").decode()
    assert resolve({"Fn::GetAZs": ""}) == ["us-east-1a", "us-east-1b", "us-east-1c"]
    assert resolve({"A": {"Ref": "AWS::NoValue"}, "B": 1}) == {"B": 1}
    assert resolve([1, {"Fn::If": ["IsProd", 2, {"Ref": "AWS::NoValue"}]}]) == [1]


def test_import_value_and_unknown_references_are_errors() -> None:
    # Given a resolver
    resolve = resolver().resolve

    # When something cannot exist locally
    # Then it is a clear TemplateError
    with pytest.raises(TemplateError, match="other stacks"):
        resolve({"Fn::ImportValue": "Shared"})
    with pytest.raises(TemplateError, match="no such parameter or resource"):
        resolve({"Ref": "Nope"})


def test_parameters_defaults_overrides_and_lists() -> None:
    # Given the fixture template and an override
    # When it is loaded
    spec = load_template(FIXTURES / "template.yaml", {"MaxFileSize": "42"})

    # Then defaults apply, the override wins and CommaDelimitedList is a list
    assert spec.parameters["MaxFileSize"] == "42"
    assert spec.parameters["AllowedOrigins"] == [
        "https://app.example.com",
        "https://admin.example.com",
    ]
    assert spec.function("Echo").environment["MAX_FILE_SIZE"] == "42"


def test_parameter_overrides_are_validated() -> None:
    # Given overrides that CloudFormation would refuse
    # When the template is loaded
    # Then they are refused here too
    template = FIXTURES / "template.yaml"
    with pytest.raises(TemplateError, match="unknown parameter"):
        load_template(template, {"Nope": "1"})
    with pytest.raises(TemplateError, match="outside"):
        load_template(template, {"CachedAuthorizerTtlSeconds": "7200"})
    with pytest.raises(TemplateError, match="not a number"):
        load_template(template, {"MaxFileSize": "big"})


def test_globals_merge_into_functions() -> None:
    # Given the fixture template (Globals set Handler, Timeout, Layers, Environment)
    # When it is loaded
    spec = load_template(FIXTURES / "template.yaml")

    # Then every function has them, and a function's own Timeout wins
    echo, sleepy = spec.function("Echo"), spec.function("Sleepy")
    assert echo.handler == "app.lambda_handler"
    assert echo.code_uri == "functions/echo/"
    assert echo.timeout_seconds == 10
    assert sleepy.timeout_seconds == 1
    assert echo.layer_paths == ["layers/shared/python"]
    assert echo.environment == {
        "FILES_BUCKET": "stowage-local-filesbucket",
        "UPLOADS_TABLE": "stowage-local-UploadsTable",
        "MAX_FILE_SIZE": "1048576",
    }


def test_routes_and_authorizers_come_from_the_http_api() -> None:
    # Given the fixture template with a default authorizer and per-route choices
    # When it is loaded
    spec = load_template(FIXTURES / "template.yaml")
    routes = {route.route_key: route for route in spec.function("Echo").routes}

    # Then the default applies, NONE opts out, and a route may pick another one
    assert routes["GET /items/{id}"] == RouteSpec("GET", "/items/{id}", "KeyAuthorizer")
    assert routes["GET /public"].authorizer is None
    assert routes["GET /cached"].authorizer == "CachedAuthorizer"
    assert spec.api is not None
    assert spec.api.authorizers["KeyAuthorizer"] == AuthorizerSpec(
        name="KeyAuthorizer",
        function_logical_id="Authorizer",
        identity_headers=["Authorization"],
        cache_ttl_seconds=0,
        simple_responses=True,
    )
    assert spec.api.authorizers["CachedAuthorizer"].cache_ttl_seconds == 300
    assert spec.function("Authorizer").routes == []


def test_an_unknown_route_authorizer_is_an_error(tmp_path: Path) -> None:
    # Given a route naming an authorizer the API does not have
    path = write(
        tmp_path,
        """
Resources:
  Api:
    Type: AWS::Serverless::HttpApi
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: fn/
      Handler: app.handler
      Events:
        Get:
          Type: HttpApi
          Properties: {ApiId: !Ref Api, Path: /x, Method: get, Auth: {Authorizer: Nope}}
""",
    )

    # When it is loaded
    # Then it is refused, as a deploy would be
    with pytest.raises(TemplateError, match="unknown authorizer Nope"):
        load_template(path)


def test_functions_that_disagree_on_a_variable_are_an_error(tmp_path: Path) -> None:
    # Given two functions setting one variable differently
    path = write(
        tmp_path,
        """
Resources:
  A:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: a/, Handler: app.h, Environment: {Variables: {MODE: one}}}
  B:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: b/, Handler: app.h, Environment: {Variables: {MODE: two}}}
""",
    )

    # When their shared environment is computed
    # Then it is refused: locally they share one process
    with pytest.raises(TemplateError, match="MODE"):
        function_environment(load_template(path))


def test_storage_specs() -> None:
    # Given the fixture template
    # When it is loaded
    spec = load_template(FIXTURES / "template.yaml")

    # Then bucket and table definitions are resolved from it
    (bucket,) = spec.buckets
    (table,) = spec.tables
    assert bucket.name == "stowage-local-filesbucket"
    assert bucket.cors_rules[0]["AllowedOrigins"] == [
        "https://app.example.com",
        "https://admin.example.com",
    ]
    assert table.name == "stowage-local-UploadsTable"
    assert table.billing_mode == "PAY_PER_REQUEST"
    assert table.global_secondary_indexes[0]["IndexName"] == "by_client_status"
    assert table.time_to_live == {"AttributeName": "ttl", "Enabled": True}


def test_the_project_template_loads() -> None:
    # Given the real template.yaml of the project
    # When it is loaded
    spec = load_template(REPO_ROOT / "template.yaml")

    # Then it yields functions with routes, and its bucket and table
    assert any(function.routes for function in spec.functions)
    assert {bucket.logical_id for bucket in spec.buckets} >= {"FilesBucket"}
    assert {table.logical_id for table in spec.tables} >= {"UploadsTable"}


def test_a_python_build_method_layer_is_imported_from_its_content_uri(
    tmp_path: Path,
) -> None:
    # Given a layer that sam build builds with BuildMethod python3.13
    path = write(
        tmp_path,
        """
Resources:
  Layer:
    Type: AWS::Serverless::LayerVersion
    Properties: {ContentUri: layer/src/}
    Metadata: {BuildMethod: python3.13}
  Fn:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: fn/, Handler: app.handler, Layers: [!Ref Layer]}
""",
    )

    # When the template is loaded
    spec = load_template(path)

    # Then ContentUri itself is the import root (sam build puts it in python/)
    assert spec.function("Fn").layer_paths == ["layer/src/"]
    assert spec.warnings == []


def test_what_is_not_emulated_is_listed_once_by_kind(tmp_path: Path) -> None:
    # Given a template with alarms (one behind a false condition), a topic and a dashboard
    path = write(
        tmp_path,
        """
Parameters:
  Email: {Type: String, Default: ""}
Conditions:
  HasEmail: !Not [!Equals [!Ref Email, ""]]
Resources:
  Bucket: {Type: AWS::S3::Bucket}
  Topic: {Type: AWS::SNS::Topic}
  Subscription:
    Type: AWS::SNS::Subscription
    Condition: HasEmail
    Properties: {Protocol: email, Endpoint: !Ref Email, TopicArn: !Ref Topic}
  AlarmOne: {Type: AWS::CloudWatch::Alarm}
  AlarmTwo: {Type: AWS::CloudWatch::Alarm}
  Board: {Type: AWS::CloudWatch::Dashboard}
""",
    )

    # When it is loaded, without and with the condition holding
    plain = load_template(path)
    with_email = load_template(path, {"Email": "ops@example.com"})

    # Then each kind left out is named once, with its count; the bucket is emulated
    assert plain.ignored == {
        "AWS::CloudWatch::Alarm": 2,
        "AWS::CloudWatch::Dashboard": 1,
        "AWS::SNS::Topic": 1,
    }
    assert plain.ignored_note == (
        "not emulated, left out: AWS::CloudWatch::Alarm x2, AWS::CloudWatch::Dashboard, "
        "AWS::SNS::Topic"
    )
    assert with_email.ignored["AWS::SNS::Subscription"] == 1
    assert load_template(write(tmp_path, MINIMAL)).ignored_note is None


def test_the_project_template_leaves_out_its_alarms_unless_they_are_off() -> None:
    # Given the project's template, with alarms on (the default) and off
    on = load_template(REPO_ROOT / "template.yaml")
    off = load_template(REPO_ROOT / "template.yaml", {"EnableAlarms": "false"})

    # Then the alarms, the topic and the dashboard are left out, and nothing emulated is
    assert on.ignored["AWS::CloudWatch::Alarm"] > 40
    assert {"AWS::SNS::Topic", "AWS::CloudWatch::Dashboard"} <= set(on.ignored)
    assert "AWS::CloudWatch::Alarm" not in off.ignored
    assert "AWS::SNS::Topic" not in off.ignored
    assert not {"AWS::Serverless::Function", "AWS::DynamoDB::Table"} & set(on.ignored)
