"""Scheduled functions: parsing, the local EventBridge, LocalStack.invoke and the CLI."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devstack.__main__ import announce_schedules, main, schedule_seconds, write_info
from devstack.runtime import InvocationError
from devstack.schedule import scheduled_event
from devstack.stack import REPO_ROOT, LocalStack
from devstack.template import ScheduleSpec, TemplateError, load_template

FIXTURES = Path(__file__).parent / "fixtures"
SCHEDULED = FIXTURES / "template_schedule.yaml"
RFC3339_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
RULE_ARN = "arn:aws:events:us-east-1:123456789012:rule/stowage-local-TickerEveryFiveMinutes"


@pytest.fixture
def stack() -> Iterator[LocalStack]:
    """The scheduled fixture stack, without a scheduler (the default)."""
    with LocalStack(root=FIXTURES, template=SCHEDULED) as running:
        yield running


def calls(stack: LocalStack, function: str) -> list[Any]:
    """The events `function` recorded in the calls table, oldest first."""
    table = stack.table_name("CallsTable")
    items = stack.dynamodb().scan(TableName=table, ConsistentRead=True)["Items"]
    mine = [item for item in items if item["function"]["S"] == f"stowage-local-{function}"]
    mine.sort(key=lambda item: float(item["at"]["N"]))
    return [json.loads(item["event"]["S"]) for item in mine]


def wait_for(condition: Any, seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def scheduler_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == "devstack-scheduler"]


def write(tmp_path: Path, events: str) -> Path:
    """A template with one function `Fn` whose Events are `events`."""
    path = tmp_path / "template.yaml"
    path.write_text(
        "Resources:\n"
        "  Fn:\n"
        "    Type: AWS::Serverless::Function\n"
        "    Properties:\n"
        "      CodeUri: fn/\n"
        "      Handler: app.handler\n"
        "      Events:\n" + events,
        encoding="utf-8",
    )
    return path


def one_schedule(tmp_path: Path, kind: str, properties: str) -> ScheduleSpec:
    events = f"        Tick:\n          Type: {kind}\n          Properties: {properties}\n"
    (schedule,) = load_template(write(tmp_path, events)).function("Fn").schedules
    return schedule


# ------------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    ("expression", "seconds"),
    [
        ("rate(1 minute)", 60),
        ("rate(15 minutes)", 900),
        ("rate(1 hour)", 3600),
        ("rate(6 hours)", 21600),
        ("rate(1 day)", 86400),
        ("rate(7 days)", 604800),
    ],
)
def test_a_rate_is_read_in_seconds(tmp_path: Path, expression: str, seconds: int) -> None:
    # Given a Schedule event with a rate
    # When the template is loaded
    schedule = one_schedule(tmp_path, "Schedule", f"{{Schedule: {expression}}}")

    # Then the rate is in seconds and the expression kept as written
    assert schedule.rate_seconds == seconds
    assert schedule.expression == expression
    assert schedule.enabled and not schedule.scheduler and schedule.input is None


def test_the_fixture_template_schedules() -> None:
    # Given the fixture template (a rule from a parameter, a Scheduler cron with
    # Input, a disabled rule, a Scheduler rate)
    # When it is loaded
    spec = load_template(SCHEDULED)
    ticker, nightly = spec.function("Ticker"), spec.function("Nightly")
    paused, broken = spec.function("Paused"), spec.function("Broken")

    # Then each function has its schedule, resolved
    assert ticker.schedules == [
        ScheduleSpec(
            name="EveryFiveMinutes",
            expression="rate(5 minutes)",
            enabled=True,
            rate_seconds=300,
            arn=RULE_ARN,
        )
    ]
    assert nightly.schedules == [
        ScheduleSpec(
            name="AtTwo",
            expression="cron(0 2 * * ? *)",
            enabled=True,
            rate_seconds=None,
            arn="arn:aws:scheduler:us-east-1:123456789012:schedule/default/stowage-local-NightlyAtTwo",
            scheduler=True,
            input='{"job": "nightly", "dry_run": false}',
        )
    ]
    assert [schedule.enabled for schedule in paused.schedules] == [False]
    assert [schedule.rate_seconds for schedule in broken.schedules] == [60]
    assert ticker.routes == [] and spec.api is None


def test_a_cron_from_a_parameter_is_kept_as_text() -> None:
    # Given the schedule parameter overridden with a cron expression
    # When the template is loaded
    spec = load_template(SCHEDULED, {"TickSchedule": "cron(0 * * * ? *)"})

    # Then the cron is kept as it is, with no rate
    (schedule,) = spec.function("Ticker").schedules
    assert (schedule.expression, schedule.rate_seconds) == ("cron(0 * * * ? *)", None)


def test_schedule_v2_with_name_group_disabled_state_and_at(tmp_path: Path) -> None:
    # Given a ScheduleV2 event with its own name and group, disabled, one-time
    properties = (
        "{ScheduleExpression: 'at(2026-01-31T12:00:00)', State: DISABLED,"
        " Name: purge, GroupName: maintenance}"
    )

    # When the template is loaded
    schedule = one_schedule(tmp_path, "ScheduleV2", properties)

    # Then the Scheduler's ARN uses them, and the schedule is not enabled
    assert schedule.arn == "arn:aws:scheduler:us-east-1:123456789012:schedule/maintenance/purge"
    assert schedule.scheduler and not schedule.enabled and schedule.rate_seconds is None


@pytest.mark.parametrize(
    ("properties", "enabled"),
    [
        ("{Schedule: rate(1 day), Enabled: false}", False),
        ("{Schedule: rate(1 day), Enabled: 'False'}", False),
        ("{Schedule: rate(1 day), Enabled: 'true'}", True),
        ("{Schedule: rate(1 day), State: DISABLED}", False),
        ("{Schedule: rate(1 day), State: ENABLED}", True),
        ("{Schedule: rate(1 day)}", True),
    ],
)
def test_enabled_and_state(tmp_path: Path, properties: str, enabled: bool) -> None:
    # Given a Schedule event switched on or off either way
    # When the template is loaded
    # Then the switch is read
    assert one_schedule(tmp_path, "Schedule", properties).enabled is enabled


@pytest.mark.parametrize(
    ("kind", "properties", "message"),
    [
        ("Schedule", "{Schedule: rate(0 minutes)}", "at least 1"),
        ("Schedule", "{Schedule: rate(1 minutes)}", r"only accepts rate\(1 minute\)"),
        ("Schedule", "{Schedule: rate(5 hour)}", r"only accepts rate\(5 hours\)"),
        ("Schedule", "{Schedule: rate(2 weeks)}", "is not rate"),
        ("Schedule", "{Schedule: rate(five minutes)}", "is not rate"),
        ("Schedule", "{Schedule: every hour}", "not a schedule expression"),
        ("Schedule", "{Schedule: 'cron(0 * * *)'}", "six fields"),
        ("Schedule", "{Schedule: 'cron(0 12 * * MON *)'}", "exactly one of day-of-month"),
        ("Schedule", "{Schedule: 'cron(0 12 ? * ? *)'}", "exactly one of day-of-month"),
        ("Schedule", "{Schedule: 'at(2026-01-31T12:00:00)'}", r"use rate\(...\) or cron"),
        ("ScheduleV2", "{ScheduleExpression: 'at(tomorrow)'}", "yyyy-mm-ddThh:mm:ss"),
        ("ScheduleV2", "{Schedule: rate(1 day)}", "ScheduleExpression must be"),
        ("Schedule", "{Description: no expression}", "Schedule must be"),
        ("Schedule", "{Schedule: rate(1 day), Enabled: true, State: ENABLED}", "both"),
        ("Schedule", "{Schedule: rate(1 day), State: PAUSED}", "State 'PAUSED'"),
        ("Schedule", "{Schedule: rate(1 day), Enabled: maybe}", "true or false"),
        ("Schedule", "{Schedule: rate(1 day), Input: '{not json'}", "Input is not JSON"),
        ("Schedule", "{Schedule: rate(1 day), Input: {a: 1}}", "Input must be JSON text"),
    ],
)
def test_bad_schedules_are_refused(
    tmp_path: Path, kind: str, properties: str, message: str
) -> None:
    # Given a schedule EventBridge (or SAM) would refuse
    # When the template is loaded
    # Then it fails, naming the function, the event and what is wrong
    with pytest.raises(TemplateError, match=message) as error:
        one_schedule(tmp_path, kind, properties)
    assert str(error.value).startswith("Fn event Tick: ")


# ------------------------------------------------------------------- payloads


def test_a_rule_sends_a_scheduled_event_and_the_scheduler_its_own() -> None:
    # Given a rule, a Scheduler schedule, and one with Input
    spec = load_template(SCHEDULED)
    (rule,) = spec.function("Ticker").schedules
    scheduler = ScheduleSpec("S", "rate(1 day)", True, 86400, "arn:s", scheduler=True)
    (with_input,) = spec.function("Nightly").schedules

    # When their events are built twice
    first, second = scheduled_event(rule, "us-east-1"), scheduled_event(rule, "us-east-1")
    from_scheduler = scheduled_event(scheduler, "us-east-1")

    # Then a rule's is EventBridge's Scheduled Event, with a new id each time
    assert set(first) == {
        "version",
        "id",
        "detail-type",
        "source",
        "account",
        "time",
        "region",
        "resources",
        "detail",
    }
    assert first["id"] != second["id"] and uuid.UUID(first["id"])
    assert RFC3339_UTC.fullmatch(first["time"])
    assert (first["source"], first["resources"], first["detail"]) == ("aws.events", [RULE_ARN], {})
    # the Scheduler's says so, and its detail is the text "{}"
    assert from_scheduler["source"] == "aws.scheduler"
    assert (from_scheduler["resources"], from_scheduler["detail"]) == (["arn:s"], "{}")
    # and Input replaces the whole event
    assert scheduled_event(with_input, "us-east-1") == {"job": "nightly", "dry_run": False}


# ------------------------------------------------------------------ scheduler


def test_the_scheduler_fires_every_enabled_schedule_again_and_again(
    capfd: pytest.CaptureFixture[str],
) -> None:
    # Given the scheduled stack with a 0.2 s dev interval
    with LocalStack(root=FIXTURES, template=SCHEDULED, schedule_seconds=0.2) as stack:
        # When a few intervals pass
        wait_for(lambda: len(calls(stack, "Ticker")) >= 3 and len(calls(stack, "Nightly")) >= 3)
        ticks, nightly, paused = (calls(stack, name) for name in ("Ticker", "Nightly", "Paused"))

    # Then the rule's function got a fresh Scheduled Event each time
    assert all(tick["detail-type"] == "Scheduled Event" for tick in ticks)
    assert all(tick["source"] == "aws.events" and tick["detail"] == {} for tick in ticks)
    assert all(tick["resources"] == [RULE_ARN] for tick in ticks)
    assert all(
        tick["account"] == "123456789012" and tick["region"] == "us-east-1" for tick in ticks
    )
    assert all(RFC3339_UTC.fullmatch(tick["time"]) for tick in ticks)
    assert len({tick["id"] for tick in ticks}) == len(ticks)
    # the Scheduler's function got its Input, the disabled one nothing
    assert all(event == {"job": "nightly", "dry_run": False} for event in nightly)
    assert paused == []
    # and the broken function's failures were logged without stopping the others
    err = capfd.readouterr().err
    assert "schedule Broken.EveryMinute failed: RuntimeError: secret internal detail" in err
    assert "schedule Ticker.EveryFiveMinutes ran in" in err


def test_without_schedule_seconds_nothing_fires(stack: LocalStack) -> None:
    # Given a started stack with scheduled functions but no schedule_seconds
    # Then no scheduler thread exists (nothing else fires schedules) and no function ran
    assert scheduler_threads() == []
    assert calls(stack, "Ticker") == [] and calls(stack, "Nightly") == []


@pytest.mark.parametrize("interval", [0.05, 60.0])
def test_stop_joins_the_scheduler_promptly(interval: float) -> None:
    # Given a stack firing often, or waiting a long interval
    stack = LocalStack(root=FIXTURES, template=SCHEDULED, schedule_seconds=interval).start()
    (thread,) = scheduler_threads()
    if interval < 1:  # stop it mid-rhythm: once it has fired
        wait_for(lambda: calls(stack, "Ticker") != [])

    # When it stops (on a helper thread, so a stop that hangs fails the test)
    stopper = threading.Thread(target=stack.stop, daemon=True)
    stopper.start()
    stopper.join(5)

    # Then the scheduler thread has ended, without waiting out the interval
    assert not stopper.is_alive(), "stop() did not return within 5 s"
    assert not thread.is_alive() and scheduler_threads() == []


def test_a_bad_schedule_interval_is_refused() -> None:
    # Given a zero interval (make dev means "off" by 0, and passes None)
    # When the stack starts
    # Then it is refused and nothing is left running
    stack = LocalStack(root=FIXTURES, template=SCHEDULED, schedule_seconds=0)
    with pytest.raises(ValueError, match="must be positive"):
        stack.start()
    assert not stack.started and scheduler_threads() == []


# -------------------------------------------------------------------- invoke


def test_invoke_runs_a_function_once_with_its_scheduled_event(stack: LocalStack) -> None:
    # Given a running stack without a scheduler
    # When functions are invoked by hand
    tick = stack.invoke("Ticker")
    nightly = stack.invoke("Nightly")
    paused = stack.invoke("Paused", {"by": "hand"})

    # Then each ran once against moto, with its schedule's event or the one given
    assert tick["event"]["source"] == "aws.events"
    assert tick["event"]["resources"] == [RULE_ARN]
    assert tick["endpoint"] == stack.s3_endpoint
    assert nightly["event"] == {"job": "nightly", "dry_run": False}
    assert paused["event"] == {"by": "hand"}  # a disabled schedule still runs by hand
    assert calls(stack, "Ticker") == [tick["event"]]
    assert calls(stack, "Paused") == [{"by": "hand"}]


def test_invoke_reports_failures_and_unknown_functions(stack: LocalStack) -> None:
    # Given a running stack
    # When a failing function and a missing one are invoked
    # Then the failure is Lambda's error, and the unknown id a template error
    with pytest.raises(InvocationError, match="secret internal detail"):
        stack.invoke("Broken")
    with pytest.raises(TemplateError, match="no function Nope"):
        stack.invoke("Nope")


def test_invoke_needs_a_started_stack() -> None:
    with pytest.raises(RuntimeError, match="start the LocalStack first"):
        LocalStack(root=FIXTURES, template=SCHEDULED).invoke("Ticker")


# ------------------------------------------------------------------------ CLI


def cli(*args: str | Path) -> list[str]:
    return ["invoke", *map(str, args), "--template", str(SCHEDULED)]


def test_the_invoke_command_runs_against_the_running_stack(
    stack: LocalStack, tmp_path: Path
) -> None:
    # Given a running stack and its info file
    info = tmp_path / "dev.json"
    write_info(stack, info)

    # When `python -m devstack invoke` runs in a fresh process with no AWS settings
    done = subprocess.run(
        [sys.executable, "-m", "devstack", *cli("Ticker", "--info", info)],
        cwd=REPO_ROOT,
        env={"PATH": os.environ["PATH"], "HOME": str(tmp_path), "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    # Then it ran the function against that stack's moto and printed its answer,
    # alone on stdout (the function's log line went to stderr)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert '"message": "recorded"' in done.stderr
    assert answer["endpoint"] == stack.s3_endpoint
    assert answer["table"] == "stowage-local-CallsTable"
    assert answer["event"]["detail-type"] == "Scheduled Event"
    assert calls(stack, "Ticker") == [answer["event"]]


def test_the_invoke_command_takes_an_event_file(
    stack: LocalStack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a running stack, its info file and an event file
    info, event = tmp_path / "dev.json", tmp_path / "event.json"
    write_info(stack, info)
    event.write_text('{"dry_run": true}', encoding="utf-8")

    # When the command runs with --event
    code = main(cli("Nightly", "--info", info, "--event", event))

    # Then the function got that event instead of its Input
    assert code == 0
    assert json.loads(capsys.readouterr().out)["event"] == {"dry_run": True}
    assert calls(stack, "Nightly") == [{"dry_run": True}]


def test_the_invoke_command_exits_1_when_the_function_fails(
    stack: LocalStack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    info = tmp_path / "dev.json"
    write_info(stack, info)

    code = main(cli("Broken", "--info", info))

    captured = capsys.readouterr()
    assert code == 1 and captured.out == ""
    assert "Broken failed: RuntimeError: secret internal detail" in captured.err


def test_the_invoke_command_needs_a_running_stack(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given no info file, then one pointing at a port nobody listens on
    missing = tmp_path / "missing.json"
    stale = tmp_path / "stale.json"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    stale.write_text(json.dumps({"s3_endpoint": f"http://127.0.0.1:{port}"}), encoding="utf-8")

    # When the command runs
    # Then it exits 2 with a message saying what to do
    assert main(cli("Ticker", "--info", missing)) == 2
    assert "missing.json not found: start the stack with `make dev`" in capsys.readouterr().err
    assert main(cli("Ticker", "--info", stale)) == 2
    assert f"nothing answers at http://127.0.0.1:{port}" in capsys.readouterr().err


def test_the_invoke_command_refuses_an_unknown_function_or_a_bad_event(
    stack: LocalStack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    info, event = tmp_path / "dev.json", tmp_path / "event.json"
    write_info(stack, info)
    event.write_text("{nope", encoding="utf-8")

    assert main(cli("Nope", "--info", info)) == 2
    assert "no function Nope" in capsys.readouterr().err
    assert main(cli("Ticker", "--info", info, "--event", event)) == 2
    assert "event.json is not JSON" in capsys.readouterr().err
    assert calls(stack, "Ticker") == []


# ------------------------------------------------------------------- make dev


def test_schedule_seconds_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SCHEDULE_SECONDS", raising=False)
    assert schedule_seconds() == 300
    monkeypatch.setenv("SCHEDULE_SECONDS", "2.5")
    assert schedule_seconds() == 2.5
    monkeypatch.setenv("SCHEDULE_SECONDS", "0")
    assert schedule_seconds() is None
    for bad in ("soon", "-1", "nan"):
        monkeypatch.setenv("SCHEDULE_SECONDS", bad)
        with pytest.raises(SystemExit, match="SCHEDULE_SECONDS"):
            schedule_seconds()


def test_make_dev_announces_the_schedules(
    stack: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the scheduled stack
    # When make dev announces it with an interval, then without one
    announce_schedules(stack, 300)
    running = capsys.readouterr().out.splitlines()
    announce_schedules(stack, None)
    off = capsys.readouterr().out.splitlines()

    # Then every schedule is listed with how often it runs here
    assert running == [
        "Schedule:    Ticker (EveryFiveMinutes: rate(5 minutes)) runs every 300 s here",
        "Schedule:    Nightly (AtTwo: cron(0 2 * * ? *)) runs every 300 s here",
        "Schedule:    Paused (Hourly: rate(1 hour)) is disabled in the template",
        "Schedule:    Broken (EveryMinute: rate(1 minute)) runs every 300 s here",
    ]
    assert off[0] == (
        "Schedule:    Ticker (EveryFiveMinutes: rate(5 minutes)) is off (SCHEDULE_SECONDS=0)"
    )
