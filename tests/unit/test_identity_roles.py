"""`act_as_roles`: a backend limited to some roles can name only those; and the smaller
rules of identity (owner of a key, the size limit) at their edges."""

from __future__ import annotations

import pytest

from stowage.domain.identity import check_size, owner_of_key, resolve_owner, visible_root
from stowage.errors import FileTooLargeError, ForbiddenError
from stowage.models.identity import Caller, Owner

VIEWER_ONLY = Caller(
    client_id="backend",
    role="service",
    key_prefix="tenant-a",
    max_file_size=1024,
    act_as=True,
    act_as_roles="viewer,editor",
)


@pytest.mark.parametrize("role", ["admin", "service-x", "viewers", "Viewer", "viewer,editor"])
def test_a_backend_limited_to_roles_may_not_name_another(role):
    with pytest.raises(ForbiddenError) as raised:
        resolve_owner(VIEWER_ONLY, "u-1", role)
    assert str(raised.value) == "this client may not act for that role"


@pytest.mark.parametrize("role", ["viewer", "editor"])
def test_a_backend_limited_to_roles_may_name_those(role):
    who = resolve_owner(VIEWER_ONLY, "u-1", role)
    assert who == Owner(client_id="backend", key_prefix="tenant-a", role=role, user_id="u-1")


@pytest.mark.parametrize("role", [None, "service"])
def test_a_limited_backend_may_still_act_in_its_own_role(role):
    # Its own role needs no listing: naming it, or no role, is acting as itself
    who = resolve_owner(VIEWER_ONLY, "u-1", role)
    assert who.role == "service" and who.user_id == "u-1"


def test_an_unlimited_backend_may_name_any_role():
    unlimited = VIEWER_ONLY.model_copy(update={"act_as_roles": ""})
    assert resolve_owner(unlimited, "u-1", "admin").role == "admin"


def test_a_plain_client_is_refused_before_its_roles_are_looked_at():
    plain = VIEWER_ONLY.model_copy(update={"act_as": False})
    for user_id, role in ((None, "viewer"), ("someone", None)):
        with pytest.raises(ForbiddenError) as raised:
            resolve_owner(plain, user_id, role)
        assert str(raised.value) == "this client may not act for other users or roles"


@pytest.mark.parametrize(
    ("prefix", "key", "role", "user_id"),
    [
        ("tenant-a", "tenant-a/viewer/u-1/20260112/image/a.png", "viewer", "u-1"),
        ("/tenant-a/", "tenant-a/viewer/u-1/20260112/image/a.png", "viewer", "u-1"),
        ("", "viewer/u-1/20260112/image/a.png", "viewer", "u-1"),
        ("a/b", "a/b/r/u/x", "r", "u"),
        ("tenant-a", "tenant-a/viewer", "viewer", ""),
        ("tenant-a", "tenant-a/", "", ""),
        ("/X-t/", "X-t/Xr/Xu/Xd/x", "Xr", "Xu"),  # only slashes are stripped from a prefix
    ],
)
def test_the_owner_of_a_key_is_its_two_segments_after_the_prefix(prefix, key, role, user_id):
    caller = VIEWER_ONLY.model_copy(update={"key_prefix": prefix})
    assert owner_of_key(caller, key) == Owner(
        client_id="backend", key_prefix=prefix, role=role, user_id=user_id
    )


@pytest.mark.parametrize(
    ("prefix", "act_as", "root"),
    [
        ("tenant-a", True, "tenant-a/"),
        ("/tenant-a/", True, "tenant-a/"),
        ("", True, ""),
        ("/", True, ""),
        ("tenant-a", False, "tenant-a/service/backend/"),
        ("", False, "service/backend/"),
        ("/X-tenant-X/", True, "X-tenant-X/"),
    ],
)
def test_the_visible_root(prefix, act_as, root):
    caller = VIEWER_ONLY.model_copy(update={"key_prefix": prefix, "act_as": act_as})
    assert visible_root(caller) == root


@pytest.mark.parametrize(
    ("client_limit", "service_limit", "size", "ok"),
    [
        (1024, 4096, 1024, True),
        (1024, 4096, 1025, False),
        (8192, 4096, 4096, True),
        (8192, 4096, 4097, False),
        (0, 4096, 0, True),
        (0, 4096, 1, False),
    ],
)
def test_the_size_limit_is_the_smaller_of_the_clients_and_the_services(
    client_limit, service_limit, size, ok
):
    caller = VIEWER_ONLY.model_copy(update={"max_file_size": client_limit})
    if ok:
        check_size(caller, size, service_limit)
        return
    with pytest.raises(FileTooLargeError) as raised:
        check_size(caller, size, service_limit)
    limit = min(client_limit, service_limit)
    assert f"over this client's limit of {limit} bytes" in str(raised.value)
    assert raised.value.field == "size"
