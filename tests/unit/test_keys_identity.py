"""Whom a request acts for (`resolve_owner`) and which keys a caller sees (`key_is_visible`)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stowage.domain.identity import key_is_visible, resolve_owner
from stowage.domain.keys import build_key
from stowage.errors import ForbiddenError
from stowage.models.identity import Caller, Owner

ALICE = Caller(client_id="alice", role="user", key_prefix="tenant-a", max_file_size=1024)
BACKEND = Caller(
    client_id="backend", role="service", key_prefix="tenant-a", max_file_size=1024, act_as=True
)
DAY = datetime(2026, 1, 12, tzinfo=UTC)


# --- resolve_owner ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("user_id", "role"),
    [(None, None), ("alice", None), (None, "user"), ("alice", "user")],
)
def test_a_plain_client_acts_for_itself_even_when_naming_itself(user_id, role):
    # Given a client without act_as that names nobody or only itself
    # When
    who = resolve_owner(ALICE, user_id, role)
    # Then the owner is the client itself, inside its key prefix
    assert who == Owner(client_id="alice", key_prefix="tenant-a", role="user", user_id="alice")


@pytest.mark.parametrize(
    ("user_id", "role"),
    [("bob", None), (None, "admin"), ("bob", "user"), ("alice", "admin"), ("bob", "admin")],
)
def test_a_plain_client_may_not_name_another_user_or_role(user_id, role):
    # Given a client without act_as that names another user or role
    # When / Then
    with pytest.raises(ForbiddenError) as caught:
        resolve_owner(ALICE, user_id, role)
    assert (caught.value.code, caught.value.status) == ("FORBIDDEN", 403)


def test_an_act_as_client_may_name_another_user_and_role():
    # Given an app backend allowed to act for its users
    # When
    who = resolve_owner(BACKEND, "u-42", "member")
    # Then the named user owns the file, still under the client's prefix and id
    assert who == Owner(client_id="backend", key_prefix="tenant-a", role="member", user_id="u-42")


@pytest.mark.parametrize(
    ("user_id", "role", "expected"),
    [
        (None, None, ("service", "backend")),
        ("u-42", None, ("service", "u-42")),
        (None, "member", ("member", "backend")),
    ],
)
def test_an_act_as_client_defaults_to_itself(user_id, role, expected):
    # Given an act_as client that names only part of the owner, or nothing
    # When
    who = resolve_owner(BACKEND, user_id, role)
    # Then what it leaves out is its own role or id
    assert (who.role, who.user_id) == expected
    assert (who.client_id, who.key_prefix) == ("backend", "tenant-a")


# --- key_is_visible -----------------------------------------------------------------


def test_a_plain_client_sees_its_own_keys():
    # Given a key built for the client itself
    key = build_key(resolve_owner(ALICE, None, None), DAY, "document", "report.pdf")
    # When / Then
    assert key == "tenant-a/user/alice/20260112/document/report.pdf"
    assert key_is_visible(ALICE, key)


@pytest.mark.parametrize(
    "key",
    [
        "tenant-a/user/bob/20260112/document/report.pdf",  # a sibling client
        "tenant-a/user/alice2/20260112/document/report.pdf",  # same first characters
        "tenant-a/user/alic/20260112/document/report.pdf",
        "tenant-a/admin/alice/20260112/document/report.pdf",  # another role
        "tenant-b/user/alice/20260112/document/report.pdf",  # another prefix
        "tenant-ab/user/alice/20260112/document/report.pdf",
        "user/alice/20260112/document/report.pdf",  # outside its prefix
        "tenant-a/user/alice",  # the folder itself, no slash
        "",
    ],
)
def test_a_plain_client_sees_nothing_else(key):
    # Given a key that is not under `tenant-a/user/alice/`
    # When / Then
    assert not key_is_visible(ALICE, key)


def test_a_plain_client_does_not_see_a_longer_id_sharing_its_first_characters():
    # Given client `ab` without a key prefix, and a file of client `abc`
    ab = Caller(client_id="ab", role="user", key_prefix="", max_file_size=1)
    abc = Caller(client_id="abc", role="user", key_prefix="", max_file_size=1)
    key = build_key(resolve_owner(abc, None, None), DAY, "image", "cat.png")
    # When / Then
    assert key == "user/abc/20260112/image/cat.png"
    assert key_is_visible(abc, key)
    assert not key_is_visible(ab, key)


def test_the_key_prefix_is_matched_without_stray_slashes():
    # Given a client whose prefix was stored with slashes around it
    caller = Caller(client_id="alice", role="user", key_prefix="/tenant-a/", max_file_size=1)
    # When / Then
    assert key_is_visible(caller, "tenant-a/user/alice/20260112/document/a.pdf")
    assert not key_is_visible(caller, "/tenant-a/user/bob/20260112/document/a.pdf")


def test_an_act_as_client_sees_every_user_under_its_prefix():
    # Given keys of several users under the act_as client's prefix
    keys = [
        build_key(resolve_owner(BACKEND, user, role), DAY, "other", "x.bin")
        for user, role in [("u-1", "member"), ("u-2", "admin"), (None, None)]
    ]
    # When / Then
    assert all(key_is_visible(BACKEND, key) for key in keys)


@pytest.mark.parametrize(
    "key",
    [
        "tenant-b/member/u-1/20260112/other/x.bin",
        "tenant-ab/member/u-1/20260112/other/x.bin",
        "tenant-a",
        "member/u-1/20260112/other/x.bin",
    ],
)
def test_an_act_as_client_does_not_see_another_prefix(key):
    # Given a key outside `tenant-a/`
    # When / Then
    assert not key_is_visible(BACKEND, key)


names = st.from_regex(r"\A[a-z0-9@._-]{1,20}\Z").filter(lambda s: s not in {".", ".."})


@settings(max_examples=150, deadline=None)
@given(me=names, other=names, role=names, prefix=st.sampled_from(["", "t", "t/u"]))
def test_a_plain_client_sees_another_client_only_if_it_is_itself(me, other, role, prefix):
    # Given two clients of the same role and prefix, and a file of the second one
    caller = Caller(client_id=me, role=role, key_prefix=prefix, max_file_size=1)
    owner = Owner(client_id=other, key_prefix=prefix, role=role, user_id=other)
    key = build_key(owner, DAY, "other", "f.bin")
    # When
    visible = key_is_visible(caller, key)
    # Then the first sees it exactly when it is the same client
    assert visible == (me == other)
