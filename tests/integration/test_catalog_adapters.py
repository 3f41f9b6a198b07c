"""The catalog's adapters under moto: the index item's locking, archive tags, hashing."""

from __future__ import annotations

import hashlib

import boto3

from stowage.adapters.index import DynamoIndexStore
from stowage.adapters.s3 import S3ObjectStore
from stowage.domain.catalog import BACKUP_TAG, UserIndex
from stowage.models.identity import Owner

OWNER = Owner(client_id="app", key_prefix="app", role="user", user_id="u1")


def test_the_index_item_is_written_only_over_the_version_it_was_read_at(stack, table):
    # Given
    store = DynamoIndexStore(boto3.client("dynamodb"), table)
    read = store.load(OWNER)
    # When
    first = store.save(OWNER, read)
    stale = store.save(OWNER, read)
    fresh = store.save(OWNER, store.load(OWNER))
    # Then
    assert (read.version, first, stale, fresh) == (0, True, False, True)
    assert store.load(OWNER).version == 2
    assert isinstance(store.load(OWNER), UserIndex)


def test_archive_moves_and_tags_and_keeps_metadata(stack, bucket):
    # Given
    s3 = boto3.client("s3")
    s3.put_object(Bucket=bucket, Key="a/1.sqlite", Body=b"db", Metadata={"client": "app"})
    store = S3ObjectStore(s3, bucket)
    # When
    store.archive("a/1.sqlite", "a/backup/1.sqlite", BACKUP_TAG)
    # Then
    tags = s3.get_object_tagging(Bucket=bucket, Key="a/backup/1.sqlite")["TagSet"]
    assert tags == [{"Key": "stowage-area", "Value": "backup"}]
    assert s3.head_object(Bucket=bucket, Key="a/backup/1.sqlite")["Metadata"] == {"client": "app"}
    assert store.head("a/1.sqlite") is None


def test_sha256_of_streams_the_object(stack, bucket):
    data = b"x" * (3 * 1024 * 1024 + 5)
    boto3.client("s3").put_object(Bucket=bucket, Key="big", Body=data)
    store = S3ObjectStore(boto3.client("s3"), bucket)
    assert store.sha256_of("big") == hashlib.sha256(data).hexdigest()


def test_the_template_lifecycle_moves_tagged_backups_to_infrequent_access(stack, bucket):
    rules = boto3.client("s3").get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    tagged = [r for r in rules if r["ID"] == "ArchivedBackupsToInfrequentAccess"]
    assert tagged and tagged[0]["Transitions"][0]["StorageClass"] == "STANDARD_IA"
    assert tagged[0]["Filter"] == {"Tag": {"Key": "stowage-area", "Value": "backup"}}


def test_concurrent_appends_of_one_user_all_land(stack, table):
    # Given sixteen files of one user recorded at once, as parallel uploads finish
    import threading
    from datetime import UTC, datetime

    from stowage.domain.catalog import IndexEntry

    store = DynamoIndexStore(boto3.client("dynamodb"), table)
    now = datetime.now(UTC)
    entries = [
        IndexEntry(key=f"k/{n}", file_name=f"{n}", category="other", size=1, stored_at=now)
        for n in range(16)
    ]
    threads = [threading.Thread(target=store.append, args=(OWNER, e, (100, 100))) for e in entries]
    # When
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Then: every one is there, without a single conflict to retry
    index = store.load(OWNER)
    assert sorted(e.key for e in index.recent) == sorted(e.key for e in entries)
    assert index.version == 16 and index.by_category["other"].key in {e.key for e in entries}


def test_an_append_tells_when_a_list_grows_past_its_bound(stack, table):
    # Given an index whose bounds are two recent files and one backup
    from datetime import UTC, datetime

    from stowage.domain.catalog import IndexEntry

    store = DynamoIndexStore(boto3.client("dynamodb"), table)
    now = datetime.now(UTC)

    def entry(n: int, app: str | None = None) -> IndexEntry:
        return IndexEntry(
            key=f"k/{n}", file_name=f"{n}", category="other", size=1, stored_at=now, app=app
        )

    # When files and then backups are appended
    answers = [store.append(OWNER, entry(n), (2, 1)) for n in range(3)]
    backup = store.append(OWNER, entry(3, app="db"), (5, 1))
    second_backup = store.append(OWNER, entry(4, app="db"), (6, 1))

    # Then only the append that makes a list longer than its bound says so, and every
    # append lands, past the bound too (the caller trims)
    assert answers == [False, False, True]
    assert (backup, second_backup) == (False, True)
    index = store.load(OWNER)
    assert [e.key for e in index.recent] == [f"k/{n}" for n in (4, 3, 2, 1, 0)]
    assert [e.key for e in index.backups] == ["k/4", "k/3"]
