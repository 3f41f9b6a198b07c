"""Many requests for one thing at the same moment: each does its work once, all answer
alike, and nothing is overwritten. Every request runs on its own thread in its own
Lambda instance; the AWS calls are counted on the instances' real clients."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from queue import Queue
from typing import Any

from tests.faults.injector import clients_of
from tests.faults.world import World
from tests.integration.conftest import Answer, LambdaContext, load_handler
from tests.support.events import load_event


def instances(world: World, name: str, count: int) -> list[Any]:
    """`count` Lambda instances of one function, their clients watched by the injector."""
    modules = [load_handler(name) for _ in range(count)]
    for module in modules:
        for client in clients_of(module.service):
            world.injector.attach(client)
    return modules


def at_once(modules: list[Any], events: list[dict[str, Any]]) -> list[Answer]:
    """The events on as many threads as there are instances, released together; an
    instance handles one event at a time, as on Lambda. Answers in the events' order."""
    free: Queue[Any] = Queue()
    for module in modules:
        free.put(module)
    start = threading.Barrier(len(modules))

    def handle(event: dict[str, Any]) -> Answer:
        module = free.get()
        try:
            raw = module.lambda_handler(event, LambdaContext())
        finally:
            free.put(module)
        return Answer(raw["statusCode"], raw.get("headers", {}), raw.get("body"))

    def first(event: dict[str, Any]) -> Answer:
        start.wait()
        return handle(event)

    with ThreadPoolExecutor(len(modules)) as pool:
        firsts = list(pool.map(first, events[: len(modules)]))
        return firsts + list(pool.map(handle, events[len(modules) :]))


def calls(world: World) -> Counter[str]:
    return Counter(call.operation for call in world.injector.calls)


def test_twenty_concurrent_completes_complete_once_and_answer_alike(world: World):
    # Given an upload whose part is in S3, and 20 instances of complete
    caller = world.new_case()
    upload = world.init(caller)
    world.put_part(upload)
    modules = instances(world, "upload_complete", 20)
    event = load_event("upload_complete", path_parameters={"upload_id": upload["upload_id"]})
    event["requestContext"]["authorizer"] = {"lambda": caller}
    # When all 20 complete it at once
    world.injector.plan(None)
    answers = at_once(modules, [event] * 20)
    # Then S3 completed it once, and every caller has the same answer
    assert calls(world)["CompleteMultipartUpload"] == 1
    assert {a.status for a in answers} == {200}, [a.body for a in answers]
    assert len({a.body for a in answers}) == 1
    assert world.broken(caller["client_id"], settled=True) == []


def test_twenty_concurrent_confirms_copy_once_and_answer_alike(world: World):
    # Given a draft whose bytes are uploaded, and 20 instances of confirm
    caller = world.new_case()
    draft = world.draft(caller)
    modules = instances(world, "draft_confirm", 20)
    event = load_event("draft_confirm", path_parameters={"draft_id": draft["draft_id"]})
    event["requestContext"]["authorizer"] = {"lambda": caller}
    # When all 20 confirm it at once
    world.injector.plan(None)
    answers = at_once(modules, [event] * 20)
    # Then it was copied once, and every caller has the same answer
    assert calls(world)["CopyObject"] == 1
    assert {a.status for a in answers} == {200}, [a.body for a in answers]
    assert len({a.body for a in answers}) == 1
    assert world.broken(caller["client_id"], settled=True) == []
    gone = world.s3.list_objects_v2(Bucket=world.drafts, Prefix=draft["upload"]["fields"]["key"])
    assert gone["KeyCount"] == 0


def test_fifty_concurrent_inits_of_one_name_get_fifty_keys_and_keep_fifty_files(world: World):
    # Given 50 instances of init, 10 of complete, and one client
    caller = world.new_case()
    inits, completes = instances(world, "upload_init", 50), instances(world, "upload_complete", 10)
    body = {"file_name": "same.txt", "size": 9}
    event = load_event("upload_init", body=body, caller=caller)
    # When 50 uploads of the same name start at once, and then all complete, ten at a
    # time, each with bytes of its own
    answers = at_once(inits, [event] * 50)
    plans = [world.init_answer(answer) for answer in answers]
    for n, plan in enumerate(plans):
        world.put_part(plan, f"file {n:04}".encode())
    done = at_once(
        completes,
        [
            load_event(
                "upload_complete", path_parameters={"upload_id": p["upload_id"]}, caller=caller
            )
            for p in plans
        ],
    )
    # Then 50 keys, and each holds the bytes of its own upload
    keys = [plan["key"] for plan in plans]
    assert len(set(keys)) == 50, sorted(keys)
    assert {a.status for a in done} == {200}, [a.body for a in done if a.status != 200]
    for n, key in enumerate(keys):
        stored = world.s3.get_object(Bucket=world.files, Key=key)
        assert stored["Body"].read() == f"file {n:04}".encode()
        assert stored["Metadata"]["upload"] == plans[n]["upload_id"]
    assert world.broken(caller["client_id"], settled=True, data=None) == []
