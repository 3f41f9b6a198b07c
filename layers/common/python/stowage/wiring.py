"""The composition root: settings → clients → adapters → services.

Handlers call these once, at module scope, so a Lambda container builds its
clients once; tests build services from their own (moto-backed or fake) parts.

Cold start: each builder imports the adapters and domain modules its service needs, so
a handler imports its own route's code and no other's (the upload functions never load
the archive builder's zip streaming, the Companion or tus code, the clients' admin…).
And one build makes one client per AWS service (`Clients`), shared by every store it
wires: a boto3 client costs 3-5 ms to make even with its service model cached. Clients
are not shared between builds, so each handler module, and each test that builds a
service, gets clients of its own.
"""

from __future__ import annotations

from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from stowage.adapters import aws
from stowage.config import archive_settings, auth_settings, draft_settings, upload_settings
from stowage.domain.clock import utc_now
from stowage.observability import logger, metrics

# What only some functions use is imported by the builder that needs it, at build time.
if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client

    from stowage.adapters.archives import DynamoArchiveStore, S3ArchiveObjects
    from stowage.adapters.drafts import DynamoDraftStore
    from stowage.adapters.dynamodb import DynamoSessionStore
    from stowage.adapters.s3 import S3ObjectStore
    from stowage.adapters.usage import DynamoUsageStore
    from stowage.domain.archives import ArchiveBuilder, ArchiveService
    from stowage.domain.catalog import Catalog
    from stowage.domain.cleanup import CleanupService
    from stowage.domain.clients import ClientAdmin, KeyAuthorizer
    from stowage.domain.companion import CompanionService, PostRegistrar
    from stowage.domain.drafts import DraftService
    from stowage.domain.files import FileService
    from stowage.domain.tokens import TokenService
    from stowage.domain.tus import TusService
    from stowage.domain.uploads import UploadService
    from stowage.domain.usage import UsageRecorder, UsageService


class Clients:
    """The boto3 clients of one build, each made at its first use."""

    @cached_property
    def s3(self) -> S3Client:
        return aws.s3_client()

    @cached_property
    def dynamodb(self) -> DynamoDBClient:
        return aws.dynamodb_client()

    @cached_property
    def lambda_(self) -> Any:
        return aws.lambda_client()


def build_upload_service(clients: Clients | None = None) -> UploadService:
    from stowage.domain.uploads import UploadRules, UploadService

    clients = clients or Clients()
    settings = upload_settings()
    rules = UploadRules(
        part_url_ttl=settings.part_url_ttl,
        default_part_size=settings.default_part_size,
        max_file_size=settings.max_file_size,
        session_idle=timedelta(days=settings.session_idle_days),
        record_retention=_retention(),
    )
    return UploadService(
        _session_store(clients),
        _files(clients),
        rules,
        build_catalog(clients),
        usage=_usage(clients),
    )


def build_file_service(clients: Clients | None = None) -> FileService:
    from stowage.domain.files import FileRules, FileService

    clients = clients or Clients()
    rules = FileRules(url_ttl=upload_settings().part_url_ttl)
    return FileService(_files(clients), rules, build_catalog(clients), usage=_usage(clients))


def build_draft_service(clients: Clients | None = None) -> DraftService:
    from stowage.domain.drafts import DraftRules, DraftService

    clients = clients or Clients()
    uploads, drafts = upload_settings(), draft_settings()
    rules = DraftRules(
        upload_ttl=timedelta(seconds=drafts.upload_ttl),
        lifetime=timedelta(seconds=drafts.object_lifetime),
        url_ttl=uploads.part_url_ttl,
        max_file_size=uploads.max_file_size,
    )
    return DraftService(
        _draft_store(clients),
        _drafts_bucket(clients),
        _files(clients),
        rules,
        build_catalog(clients),
        usage=_usage(clients),
    )


def build_usage_service(clients: Clients | None = None) -> UsageService:
    from stowage.domain.usage import UsageService

    return UsageService(_usage_store(clients or Clients()))


def _usage_store(clients: Clients) -> DynamoUsageStore:
    from stowage.adapters.usage import DynamoUsageStore

    return DynamoUsageStore(clients.dynamodb, upload_settings().uploads_table)


def _usage(clients: Clients) -> UsageRecorder:
    from stowage.domain.usage import UsageRecorder

    def failed(error: Exception) -> None:
        logger.warning("usage counter not written", extra={"error": type(error).__name__})
        metrics.add_metric(name="usage_write_failed", unit="Count", value=1)

    return UsageRecorder(_usage_store(clients), on_failure=failed)


def build_cleanup_service(clients: Clients | None = None) -> CleanupService:
    from stowage.adapters.tus import S3TusParts
    from stowage.domain.cleanup import CleanupRules, CleanupService

    clients = clients or Clients()
    return CleanupService(
        _session_store(clients),
        _draft_store(clients),
        _files(clients),
        _drafts_bucket(clients),
        CleanupRules(),
        tails=S3TusParts(
            clients.s3, upload_settings().files_bucket, draft_settings().drafts_bucket
        ),
        archives=(_archive_store(clients), _archive_objects(clients)),
    )


def build_archive_service(clients: Clients | None = None) -> ArchiveService:
    from stowage.adapters.archives import LambdaBuildTrigger
    from stowage.domain.archives import ArchiveRules, ArchiveService

    clients = clients or Clients()
    settings = archive_settings()
    rules = ArchiveRules(
        max_bytes=settings.archive_max_bytes,
        lifetime=timedelta(seconds=settings.archive_lifetime),
        url_ttl=upload_settings().part_url_ttl,
    )
    trigger = LambdaBuildTrigger(clients.lambda_, settings.archive_builder_function)
    return ArchiveService(
        _archive_store(clients), _files(clients), _archive_objects(clients), trigger, rules
    )


def build_archive_builder(clients: Clients | None = None) -> ArchiveBuilder:
    from stowage.adapters.archives import S3RangeReader
    from stowage.domain.archives import ArchiveBuilder

    clients = clients or Clients()
    reader = S3RangeReader(clients.s3, upload_settings().files_bucket)
    return ArchiveBuilder(_archive_store(clients), _archive_objects(clients), reader)


def _archive_store(clients: Clients) -> DynamoArchiveStore:
    from stowage.adapters.archives import DynamoArchiveStore

    table = upload_settings().uploads_table
    return DynamoArchiveStore(clients.dynamodb, table, _retention())


def _archive_objects(clients: Clients) -> S3ArchiveObjects:
    from stowage.adapters.archives import S3ArchiveObjects

    return S3ArchiveObjects(clients.s3, draft_settings().drafts_bucket)


def build_catalog(clients: Clients | None = None) -> Catalog:
    from stowage.adapters.index import DynamoIndexStore
    from stowage.domain.catalog import Catalog, CatalogRules

    clients = clients or Clients()
    settings = upload_settings()
    index = DynamoIndexStore(clients.dynamodb, settings.uploads_table)
    return Catalog(index, _files(clients), CatalogRules(keep_backups=settings.backup_keep))


def _files(clients: Clients) -> S3ObjectStore:
    from stowage.adapters.s3 import S3ObjectStore

    return S3ObjectStore(clients.s3, upload_settings().files_bucket)


def _drafts_bucket(clients: Clients) -> S3ObjectStore:
    from stowage.adapters.s3 import S3ObjectStore

    return S3ObjectStore(clients.s3, draft_settings().drafts_bucket)


def _retention() -> timedelta:
    return timedelta(days=upload_settings().record_retention_days)


def _session_store(clients: Clients) -> DynamoSessionStore:
    from stowage.adapters.dynamodb import DynamoSessionStore

    table = upload_settings().uploads_table
    return DynamoSessionStore(clients.dynamodb, table, _retention())


def _draft_store(clients: Clients) -> DynamoDraftStore:
    from stowage.adapters.drafts import DynamoDraftStore

    table = upload_settings().uploads_table
    return DynamoDraftStore(clients.dynamodb, table, _retention())


def build_authorizer(clients: Clients | None = None) -> KeyAuthorizer:
    from stowage.adapters.clients import DynamoClientStore
    from stowage.adapters.secrets import api_key_pepper
    from stowage.domain.clients import KeyAuthorizer

    clients = clients or Clients()
    store = DynamoClientStore(clients.dynamodb, auth_settings().clients_table)
    return KeyAuthorizer(store, api_key_pepper, utc_now)


def build_client_admin(clients: Clients | None = None) -> ClientAdmin:
    from stowage.adapters.clients import DynamoClientStore
    from stowage.adapters.secrets import api_key_pepper
    from stowage.domain.clients import ClientAdmin

    clients = clients or Clients()
    store = DynamoClientStore(clients.dynamodb, auth_settings().clients_table)
    return ClientAdmin(store, api_key_pepper, utc_now)


def build_tus_service(clients: Clients | None = None) -> TusService:
    from stowage.adapters.tus import DynamoTusStore, S3TusParts
    from stowage.domain.tus import TusRules, TusService

    clients = clients or Clients()
    settings = upload_settings()
    sessions = DynamoTusStore(clients.dynamodb, settings.uploads_table, _retention())
    tails = S3TusParts(clients.s3, settings.files_bucket, draft_settings().drafts_bucket)
    rules = TusRules(session_idle=timedelta(days=settings.session_idle_days))
    return TusService(build_upload_service(clients), sessions, tails, rules)


def build_token_service(clients: Clients | None = None) -> TokenService:
    from stowage.adapters.tokens import DynamoFileCounter, upload_token_secret
    from stowage.domain.tokens import TokenService, TokenSigner

    clients = clients or Clients()
    settings = upload_settings()
    counter = DynamoFileCounter(clients.dynamodb, settings.uploads_table)
    return TokenService(TokenSigner(upload_token_secret), counter, settings.max_file_size)


def build_companion_service(clients: Clients | None = None) -> CompanionService:
    from stowage.adapters.clients import DynamoClientStore, EnabledClients
    from stowage.domain.companion import CompanionRules, CompanionService

    clients = clients or Clients()
    enabled = EnabledClients(DynamoClientStore(clients.dynamodb, auth_settings().clients_table))
    rules = CompanionRules(
        post_ttl=draft_settings().upload_ttl, part_url_ttl=upload_settings().part_url_ttl
    )
    return CompanionService(
        build_token_service(clients),
        enabled,
        build_upload_service(clients),
        _drafts_bucket(clients),
        rules,
    )


def build_post_registrar(clients: Clients | None = None) -> PostRegistrar:
    from stowage.adapters.tokens import upload_token_secret
    from stowage.domain.companion import PostRegistrar
    from stowage.domain.tokens import TokenSigner

    clients = clients or Clients()
    return PostRegistrar(
        TokenSigner(upload_token_secret), build_draft_service(clients), _drafts_bucket(clients)
    )
