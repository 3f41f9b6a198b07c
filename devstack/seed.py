"""The development client `make dev` (and the e2e tests) start with.

Locally the API-key pepper is a fixed development value (API_KEY_PEPPER), so keys
made by the admin commands against the local stack hash the same way.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from devstack.stack import LocalStack

DEV_PEPPER = "stowage-local-development-pepper"
DEV_CLIENT = "dev"


def seed(stack: LocalStack) -> str:
    """Create the development client in the local clients table; return its key."""
    os.environ.setdefault("API_KEY_PEPPER", DEV_PEPPER)
    from stowage import config
    from stowage.domain.clients import NewClient
    from stowage.units import MAX_OBJECT_SIZE
    from stowage.wiring import build_client_admin

    config.clear_settings()
    admin = build_client_admin()
    _, key = admin.create_client(
        NewClient(client_id=DEV_CLIENT, role="user", key_prefix="", max_file_size=MAX_OBJECT_SIZE)
    )
    return key
