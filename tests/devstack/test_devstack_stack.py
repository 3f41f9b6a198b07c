"""LocalStack's lifecycle, the development identity, seeding and moto resources."""

from __future__ import annotations

import json
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from devstack.__main__ import find_seed, write_info
from devstack.stack import LocalStack

FIXTURES = Path(__file__).parent / "fixtures"
NO_AUTH = FIXTURES / "template_noauth.yaml"


@pytest.fixture
def no_auth_stack() -> Iterator[LocalStack]:
    with LocalStack(root=FIXTURES, template=NO_AUTH) as stack:
        yield stack


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def test_moto_resources_come_from_the_template() -> None:
    # Given the fixture template's bucket and table definitions
    # When the stack starts
    with LocalStack(root=FIXTURES) as stack:
        s3, dynamodb = stack.s3(), stack.dynamodb()
        cors = s3.get_bucket_cors(Bucket="stowage-local-filesbucket")["CORSRules"]
        lifecycle = s3.get_bucket_lifecycle_configuration(Bucket="stowage-local-filesbucket")
        table = dynamodb.describe_table(TableName="stowage-local-UploadsTable")["Table"]
        ttl = dynamodb.describe_time_to_live(TableName="stowage-local-UploadsTable")

    # Then moto holds them as the template describes them
    assert cors[0]["ExposeHeaders"] == ["ETag"]
    assert cors[0]["AllowedOrigins"] == [
        "https://app.example.com",
        "https://admin.example.com",
    ]
    assert lifecycle["Rules"][0]["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 3}
    assert [index["IndexName"] for index in table["GlobalSecondaryIndexes"]] == ["by_client_status"]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert ttl["TimeToLiveDescription"] == {
        "TimeToLiveStatus": "ENABLED",
        "AttributeName": "ttl",
    }


def test_without_authorizers_every_route_gets_the_development_identity(
    no_auth_stack: LocalStack,
) -> None:
    # Given a template with no authorizer at all
    # When a route is called without any key
    response = requests.get(no_auth_stack.url + "/items/1", timeout=30)

    # Then the development identity is in the event, and the key is "dev"
    assert response.status_code == 200
    assert response.json()["event"]["requestContext"]["authorizer"]["lambda"] == {
        "client_id": "dev",
        "role": "user",
        "key_prefix": "",
        "max_file_size": 1048576,
        "act_as": False,
    }
    assert no_auth_stack.api_key == "dev"


def test_the_development_identity_is_configurable() -> None:
    # Given a custom identity
    identity = {"client_id": "admin-dev", "role": "admin"}

    # When the stack is started with it
    with LocalStack(root=FIXTURES, template=NO_AUTH, dev_identity=identity) as stack:
        response = requests.get(stack.url + "/items/1", timeout=30)

    # Then the handler gets it
    assert response.json()["event"]["requestContext"]["authorizer"]["lambda"] == identity


def test_a_seed_runs_against_the_started_stack_and_gives_the_api_key() -> None:
    # Given a seed that writes a client to the table and returns its key
    def seed(stack: LocalStack) -> str:
        table = stack.table_name("ClientsTable")
        stack.dynamodb().put_item(TableName=table, Item={"key_hash": {"S": "h"}})
        return "key-123"

    # When the stack starts with it
    with LocalStack(root=FIXTURES, template=NO_AUTH, seed=seed) as stack:
        item = stack.dynamodb().get_item(
            TableName="stowage-local-ClientsTable", Key={"key_hash": {"S": "h"}}
        )

        # Then the seed saw a running stack, and its key is the stack's key
        assert stack.api_key == "key-123"
        assert "Item" in item


def test_start_stop_twice_on_the_same_ports(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given no AWS endpoint in the environment, and a first stack that leaves state
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    first = LocalStack(root=FIXTURES, template=NO_AUTH).start()
    port, s3_port = (
        int(first.url.rsplit(":", 1)[1]),
        int(first.s3_endpoint.rsplit(":", 1)[1]),
    )
    first.s3().put_object(Bucket="stowage-local-filesbucket", Key="left-over", Body=b"x")
    url = first.url
    first.stop()

    # When it has stopped
    # Then its ports are free, its environment is gone, and nothing answers
    assert port_is_free(port) and port_is_free(s3_port)
    assert "AWS_ENDPOINT_URL" not in os.environ
    with pytest.raises(requests.ConnectionError):
        requests.get(url + "/items/1", timeout=5)

    # When a second stack starts on the same ports
    with LocalStack(root=FIXTURES, template=NO_AUTH, port=port, s3_port=s3_port) as second:
        response = requests.get(second.url + "/items/1", timeout=30)
        objects = second.s3().list_objects_v2(Bucket="stowage-local-filesbucket")

        # Then it serves, with fresh, empty resources
        assert second.url == url
        assert response.status_code == 200
        assert objects.get("KeyCount") == 0


def test_stop_does_not_wait_for_idle_keep_alive_connections() -> None:
    # Given a client holding a keep-alive connection open
    stack = LocalStack(root=FIXTURES, template=NO_AUTH).start()
    session = requests.Session()
    assert session.get(stack.url + "/items/1", timeout=30).status_code == 200

    # When the stack stops while the connection is still open (on a helper thread, so a
    # stop that waits for the client fails the test)
    stopper = threading.Thread(target=stack.stop, daemon=True)
    stopper.start()
    stopper.join(30)

    # Then it returned without waiting for the client to close it
    assert not stopper.is_alive(), "stop() waited for an idle keep-alive connection"
    session.close()


def test_only_one_stack_runs_at_a_time(no_auth_stack: LocalStack) -> None:
    # Given a running stack
    # When another one starts in the same process
    # Then it is refused (moto state, environment and sys.path are process-wide)
    with pytest.raises(RuntimeError, match="already running"):
        LocalStack(root=FIXTURES, template=NO_AUTH).start()
    assert no_auth_stack.started


def test_a_busy_port_fails_fast() -> None:
    # Given a port someone else listens on
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]

        # When a stack is asked to use it for either server
        # Then start() fails instead of hanging, and nothing is left running
        for stack in (
            LocalStack(root=FIXTURES, template=NO_AUTH, s3_port=port),
            LocalStack(root=FIXTURES, template=NO_AUTH, port=port),
        ):
            with pytest.raises(OSError):
                stack.start()
            assert not stack.started


def test_main_helpers(tmp_path: Path, no_auth_stack: LocalStack) -> None:
    # Given a running stack and no devstack.seed module (until one is written)
    info = tmp_path / "dev.json"

    # When the info file is written
    write_info(no_auth_stack, info)

    # Then it names the URL, key and S3 endpoint
    assert json.loads(info.read_text()) == {
        "url": no_auth_stack.url,
        "api_key": "dev",
        "s3_endpoint": no_auth_stack.s3_endpoint,
    }
    seed = find_seed()
    assert seed is None or callable(seed)


def test_what_is_not_emulated_is_said_once_at_start(capfd: pytest.CaptureFixture[str]) -> None:
    # Given the project's template, which has alarms, a topic and a dashboard
    # When a stack starts and stops
    with LocalStack():
        pass
    said = capfd.readouterr().err.splitlines()

    # Then one line names what is left out, before anything else runs
    notes = [line for line in said if "not emulated" in line]
    assert len(notes) == 1
    assert "AWS::CloudWatch::Alarm x" in notes[0]
    assert "AWS::CloudWatch::Dashboard" in notes[0] and "AWS::SNS::Topic" in notes[0]
