"""Settings per concern, read from the environment lazily and cached.

Only this module and the adapters' factories read the environment; the domain
receives plain values.

Each setting is the variable of its name in upper case (any case is found, as
pydantic-settings finds it), validated by a frozen pydantic model. pydantic-settings
itself is not used: importing it cost a handler's cold start about a third of
pydantic's own import, for nothing these flat, string-valued settings need.
"""

from __future__ import annotations

import os
from functools import cache
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from stowage.units import MAX_OBJECT_SIZE, MIB


class BaseSettings(BaseModel):
    """A frozen model filled from the environment by `from_environment()`."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    @classmethod
    def from_environment(cls) -> Self:
        """Every field from the variable of its name (case-insensitive); a missing required
        one or a bad value raises pydantic's ValidationError."""
        found = {name.lower(): value for name, value in os.environ.items()}
        return cls.model_validate({name: found[name] for name in cls.model_fields if name in found})


class UploadSettings(BaseSettings):
    """How multipart uploads behave (template parameters arrive as env vars)."""

    uploads_table: str
    files_bucket: str
    part_url_ttl: int = Field(default=3600, ge=60, le=7 * 24 * 3600)
    default_part_size: int = Field(default=8 * MIB, ge=5 * MIB, le=5 * 1024 * MIB)
    max_file_size: int = Field(default=MAX_OBJECT_SIZE, ge=0, le=MAX_OBJECT_SIZE)
    session_idle_days: int = Field(default=7, ge=1, le=365)
    record_retention_days: int = Field(default=30, ge=1, le=3650)
    backup_keep: int = Field(default=10, ge=1, le=1000)
    """Backups of each app kept in a user's main area; older ones move to the backup area."""


class DraftSettings(BaseSettings):
    """How drafts behave: `UPLOAD_TTL` is the presigned POST's life, `OBJECT_LIFETIME`
    the draft's (both in seconds)."""

    drafts_bucket: str
    upload_ttl: int = Field(default=3600, ge=60, le=7 * 24 * 3600)
    object_lifetime: int = Field(default=24 * 3600, ge=300, le=30 * 24 * 3600)


class ArchiveSettings(BaseSettings):
    """Archives: the most bytes one may hold, how long it is kept (seconds), and the
    function that builds them (only the requesting function needs its name)."""

    archive_max_bytes: int = Field(default=50 * 1024 * MIB, ge=0)
    archive_lifetime: int = Field(default=24 * 3600, ge=60, le=30 * 24 * 3600)
    archive_builder_function: str = ""


class AwsSettings(BaseSettings):
    """Where the AWS clients point: `AWS_ENDPOINT_URL` selects a local stack."""

    aws_endpoint_url: str | None = None


class AuthSettings(BaseSettings):
    """Where clients live and how their keys are hashed."""

    clients_table: str
    api_key_pepper_secret: str | None = None
    api_key_pepper: SecretStr | None = None


class TokenSettings(BaseSettings):
    """The secret upload tokens are signed with: `UPLOAD_TOKEN_SECRET_ARN` names it in
    Secrets Manager; `UPLOAD_TOKEN_SECRET` gives it directly (local stack, tests)."""

    upload_token_secret_arn: str | None = None
    upload_token_secret: SecretStr | None = None


def clear_settings() -> None:
    """Forget every cached setting, so the next read sees the environment as it is now."""
    for read in (auth_settings, upload_settings, draft_settings, aws_settings, token_settings):
        read.cache_clear()
    archive_settings.cache_clear()


@cache
def auth_settings() -> AuthSettings:
    return AuthSettings.from_environment()


@cache
def upload_settings() -> UploadSettings:
    return UploadSettings.from_environment()


@cache
def draft_settings() -> DraftSettings:
    return DraftSettings.from_environment()


@cache
def aws_settings() -> AwsSettings:
    return AwsSettings.from_environment()


@cache
def token_settings() -> TokenSettings:
    return TokenSettings.from_environment()


@cache
def archive_settings() -> ArchiveSettings:
    return ArchiveSettings.from_environment()
