"""Security properties. The handler fixtures (moto, tables and buckets from template.yaml)
are tests/integration's; the HTTP ones use the session's local stack (tests/conftest.py)."""

from tests.integration.conftest import bucket, invoke, stack

__all__ = ["bucket", "invoke", "stack"]
