"""The composition root: settings → clients → adapters → services.

Handlers call these once, at module scope, so a Lambda container builds its
clients once; tests build services from their own (moto-backed or fake) parts.
Every service of one process shares one S3 and one DynamoDB client (boto3 clients are
thread-safe, and each costs tens of milliseconds of a cold start to create) for as long
as the endpoint, region and keys in the environment stay the same.
"""

from __future__ import annotations

import os
from datetime import timedelta
from functools import cache
from typing import TYPE_CHECKING

from stowage.adapters import aws
from stowage.adapters.dynamodb import DynamoSessionStore
from stowage.adapters.index import DynamoIndexStore
from stowage.adapters.s3 import S3ObjectStore
from stowage.config import auth_settings, aws_settings, draft_settings, upload_settings
from stowage.domain.catalog import Catalog, CatalogRules
from stowage.domain.clock import utc_now
from stowage.domain.files import FileRules, FileService
from stowage.domain.uploads import UploadRules, UploadService

# What only some functions use is imported by the builder that needs it, so a handler's
# cold start imports its own route's code and no other's.
if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client

    from stowage.adapters.drafts import DynamoDraftStore
    from stowage.domain.cleanup import CleanupService
    from stowage.domain.clients import ClientAdmin, KeyAuthorizer
    from stowage.domain.companion import CompanionService, PostRegistrar
    from stowage.domain.drafts import DraftService
    from stowage.domain.tokens import TokenService
    from stowage.domain.tus import TusService


def _where() -> tuple[str | None, ...]:
    """What a client is bound to when it is created: endpoint, region and keys."""
    names = ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
    return (aws_settings().aws_endpoint_url, *map(os.environ.get, names))


@cache
def _shared_s3(_where: tuple[str | None, ...]) -> S3Client:
    return aws.s3_client()


@cache
def _shared_dynamodb(_where: tuple[str | None, ...]) -> DynamoDBClient:
    return aws.dynamodb_client()


def s3_client() -> S3Client:
    """This process's S3 client for the environment as it is now."""
    return _shared_s3(_where())


def dynamodb_client() -> DynamoDBClient:
    """This process's DynamoDB client for the environment as it is now."""
    return _shared_dynamodb(_where())


def build_upload_service() -> UploadService:
    settings = upload_settings()
    rules = UploadRules(
        part_url_ttl=settings.part_url_ttl,
        default_part_size=settings.default_part_size,
        max_file_size=settings.max_file_size,
        session_idle=timedelta(days=settings.session_idle_days),
        record_retention=_retention(),
    )
    return UploadService(_session_store(), _files(), rules, build_catalog())


def build_file_service() -> FileService:
    rules = FileRules(url_ttl=upload_settings().part_url_ttl)
    return FileService(_files(), rules, build_catalog())


def build_draft_service() -> DraftService:
    from stowage.domain.drafts import DraftRules, DraftService

    uploads, drafts = upload_settings(), draft_settings()
    rules = DraftRules(
        upload_ttl=timedelta(seconds=drafts.upload_ttl),
        lifetime=timedelta(seconds=drafts.object_lifetime),
        url_ttl=uploads.part_url_ttl,
        max_file_size=uploads.max_file_size,
    )
    return DraftService(
        _draft_store(),
        S3ObjectStore(s3_client(), drafts.drafts_bucket),
        _files(),
        rules,
        build_catalog(),
    )


def build_cleanup_service() -> CleanupService:
    from stowage.adapters.tus import S3TusParts
    from stowage.domain.cleanup import CleanupRules, CleanupService

    drafts = draft_settings()
    return CleanupService(
        _session_store(),
        _draft_store(),
        _files(),
        S3ObjectStore(s3_client(), drafts.drafts_bucket),
        CleanupRules(),
        tails=S3TusParts(s3_client(), upload_settings().files_bucket, drafts.drafts_bucket),
    )


def build_catalog() -> Catalog:
    settings = upload_settings()
    index = DynamoIndexStore(dynamodb_client(), settings.uploads_table)
    return Catalog(index, _files(), CatalogRules(keep_backups=settings.backup_keep))


def _files() -> S3ObjectStore:
    return S3ObjectStore(s3_client(), upload_settings().files_bucket)


def _retention() -> timedelta:
    return timedelta(days=upload_settings().record_retention_days)


def _session_store() -> DynamoSessionStore:
    return DynamoSessionStore(dynamodb_client(), upload_settings().uploads_table, _retention())


def _draft_store() -> DynamoDraftStore:
    from stowage.adapters.drafts import DynamoDraftStore

    return DynamoDraftStore(dynamodb_client(), upload_settings().uploads_table, _retention())


def build_authorizer() -> KeyAuthorizer:
    from stowage.adapters.clients import DynamoClientStore
    from stowage.adapters.secrets import api_key_pepper
    from stowage.domain.clients import KeyAuthorizer

    store = DynamoClientStore(dynamodb_client(), auth_settings().clients_table)
    return KeyAuthorizer(store, api_key_pepper, utc_now)


def build_client_admin() -> ClientAdmin:
    from stowage.adapters.clients import DynamoClientStore
    from stowage.adapters.secrets import api_key_pepper
    from stowage.domain.clients import ClientAdmin

    store = DynamoClientStore(dynamodb_client(), auth_settings().clients_table)
    return ClientAdmin(store, api_key_pepper, utc_now)


def build_tus_service() -> TusService:
    from stowage.adapters.tus import DynamoTusStore, S3TusParts
    from stowage.domain.tus import TusRules, TusService

    settings = upload_settings()
    sessions = DynamoTusStore(dynamodb_client(), settings.uploads_table, _retention())
    tails = S3TusParts(s3_client(), settings.files_bucket, draft_settings().drafts_bucket)
    rules = TusRules(session_idle=timedelta(days=settings.session_idle_days))
    return TusService(build_upload_service(), sessions, tails, rules)


def build_token_service() -> TokenService:
    from stowage.adapters.tokens import DynamoFileCounter, upload_token_secret
    from stowage.domain.tokens import TokenService, TokenSigner

    settings = upload_settings()
    counter = DynamoFileCounter(dynamodb_client(), settings.uploads_table)
    return TokenService(TokenSigner(upload_token_secret), counter, settings.max_file_size)


def build_companion_service() -> CompanionService:
    from stowage.adapters.clients import DynamoClientStore, EnabledClients
    from stowage.domain.companion import CompanionRules, CompanionService

    clients = EnabledClients(DynamoClientStore(dynamodb_client(), auth_settings().clients_table))
    rules = CompanionRules(
        post_ttl=draft_settings().upload_ttl, part_url_ttl=upload_settings().part_url_ttl
    )
    drafts = S3ObjectStore(s3_client(), draft_settings().drafts_bucket)
    return CompanionService(build_token_service(), clients, build_upload_service(), drafts, rules)


def build_post_registrar() -> PostRegistrar:
    from stowage.adapters.tokens import upload_token_secret
    from stowage.domain.companion import PostRegistrar
    from stowage.domain.tokens import TokenSigner

    drafts = S3ObjectStore(s3_client(), draft_settings().drafts_bucket)
    return PostRegistrar(TokenSigner(upload_token_secret), build_draft_service(), drafts)
