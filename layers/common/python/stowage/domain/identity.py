"""Whom an operation acts for, and which keys a caller may see."""

from __future__ import annotations

from stowage.domain.keys import owner_prefix
from stowage.errors import FileTooLargeError, ForbiddenError
from stowage.models.identity import Caller, Owner


def resolve_owner(caller: Caller, user_id: str | None, role: str | None) -> Owner:
    """The acting user: the client itself, or the user an `act_as` client names."""
    wants_other = (user_id not in (None, caller.client_id)) or (role not in (None, caller.role))
    if wants_other and not caller.act_as:
        raise ForbiddenError("this client may not act for other users or roles")
    if (
        role not in (None, caller.role)
        and caller.allowed_roles
        and role not in caller.allowed_roles
    ):
        raise ForbiddenError("this client may not act for that role")
    return Owner(
        client_id=caller.client_id,
        key_prefix=caller.key_prefix,
        role=role or caller.role,
        user_id=user_id or caller.client_id,
    )


def visible_root(caller: Caller) -> str:
    """Where the caller's corner of the bucket starts: its own user folder, or for an
    `act_as` client everything under its key prefix ("" when it has none)."""
    if caller.act_as:
        prefix = caller.key_prefix.strip("/")
        return f"{prefix}/" if prefix else ""
    own = Owner(
        client_id=caller.client_id,
        key_prefix=caller.key_prefix,
        role=caller.role,
        user_id=caller.client_id,
    )
    return owner_prefix(own)


def key_is_visible(caller: Caller, key: str) -> bool:
    """Whether `key` lies in the caller's corner of the bucket (ownership is checked too)."""
    return key.startswith(visible_root(caller))


def owner_of_key(caller: Caller, key: str) -> Owner:
    """The role and user a visible key of the caller's belongs to (its first two segments
    after the client's key prefix)."""
    head = caller.key_prefix.strip("/")
    rest = key[len(head) + 1 :] if head else key
    role, user_id, *_ = [*rest.split("/", 2), "", ""]
    return Owner(
        client_id=caller.client_id, key_prefix=caller.key_prefix, role=role, user_id=user_id
    )


def check_size(caller: Caller, size: int, service_limit: int) -> None:
    """413 when a file is over the client's own limit or the service's."""
    limit = min(caller.max_file_size, service_limit)
    if size > limit:
        raise FileTooLargeError(
            f"size {size} is over this client's limit of {limit} bytes", field="size"
        )
