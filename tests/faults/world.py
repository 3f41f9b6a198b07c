"""Where a fault test runs: the handler modules with the injector on their real clients,
moto's buckets and table, the ways to prepare uploads, drafts and files, and the
checks of what must hold whatever failed.

Each case acts as a client of its own, so one case's records never meet another's.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any

import boto3
from botocore.exceptions import ClientError

from devstack.template import StackSpec
from stowage.adapters.dynamodb import from_item, timestamp, to_item
from stowage.domain.catalog import Catalog, IndexEntry, Naming, name_for
from stowage.domain.categories import category_for, content_type_for
from stowage.domain.keys import build_key
from stowage.domain.stored import new_object
from stowage.domain.uploads import new_upload_id
from stowage.domain.waiting import Patience
from stowage.models.identity import Owner
from stowage.wiring import build_catalog
from tests.faults.injector import Injector, clients_of
from tests.integration.conftest import Answer, LambdaContext, load_handler
from tests.support.events import load_event

DATA = b"the bytes of a file that must not be lost"
ACTIVE = {"initiated", "in_progress"}
SHORT_WAIT = Patience(wait=0.5, poll=0.01)
"""A lease held by another request is waited for this long (20 s in production)."""


@dataclass
class World:
    stack: StackSpec
    injector: Injector = field(default_factory=Injector)
    modules: dict[str, ModuleType] = field(default_factory=dict)
    serial: itertools.count[int] = field(default_factory=itertools.count)
    kept: set[str] = field(default_factory=set)
    """Keys of stored files of the current case that must survive it."""
    deleted: set[str] = field(default_factory=set)
    """Keys of stored files the current case deletes on purpose."""
    drafts_seen: set[str] = field(default_factory=set)
    """Drafts of the current case (sessions are found by client, drafts by id)."""

    def new_case(self) -> dict[str, Any]:
        """A caller of its own for the next case, and nothing remembered of the last."""
        self.kept, self.deleted, self.drafts_seen = set(), set(), set()
        return self.new_caller()

    @functools.cached_property
    def s3(self) -> Any:
        """A client of its own, which the injector does not watch."""
        return boto3.client("s3")

    @functools.cached_property
    def dynamodb(self) -> Any:
        return boto3.client("dynamodb")

    def bucket(self, logical_id: str) -> str:
        return next(b.name for b in self.stack.buckets if b.logical_id == logical_id)

    @property
    def files(self) -> str:
        return self.bucket("FilesBucket")

    @property
    def drafts(self) -> str:
        return self.bucket("DraftsBucket")

    @property
    def table(self) -> str:
        return next(t.name for t in self.stack.tables if t.logical_id == "UploadsTable")

    # --- handlers -----------------------------------------------------------------------
    def module(self, name: str, *, fresh: bool = False) -> ModuleType:
        """The handler module, its clients watched by the injector; `fresh` as a new
        container would load it (new clients, so a new retry quota)."""
        if fresh or name not in self.modules:
            module = load_handler(name)
            for client in clients_of(module.service):
                self.injector.attach(client)
            rules = getattr(module.service, "rules", None)
            if hasattr(rules, "patience"):
                module.service.rules = replace(rules, patience=SHORT_WAIT)
            self.modules[name] = module
        return self.modules[name]

    def call(self, name: str, event: dict[str, Any]) -> Answer:
        raw = self.module(name).lambda_handler(event, LambdaContext(function_name=name))
        body = raw.get("body") or ""
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = body
        if isinstance(parsed, dict) and "draft_id" in parsed:
            self.drafts_seen.add(parsed["draft_id"])
        return Answer(raw["statusCode"], raw.get("headers", {}), parsed)

    def new_caller(self) -> dict[str, Any]:
        client_id = f"c{next(self.serial)}"
        return {"client_id": client_id, "role": "user", "key_prefix": "", "max_file_size": 1 << 40}

    # --- preparing ----------------------------------------------------------------------
    def init(self, caller: dict[str, Any], **body: Any) -> dict[str, Any]:
        body = {"file_name": "f.bin", "size": len(DATA)} | body
        answer = self.call("upload_init", load_event("upload_init", body=body, caller=caller))
        return self.init_answer(answer)

    def init_answer(self, answer: Answer) -> dict[str, Any]:
        """An init's 201 answer, with the S3 upload id its session holds."""
        body = json.loads(answer.body) if isinstance(answer.body, str) else answer.body
        assert answer.status == 201, body
        return dict(body) | {"s3_upload_id": self.record(body["upload_id"])["s3_upload_id"]}

    def put_part(self, upload: dict[str, Any], data: bytes = DATA) -> None:
        self.s3.upload_part(
            Bucket=self.files,
            Key=upload["key"],
            UploadId=upload["s3_upload_id"],
            PartNumber=1,
            Body=data,
        )

    @functools.cached_property
    def catalog(self) -> Catalog:
        return build_catalog()

    def store(
        self, caller: dict[str, Any], app: str | None = None, iteration: int | None = None
    ) -> dict[str, Any]:
        """A stored file of DATA (a backup of `app`, given one), as a completed upload
        leaves it: the object with its owner's metadata, and the user's catalog entry.
        Made directly, as going through init and complete would take 15 AWS calls."""
        owner = Owner(
            client_id=caller["client_id"],
            key_prefix="",
            role=caller["role"],
            user_id=caller["client_id"],
        )
        now = datetime.now(UTC)
        kind = "backup" if app else "file"
        name, _ = name_for(owner, Naming(kind, "f.bin", app, iteration), now)
        category = category_for(content_type_for(name, None))
        key = build_key(owner, now, category, name)
        new = new_object(key, content_type_for(name, None), owner, new_upload_id(), name, sha256())
        self.s3.put_object(
            Bucket=self.files,
            Key=key,
            Body=DATA,
            ContentType=new.content_type,
            ContentDisposition=new.content_disposition,
            Metadata=new.metadata,
        )
        entry = IndexEntry(
            key=key,
            file_name=name,
            category=category,
            size=len(DATA),
            stored_at=now,
            sha256=sha256(),
            app=app,
            iteration=iteration,
        )
        self.catalog.stored(owner, entry)
        self.kept.add(key)
        return {"key": key}

    def draft(self, caller: dict[str, Any], **body: Any) -> dict[str, Any]:
        """A draft whose bytes are uploaded."""
        body = {"file_name": "d.txt", "size": len(DATA), "content_type": "text/plain"} | body
        answer = self.call("draft_create", load_event("draft_create", body=body, caller=caller))
        assert answer.status == 201, answer.body
        self.s3.put_object(
            Bucket=self.drafts, Key=answer.body["upload"]["fields"]["key"], Body=DATA
        )
        return dict(answer.body)

    def expire(self, pk: str) -> None:
        """Move a record's expiry into the past, as time would."""
        past = timestamp(datetime.now(UTC) - timedelta(minutes=1))
        self.dynamodb.update_item(
            TableName=self.table,
            Key=to_item({"pk": pk}),
            UpdateExpression="SET expires_at = :past",
            ExpressionAttributeValues=to_item({":past": past}),
        )

    def record(self, pk: str) -> dict[str, Any]:
        answer = self.dynamodb.get_item(TableName=self.table, Key=to_item({"pk": pk}))
        return from_item(answer.get("Item") or {})

    # --- what must hold -----------------------------------------------------------------
    def broken(self, client_id: str, *, settled: bool, data: bytes | None = DATA) -> list[str]:
        """What is wrong with what one client has stored: its records, its multipart
        uploads, its files. `settled`: after a retry, which must have finished what the
        faulted call left. `data`: the bytes every file holds (None: each its own, which
        the caller checks)."""
        pages = self.dynamodb.get_paginator("query").paginate(
            TableName=self.table,
            IndexName="by_client_status",
            KeyConditionExpression="client_id = :c",
            ExpressionAttributeValues=to_item({":c": client_id}),
        )
        items = [from_item(i) for page in pages for i in page.get("Items", [])]
        items += [item for pk in self.drafts_seen if (item := self.record(pk))]
        pending = {
            u["UploadId"]: u["Key"]
            for page in self.s3.get_paginator("list_multipart_uploads").paginate(
                Bucket=self.files, Prefix=f"user/{client_id}/"
            )
            for u in page.get("Uploads", [])
        }
        problems = _orphans(items, pending)
        now = timestamp(datetime.now(UTC))
        for item in items:
            problems += self._record_problems(item, pending, now, settled=settled)
        problems += [f"stored file {key!r} is lost" for key in self.kept if not self.exists(key)]
        stored = {key for key in self.kept if self.exists(key)} | {
            item["key"]
            for item in items
            if item.get("status") in ("completed", "confirmed") and item["key"] not in self.deleted
        }
        if data is not None:
            problems += [f"{key!r} holds other bytes" for key in stored if self.read(key) != data]
        if settled:
            problems += self.index_problems(client_id, items, data)
        return problems

    def index_problems(
        self, client_id: str, items: list[dict[str, Any]], data: bytes | None = DATA
    ) -> list[str]:
        """The user's index agrees with what is stored: every completed upload and
        confirmed draft is among its latest (and a backup among its backups), and every
        entry it lists is a stored file of the user's with the bytes that were sent. (An
        entry of a file deleted on purpose may stay: a failed `forget` after the delete
        is accepted, as every read checks that the file exists.)"""
        index = self.index(client_id)
        listed = {
            "latest": {e["key"] for e in index.get("recent", [])},
            "backups": {e["key"] for e in index.get("backups", [])},
        }
        problems = []
        for item in items:
            if item.get("status") not in ("completed", "confirmed"):
                continue
            if item["key"] in self.deleted:
                continue
            wanted = ("latest", "backups") if item.get("app") else ("latest",)
            problems += [
                f"{item['pk']} is {item['status']} but {item['key']!r} is not in the {where}"
                for where in wanted
                if item["key"] not in listed[where]
            ]
        categories = {v["key"] for k, v in index.items() if k.startswith("cat_")}
        for key in listed["latest"] | listed["backups"] | categories:
            if key in self.deleted:
                continue
            if self.origin(key) is None:
                problems.append(f"the index lists {key!r}, which is not stored")
            elif data is not None and self.read(key) != data:
                problems.append(f"the index lists {key!r}, which holds other bytes")
        return problems

    def index(self, client_id: str) -> dict[str, Any]:
        """The raw index item of the case's user (role `user`, itself as user)."""
        return self.record(f"index#{client_id}#user#{client_id}")

    def read(self, key: str) -> bytes | None:
        try:
            return bytes(self.s3.get_object(Bucket=self.files, Key=key)["Body"].read())
        except ClientError:
            return None

    def _record_problems(
        self, item: dict[str, Any], pending: dict[str, str], now: str, *, settled: bool
    ) -> list[str]:
        pk, status, problems = item["pk"], item.get("status"), []
        if item.get("completing_until", "") > now:
            problems.append(f"{pk} is still leased after its request ended")
        if status in ACTIVE | {"pending"} and "sweep" not in item:
            problems.append(f"{pk} is {status} but out of the cleanup's sight")
        key = item.get("key")
        if item.get("kind") == "draft" and status == "expired" and self.draft_bytes(item):
            problems.append(f"{pk} is expired but its bytes are still in the drafts bucket")
        if status in ("completed", "confirmed") and key not in self.deleted:
            if not self.exists(key):
                problems.append(f"{pk} is {status} but its file {key!r} is lost")
        if status in ACTIVE and item["s3_upload_id"] not in pending and item["expires_at"] > now:
            # An active session without its multipart upload can never finish, unless the
            # upload was completed and only its recording failed: a retry finishes that.
            if self.origin(key) != pk:
                problems.append(f"{pk} is {status} but its multipart upload is gone")
            elif settled:
                problems.append(f"{pk} is completed in S3 but recorded as {status}")
        return problems

    def draft_bytes(self, item: dict[str, Any]) -> bool:
        """Whether a draft's uploaded bytes are still in the drafts bucket."""
        listed = self.s3.list_objects_v2(Bucket=self.drafts, Prefix=item["object_key"])
        return any(o["Key"] == item["object_key"] for o in listed.get("Contents", []))

    def exists(self, key: str) -> bool:
        return self.origin(key) is not None

    def origin(self, key: str) -> str | None:
        """The upload or draft id the object at `key` came from; None if there is none."""
        try:
            head = self.s3.head_object(Bucket=self.files, Key=key)
        except ClientError:
            return None
        return str(head["Metadata"].get("upload", ""))


def _orphans(items: list[dict[str, Any]], pending: dict[str, str]) -> list[str]:
    """Multipart uploads in S3 that no session the cleanup reads leads to."""
    sessions = {i["s3_upload_id"]: i for i in items if i.get("kind") == "upload"}
    problems = []
    for upload_id, key in pending.items():
        session = sessions.get(upload_id)
        if session is None:
            problems.append(f"a multipart upload of {key!r} belongs to no session")
        elif "sweep" not in session:
            problems.append(
                f"the multipart upload of {session['pk']} ({session['status']}) is out of"
                " the cleanup's sight"
            )
    return problems


def sha256(data: bytes = DATA) -> str:
    return hashlib.sha256(data).hexdigest()
