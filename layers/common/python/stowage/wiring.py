"""The composition root: settings → clients → adapters → services.

Handlers call these once, at module scope, so a Lambda container builds its
clients once; tests build services from their own (moto-backed or fake) parts.
"""

from __future__ import annotations

from datetime import timedelta

from stowage.adapters.archives import (
    DynamoArchiveStore,
    LambdaBuildTrigger,
    S3ArchiveObjects,
    S3RangeReader,
)
from stowage.adapters.aws import dynamodb_client, lambda_client, s3_client
from stowage.adapters.clients import DynamoClientStore, EnabledClients
from stowage.adapters.drafts import DynamoDraftStore
from stowage.adapters.dynamodb import DynamoSessionStore
from stowage.adapters.index import DynamoIndexStore
from stowage.adapters.s3 import S3ObjectStore
from stowage.adapters.secrets import api_key_pepper
from stowage.adapters.tokens import DynamoFileCounter, upload_token_secret
from stowage.adapters.tus import DynamoTusStore, S3TusParts
from stowage.adapters.usage import DynamoUsageStore
from stowage.config import archive_settings, auth_settings, draft_settings, upload_settings
from stowage.domain.archives import ArchiveBuilder, ArchiveRules, ArchiveService
from stowage.domain.catalog import Catalog, CatalogRules
from stowage.domain.cleanup import CleanupRules, CleanupService
from stowage.domain.clients import ClientAdmin, KeyAuthorizer
from stowage.domain.clock import utc_now
from stowage.domain.companion import CompanionRules, CompanionService, PostRegistrar
from stowage.domain.drafts import DraftRules, DraftService
from stowage.domain.files import FileRules, FileService
from stowage.domain.tokens import TokenService, TokenSigner
from stowage.domain.tus import TusRules, TusService
from stowage.domain.uploads import UploadRules, UploadService
from stowage.domain.usage import UsageRecorder, UsageService
from stowage.observability import logger, metrics


def build_upload_service() -> UploadService:
    settings = upload_settings()
    rules = UploadRules(
        part_url_ttl=settings.part_url_ttl,
        default_part_size=settings.default_part_size,
        max_file_size=settings.max_file_size,
        session_idle=timedelta(days=settings.session_idle_days),
        record_retention=_retention(),
    )
    return UploadService(_session_store(), _files(), rules, build_catalog(), usage=_usage())


def build_file_service() -> FileService:
    rules = FileRules(url_ttl=upload_settings().part_url_ttl)
    return FileService(_files(), rules, build_catalog(), usage=_usage())


def build_draft_service() -> DraftService:
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
        usage=_usage(),
    )


def build_usage_service() -> UsageService:
    return UsageService(_usage_store())


def _usage_store() -> DynamoUsageStore:
    return DynamoUsageStore(dynamodb_client(), upload_settings().uploads_table)


def _usage() -> UsageRecorder:
    def failed(error: Exception) -> None:
        logger.warning("usage counter not written", extra={"error": type(error).__name__})
        metrics.add_metric(name="usage_write_failed", unit="Count", value=1)

    return UsageRecorder(_usage_store(), on_failure=failed)


def build_cleanup_service() -> CleanupService:
    drafts = draft_settings()
    return CleanupService(
        _session_store(),
        _draft_store(),
        _files(),
        S3ObjectStore(s3_client(), drafts.drafts_bucket),
        CleanupRules(),
        tails=S3TusParts(s3_client(), upload_settings().files_bucket, drafts.drafts_bucket),
        archives=(_archive_store(), _archive_objects()),
    )


def build_archive_service() -> ArchiveService:
    settings = archive_settings()
    rules = ArchiveRules(
        max_bytes=settings.archive_max_bytes,
        lifetime=timedelta(seconds=settings.archive_lifetime),
        url_ttl=upload_settings().part_url_ttl,
    )
    trigger = LambdaBuildTrigger(lambda_client(), settings.archive_builder_function)
    return ArchiveService(_archive_store(), _files(), _archive_objects(), trigger, rules)


def build_archive_builder() -> ArchiveBuilder:
    reader = S3RangeReader(s3_client(), upload_settings().files_bucket)
    return ArchiveBuilder(_archive_store(), _archive_objects(), reader)


def _archive_store() -> DynamoArchiveStore:
    return DynamoArchiveStore(dynamodb_client(), upload_settings().uploads_table, _retention())


def _archive_objects() -> S3ArchiveObjects:
    return S3ArchiveObjects(s3_client(), draft_settings().drafts_bucket)


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
    return DynamoDraftStore(dynamodb_client(), upload_settings().uploads_table, _retention())


def build_authorizer() -> KeyAuthorizer:
    store = DynamoClientStore(dynamodb_client(), auth_settings().clients_table)
    return KeyAuthorizer(store, api_key_pepper, utc_now)


def build_client_admin() -> ClientAdmin:
    store = DynamoClientStore(dynamodb_client(), auth_settings().clients_table)
    return ClientAdmin(store, api_key_pepper, utc_now)


def build_tus_service() -> TusService:
    settings = upload_settings()
    sessions = DynamoTusStore(dynamodb_client(), settings.uploads_table, _retention())
    tails = S3TusParts(s3_client(), settings.files_bucket, draft_settings().drafts_bucket)
    rules = TusRules(session_idle=timedelta(days=settings.session_idle_days))
    return TusService(build_upload_service(), sessions, tails, rules)


def build_token_service() -> TokenService:
    settings = upload_settings()
    counter = DynamoFileCounter(dynamodb_client(), settings.uploads_table)
    return TokenService(TokenSigner(upload_token_secret), counter, settings.max_file_size)


def build_companion_service() -> CompanionService:
    clients = EnabledClients(DynamoClientStore(dynamodb_client(), auth_settings().clients_table))
    rules = CompanionRules(
        post_ttl=draft_settings().upload_ttl, part_url_ttl=upload_settings().part_url_ttl
    )
    drafts = S3ObjectStore(s3_client(), draft_settings().drafts_bucket)
    return CompanionService(build_token_service(), clients, build_upload_service(), drafts, rules)


def build_post_registrar() -> PostRegistrar:
    drafts = S3ObjectStore(s3_client(), draft_settings().drafts_bucket)
    return PostRegistrar(TokenSigner(upload_token_secret), build_draft_service(), drafts)
