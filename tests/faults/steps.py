"""Every step that talks to DynamoDB or S3, as a table: how to prepare it for a fresh
client, the event that takes it, and what a correct answer and a retry look like."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from stowage.errors import StowageError
from tests.faults.world import DATA, World, sha256
from tests.integration.conftest import Answer, LambdaContext
from tests.support.events import load_event

Prepared = tuple[dict[str, Any], dict[str, Any]]
"""The event of the step, and what the step's own checks need to know."""
RETRY_LATER = frozenset({"DATABASE_ERROR", "STORAGE_ERROR"})


@dataclass(frozen=True)
class Step:
    name: str
    handler: str
    ok: int
    prepare: Callable[[World, dict[str, Any]], Prepared]
    retry_ok: tuple[int, ...] = ()
    """Statuses a retry may also answer (a delete retried after it succeeded: 404)."""
    same_answer: bool = False
    """A retry after a correct answer answers the same (complete, confirm)."""
    settle: Callable[[World, dict[str, Any]], list[str]] = lambda _world, _info: []
    """What must hold once the retry is done, beyond the general checks."""
    failed: frozenset[str] = field(default=RETRY_LATER)
    from_call: int = 0
    """The first call to fail: the ones before it are the same calls of the same code as
    in another step, failed there already (a backup's complete begins as any complete)."""

    def invoke(self, world: World, event: dict[str, Any]) -> Answer:
        return world.call(self.handler, event)


@dataclass(frozen=True)
class CleanupStep(Step):
    """The cleanup answers a report; a failure counted in it (retried next run) or a
    raised DATABASE_ERROR/STORAGE_ERROR (the invocation fails, the schedule retries) are
    both a failure reported correctly."""

    def invoke(self, world: World, event: dict[str, Any]) -> Answer:
        module = world.module(self.handler)
        try:
            report = module.lambda_handler(event, LambdaContext(function_name=self.handler))
        except StowageError as exc:
            return Answer(502, {}, exc.to_body())
        if report["uploads_failed"] or report["drafts_failed"]:
            return Answer(502, {}, {"error": {"code": "COUNTED", "message": json.dumps(report)}})
        return Answer(200, {}, report)


def upload_path(upload: dict[str, Any]) -> dict[str, str]:
    return {"upload_id": upload["upload_id"]}


def backup(iteration: int, **more: Any) -> dict[str, Any]:
    return {"kind": "backup", "app": "notes", "iteration": iteration, "size": len(DATA)} | more


def stored_backup(world: World, caller: dict[str, Any]) -> None:
    world.store(caller, app="notes", iteration=1)


# --- uploads ---------------------------------------------------------------------------
def prepare_init(world: World, caller: dict[str, Any]) -> Prepared:
    body = {"file_name": "f.bin", "size": len(DATA)}
    return load_event("upload_init", body=body, caller=caller), {}


def prepare_init_duplicate(world: World, caller: dict[str, Any]) -> Prepared:
    stored_backup(world, caller)
    return load_event("upload_init", body=backup(2, sha256=sha256()), caller=caller), {}


def prepare_parts(world: World, caller: dict[str, Any]) -> Prepared:
    upload = world.init(caller)
    body = {"part_numbers": [1]}
    path = upload_path(upload)
    return load_event("upload_parts", body=body, path_parameters=path, caller=caller), upload


def prepare_uploaded(name: str, **body: Any) -> Callable[[World, dict[str, Any]], Prepared]:
    """An upload whose one part is in S3, and the event `name` of it."""

    def prepare(world: World, caller: dict[str, Any]) -> Prepared:
        upload = world.init(caller, **body)
        world.put_part(upload)
        return load_event(name, path_parameters=upload_path(upload), caller=caller), upload

    return prepare


def prepare_complete_duplicate(world: World, caller: dict[str, Any]) -> Prepared:
    """A backup whose bytes the user's previous backup already holds."""
    stored_backup(world, caller)
    return prepare_uploaded("upload_complete", **backup(2))(world, caller)


def prepare_cancel(world: World, caller: dict[str, Any]) -> Prepared:
    upload = world.init(caller)
    return load_event("upload_cancel", path_parameters=upload_path(upload), caller=caller), upload


def prepare_list(world: World, caller: dict[str, Any]) -> Prepared:
    world.init(caller)
    return load_event("upload_list", query={"limit": "10"}, caller=caller), {}


def cancelled(world: World, upload: dict[str, Any]) -> list[str]:
    status = world.record(upload["upload_id"]).get("status")
    return [] if status == "cancelled" else [f"the cancelled upload is {status}"]


# --- drafts ----------------------------------------------------------------------------
def prepare_draft_create(world: World, caller: dict[str, Any]) -> Prepared:
    body = {"file_name": "d.txt", "size": len(DATA), "content_type": "text/plain"}
    return load_event("draft_create", body=body, caller=caller), {}


def prepare_draft_create_duplicate(world: World, caller: dict[str, Any]) -> Prepared:
    stored_backup(world, caller)
    return load_event("draft_create", body=backup(2, sha256=sha256()), caller=caller), {}


def prepare_drafted(name: str, **body: Any) -> Callable[[World, dict[str, Any]], Prepared]:
    """A draft whose bytes are uploaded, and the event `name` of it."""

    def prepare(world: World, caller: dict[str, Any]) -> Prepared:
        draft = world.draft(caller, **body)
        path = {"draft_id": draft["draft_id"]}
        return load_event(name, path_parameters=path, caller=caller), draft

    return prepare


def prepare_confirm_duplicate(world: World, caller: dict[str, Any]) -> Prepared:
    stored_backup(world, caller)
    return prepare_drafted("draft_confirm", **backup(2))(world, caller)


def discarded(world: World, draft: dict[str, Any]) -> list[str]:
    problems = []
    if (status := world.record(draft["draft_id"]).get("status")) != "discarded":
        problems.append(f"the discarded draft is {status}")
    if world.s3.list_objects_v2(Bucket=world.drafts, Prefix=f"drafts/{draft['draft_id']}").get(
        "KeyCount"
    ):
        problems.append("the discarded draft's bytes are still there")
    return problems


# --- files -----------------------------------------------------------------------------
def prepare_file(
    name: str, query: dict[str, str] | None = None, method: str | None = None
) -> Callable[[World, dict[str, Any]], Prepared]:
    """A stored file, and the event `name` of it."""

    def prepare(world: World, caller: dict[str, Any]) -> Prepared:
        stored = world.store(caller)
        event = load_event(name, path_parameters={"key": stored["key"]}, query=query, caller=caller)
        if method:
            event["routeKey"] = event["requestContext"]["routeKey"] = f"{method} /v1/files/{{key+}}"
            event["requestContext"]["http"]["method"] = method
        return event, stored

    return prepare


def prepare_delete(world: World, caller: dict[str, Any]) -> Prepared:
    event, stored = prepare_file("file_delete")(world, caller)
    world.kept.discard(stored["key"])
    world.deleted.add(stored["key"])
    return event, stored


def deleted(world: World, stored: dict[str, Any]) -> list[str]:
    return (
        [f"the deleted file {stored['key']!r} is still there"]
        if world.exists(stored["key"])
        else []
    )


def prepare_file_list(world: World, caller: dict[str, Any]) -> Prepared:
    world.store(caller)
    return load_event("file_list", query={"limit": "10"}, caller=caller), {}


def prepare_user(
    name: str, query: dict[str, str], app: str | None = None
) -> Callable[[World, dict[str, Any]], Prepared]:
    """A stored file (a backup of `app`, given one), and the event `name` of its user."""

    def prepare(world: World, caller: dict[str, Any]) -> Prepared:
        world.store(caller, app=app, iteration=1 if app else None)
        path = {"user_id": caller["client_id"]}
        return load_event(name, path_parameters=path, query=query, caller=caller), {}

    return prepare


# --- cleanup ---------------------------------------------------------------------------
def prepare_cleanup(world: World, caller: dict[str, Any]) -> Prepared:
    """An upload and two drafts of this client past their expiry (two, so that a
    DeleteObjects can fail for some of its keys and not others)."""
    upload, drafts = world.init(caller), [world.draft(caller), world.draft(caller)]
    world.expire(upload["upload_id"])
    for draft in drafts:
        world.expire(draft["draft_id"])
    return load_event("cleanup"), {"upload": upload, "drafts": drafts}


def swept(world: World, info: dict[str, Any]) -> list[str]:
    problems = []
    status = world.record(info["upload"]["upload_id"]).get("status")
    if status != "expired":
        problems.append(f"the expired upload is {status} after the next run")
    for draft in info["drafts"]:
        status = world.record(draft["draft_id"]).get("status")
        if status != "expired":
            problems.append(f"the expired draft {draft['draft_id']} is {status} after the next run")
        key = draft["upload"]["fields"]["key"]
        if world.s3.list_objects_v2(Bucket=world.drafts, Prefix=key).get("KeyCount"):
            problems.append(f"the expired draft's bytes {key!r} are still there after the next run")
    return problems


COMPLETED = 4
"""Calls of a complete up to CompleteMultipartUpload: GetItem, ListParts, the claim, itself."""
COPIED = 6
"""Calls of a confirm up to CopyObject: GetItem, HeadObject, the claim, HeadObject of the
key, its reservation, itself."""

STEPS: list[Step] = [
    Step("init", "upload_init", 201, prepare_init),
    Step("init_duplicate_backup", "upload_init", 200, prepare_init_duplicate),
    Step("parts", "upload_parts", 200, prepare_parts),
    Step("status", "upload_status", 200, prepare_uploaded("upload_status")),
    Step("complete", "upload_complete", 200, prepare_uploaded("upload_complete"), same_answer=True),
    Step(
        "complete_backup",
        "upload_complete",
        200,
        prepare_uploaded("upload_complete", **backup(1)),
        same_answer=True,
        from_call=COMPLETED,
    ),
    Step(
        "complete_duplicate_backup",
        "upload_complete",
        200,
        prepare_complete_duplicate,
        same_answer=True,
        from_call=COMPLETED,
    ),
    Step("cancel", "upload_cancel", 200, prepare_cancel, settle=cancelled),
    Step("list_uploads", "upload_list", 200, prepare_list),
    Step("draft_create", "draft_create", 201, prepare_draft_create),
    Step("draft_create_duplicate_backup", "draft_create", 200, prepare_draft_create_duplicate),
    Step("draft_status", "draft_status", 200, prepare_drafted("draft_status")),
    Step("draft_content", "draft_content", 302, prepare_drafted("draft_content")),
    Step("confirm", "draft_confirm", 200, prepare_drafted("draft_confirm"), same_answer=True),
    Step(
        "confirm_backup",
        "draft_confirm",
        200,
        prepare_drafted("draft_confirm", **backup(1)),
        same_answer=True,
        from_call=COPIED,
    ),
    Step(
        "confirm_duplicate_backup",
        "draft_confirm",
        200,
        prepare_confirm_duplicate,
        same_answer=True,
        from_call=COPIED,
    ),
    Step("discard", "draft_discard", 200, prepare_drafted("draft_discard"), settle=discarded),
    Step("download", "download", 302, prepare_file("download")),
    Step("file_info", "download", 200, prepare_file("download", {"info": "true"})),
    Step("file_head", "download", 200, prepare_file("download", method="HEAD")),
    Step("file_delete", "file_delete", 200, prepare_delete, retry_ok=(404,), settle=deleted),
    Step("file_list", "file_list", 200, prepare_file_list),
    Step("latest", "user_latest", 302, prepare_user("user_latest", {"category": "other"})),
    Step("backups", "backup_list", 200, prepare_user("backup_list", {"app": "notes"}, "notes")),
    Step(
        "backup_latest",
        "backup_latest",
        302,
        prepare_user("backup_latest", {"app": "notes"}, "notes"),
    ),
    CleanupStep(
        "cleanup",
        "cleanup",
        200,
        prepare_cleanup,
        settle=swept,
        failed=RETRY_LATER | {"COUNTED"},
    ),
]


# --- tus -------------------------------------------------------------------------------
def tus_event(
    caller: dict[str, Any], method: str, upload_id: str = "", data: bytes = b"", **headers: str
) -> dict[str, Any]:
    """A tus request: PATCH (the sample event) turned into `method`, on `upload_id`."""
    event = load_event("tus", caller=caller)
    route = "/v1/tus/{upload_id}" if upload_id else "/v1/tus/"
    event["routeKey"] = event["requestContext"]["routeKey"] = f"{method} {route}"
    event["rawPath"] = event["requestContext"]["http"]["path"] = f"/v1/tus/{upload_id}"
    event["requestContext"]["http"]["method"] = method
    event["pathParameters"] = {"upload_id": upload_id} if upload_id else {}
    event["headers"] = event["headers"] | headers
    event["body"] = base64.b64encode(data).decode() if data else None
    event["isBase64Encoded"] = bool(data)
    return event


def tus_created(world: World, caller: dict[str, Any], length: int) -> str:
    metadata = "filename " + base64.b64encode(b"t.bin").decode()
    event = tus_event(caller, "POST", **{"upload-length": str(length), "upload-metadata": metadata})
    answer = world.call("tus", event)
    assert answer.status == 201, answer.body
    return str(answer.headers["Location"]).rsplit("/", 1)[1]


def tus_patch(caller: dict[str, Any], upload_id: str, offset: int, data: bytes) -> dict[str, Any]:
    return tus_event(caller, "PATCH", upload_id, data, **{"upload-offset": str(offset)})


def prepare_tus_create(world: World, caller: dict[str, Any]) -> Prepared:
    metadata = "filename " + base64.b64encode(b"t.bin").decode()
    headers = {"upload-length": str(2 * len(DATA)), "upload-metadata": metadata}
    # Without bytes: an append's calls are tus_append's; these are init's and the start's.
    return tus_event(caller, "POST", **headers), {}


def prepare_tus_append(world: World, caller: dict[str, Any]) -> Prepared:
    """A chunk that goes into the incomplete part: tail object, then the offset."""
    upload_id = tus_created(world, caller, 2 * len(DATA))
    return tus_patch(caller, upload_id, 0, DATA), {"upload_id": upload_id}


HALF = len(DATA) // 2


def prepare_tus_last(world: World, caller: dict[str, Any]) -> Prepared:
    """The chunk that reaches Upload-Length: the tail folded into the last part, complete."""
    # The file is DATA, as every file of the world: its first half, then the second.
    upload_id = tus_created(world, caller, len(DATA))
    first = world.call("tus", tus_patch(caller, upload_id, 0, DATA[:HALF]))
    assert first.status == 204, first.body
    return tus_patch(caller, upload_id, HALF, DATA[HALF:]), {"upload_id": upload_id}


def tus_appended(world: World, info: dict[str, Any]) -> list[str]:
    """Exactly the chunk's bytes are held, once: the offset and the tail it names."""
    record = world.record(info["upload_id"])
    if record.get("tus_offset") != len(DATA):
        return [f"the upload is at offset {record.get('tus_offset')}, not {len(DATA)}"]
    key = f"tus/{info['upload_id']}/{len(DATA):020d}"
    held = world.s3.get_object(Bucket=world.drafts, Key=key)["Body"].read()
    return [] if held == DATA else [f"the incomplete part holds {held!r}"]


def tus_stored(world: World, info: dict[str, Any]) -> list[str]:
    """The file is the two chunks, in order, each once."""
    record = world.record(info["upload_id"])
    if record.get("status") != "completed":
        return [f"the finished tus upload is {record.get('status')}"]
    held = world.s3.get_object(Bucket=world.files, Key=record["key"])["Body"].read()
    return [] if held == DATA else [f"the file holds {held!r}"]


def prepare_tus_terminate(world: World, caller: dict[str, Any]) -> Prepared:
    upload_id = tus_created(world, caller, 2 * len(DATA))
    return tus_event(caller, "DELETE", upload_id), {"upload_id": upload_id}


STEPS += [
    Step("tus_create", "tus", 201, prepare_tus_create),
    Step("tus_append", "tus", 204, prepare_tus_append, retry_ok=(409,), settle=tus_appended),
    Step("tus_last", "tus", 204, prepare_tus_last, retry_ok=(409,), settle=tus_stored),
    Step(
        "tus_terminate",
        "tus",
        204,
        prepare_tus_terminate,
        retry_ok=(404,),
        settle=lambda world, info: cancelled(world, info),
    ),
]
