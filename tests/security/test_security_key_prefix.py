"""Keys never leave the caller's corner of the bucket, whatever a request says: a property
test over generated file names, roles, user ids and callers, through the real domain code
(the models, `Catalog.admit`: resolve_owner and check_file_name, then choose_key) with the
in-memory stores of tests/support/fakes.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from stowage.domain.identity import key_is_visible, owner_of_key, resolve_owner, visible_root
from stowage.domain.keys import check_file_name, check_key, owner_prefix
from stowage.domain.naming import choose_key
from stowage.domain.ports import NewObject
from stowage.domain.uploads import UploadService
from stowage.errors import FileTooLargeError, ForbiddenError, InvalidFieldError
from stowage.models.identity import Caller, Owner
from stowage.models.uploads import InitUploadRequest
from tests.support.fakes import FakeObjectStore, FakeSessionStore, upload_service

MIB = 1024 * 1024
NOW = datetime(2026, 1, 12, 10, 30, tzinfo=UTC)
REFUSALS = (ValidationError, InvalidFieldError, ForbiddenError, FileTooLargeError)
PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Pieces that try to climb out of a folder, hide a separator, or confuse a key.
HOSTILE = [
    "..",
    ".",
    "/",
    "\\",
    "../",
    "..\\",
    "%2e%2e%2f",
    "%2F",
    "\x00",
    "\n",
    "\u202e",
    "~",
    "?",
    "#",
    " ",
    "//",
    "./",
    "user",
    "admin",
    "tenant-b",
    "😀",
    "é",
    "a" * 200,
]
ids = st.from_regex(r"\A[A-Za-z0-9_.@-]{1,24}\Z").filter(lambda s: s not in {".", ".."})
pieces = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=6))
plain_names = st.text(
    st.characters(
        exclude_categories=("Cc", "Cs", "Zl", "Zp"), exclude_characters="/\\\u202a\u202e"
    ),
    min_size=1,
    max_size=40,
)
names = st.one_of(plain_names, st.lists(pieces, min_size=1, max_size=8).map("".join))
maybe_ids = st.one_of(
    st.none(), ids, ids, ids, st.sampled_from(HOSTILE), st.lists(pieces, max_size=3).map("".join)
)
callers = st.builds(
    Caller,
    client_id=ids,
    role=st.sampled_from(["user", "viewer", "admin"]),
    key_prefix=st.sampled_from(["", "tenant-a", "/tenant-a/", "org/team", "org/team/"]),
    max_file_size=st.just(100 * MIB),
    act_as=st.sampled_from([True, True, False]),
    act_as_roles=st.sampled_from(["", "user", "user,viewer"]),
)
bodies = st.fixed_dictionaries(
    {"file_name": names, "size": st.integers(min_value=0, max_value=20 * MIB)},
    optional={
        "user_id": maybe_ids,
        "role": maybe_ids,
        "overwrite": st.booleans(),
        "content_type": st.sampled_from(["text/plain", "image/png", "application/x-tar"]),
    },
)


def new_service() -> tuple[UploadService, FakeObjectStore]:
    service, _, storage = upload_service(lambda: NOW, part_size=8 * MIB, wait=0.1)
    return service, storage


def own_corner(caller: Caller) -> str:
    """Where a client without act_as may write: its own user folder."""
    return owner_prefix(
        Owner(
            client_id=caller.client_id,
            key_prefix=caller.key_prefix,
            role=caller.role,
            user_id=caller.client_id,
        )
    )


def assert_inside(caller: Caller, body: dict[str, Any], key: str) -> None:
    """Everything that must hold for a key stowage chose for `caller`."""
    assert key.startswith(visible_root(caller)) and key_is_visible(caller, key), key
    if not caller.act_as:
        assert key.startswith(own_corner(caller)), key
    owner = owner_of_key(caller, key)
    assert (owner.role, owner.user_id) == (
        body.get("role") or caller.role,
        body.get("user_id") or caller.client_id,
    )
    assert check_key(key) == key  # no empty or dot segment, no control character
    depth = len([p for p in caller.key_prefix.split("/") if p])
    assert len(key.split("/")) == depth + 5, key  # role/user/day/category/name


@PROPERTY
@given(caller=callers, body=bodies)
def test_an_accepted_init_always_writes_inside_the_callers_corner(caller, body):
    # Given any caller and any request body, sent twice (the second gets a variant name)
    service, storage = new_service()
    for _ in range(2):
        # When it is validated and started as the handler would
        try:
            answer = service.init_upload(caller, InitUploadRequest.model_validate(body))
        except REFUSALS:
            return  # refused as a 4xx: nothing was written
        # Then the key, and the object S3 is asked to create, stay in the caller's corner
        assert_inside(caller, body, answer.key)
        created = {upload.new.key for upload in storage.uploads.values()}
        assert answer.key in created
        assert all(key.startswith(visible_root(caller)) for key in created)


@PROPERTY
@given(
    caller=callers.map(lambda c: c.model_copy(update={"act_as": True})),
    name=names,
    user_id=ids,
    role=st.sampled_from([None, "user", "viewer"]),
)
def test_a_backend_acting_for_any_user_stays_under_its_own_prefix(caller, name, user_id, role):
    # Given an act_as client starting uploads for users it names, under any file name
    body = {"file_name": name, "size": 1, "user_id": user_id} | ({"role": role} if role else {})
    service, _ = new_service()
    for _ in range(2):
        try:
            answer = service.init_upload(caller, InitUploadRequest.model_validate(body))
        except REFUSALS:
            return
        # Then each key is that user's, inside the client's key prefix
        assert_inside(caller, body, answer.key)


@PROPERTY
@given(
    caller=callers,
    name=names,
    user_id=maybe_ids,
    role=maybe_ids,
    taken=st.integers(min_value=0, max_value=5),
)
def test_name_variants_stay_in_the_owners_folder(caller, name, user_id, role, taken):
    # Given an owner and a name the request model and the domain accept
    ids = {k: v for k, v in {"user_id": user_id, "role": role}.items() if v is not None}
    try:
        InitUploadRequest.model_validate({"file_name": name, "size": 0} | ids)
        owner = resolve_owner(caller, user_id, role)
        check_file_name(name)
    except REFUSALS:
        return
    # and that name already taken `taken` times in the owner's folder
    storage, claims = FakeObjectStore(), FakeSessionStore()
    when = (NOW, NOW + timedelta(days=1))
    for attempt in range(taken):
        key = choose_key(
            storage, claims, owner, when, ("other", name), f"r{attempt}", overwrite=False
        )
        storage.objects[key] = (b"", NewObject(key, "application/octet-stream", "", {}))
    # When the next upload of that name chooses its key
    key = choose_key(storage, claims, owner, when, ("other", name), "next", overwrite=False)
    # Then it is new, a single segment in the owner's folder
    assert key not in storage.objects
    assert key.startswith(owner_prefix(owner) + "20260112/other/")
    assert "/" not in key.removeprefix(owner_prefix(owner) + "20260112/other/")
    assert key.startswith(visible_root(caller))


@pytest.mark.parametrize(
    ("body", "caller_act_as"),
    [
        ({"file_name": "../../etc/passwd"}, False),
        ({"file_name": "..\\..\\x"}, False),
        ({"file_name": ".."}, False),
        ({"file_name": "a\x00b"}, False),
        ({"file_name": "x", "user_id": "../admin"}, True),
        ({"file_name": "x", "user_id": "a/b"}, True),
        ({"file_name": "x", "role": ".."}, True),
        ({"file_name": "x", "user_id": "someone-else"}, False),
        ({"file_name": "x", "role": "admin"}, False),
    ],
)
def test_hostile_inputs_are_refused(body, caller_act_as):
    service, storage = new_service()
    caller = Caller(client_id="alice", role="user", max_file_size=MIB, act_as=caller_act_as)
    with pytest.raises(REFUSALS):
        service.init_upload(caller, InitUploadRequest.model_validate(body | {"size": 1}))
    assert storage.uploads == {}


@pytest.mark.parametrize(
    ("name", "last_segment"),
    [("%2e%2e%2f", "_2e_2e_2f"), ("a?b#c", "a_b_c"), ("..a", "..a"), ("report.pdf", "report.pdf")],
)
def test_odd_but_valid_names_stay_one_segment(name, last_segment):
    service, _ = new_service()
    caller = Caller(client_id="alice", role="user", key_prefix="t", max_file_size=MIB)
    answer = service.init_upload(caller, InitUploadRequest(file_name=name, size=1))
    assert answer.key.startswith("t/user/alice/20260112/")
    assert answer.key.rsplit("/", 1)[1] == last_segment
