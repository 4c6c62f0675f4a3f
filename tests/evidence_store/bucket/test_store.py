"""The object store against a real S3 server: Object Lock holds, checksums are checked by the
server, a lock-less bucket is refused, reads stream the locked first version."""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from evidence_store.bucket.store import S3Access, S3Store, stored_problems
from evidence_store.bucket.wire import (
    ContentMismatchError,
    ObjectStoreUnavailableError,
    S3RequestError,
    b64,
    lock_headers,
    translated,
)
from evidence_store.errors import ObjectExistsError, StoreError
from evidence_store.settings import S3Settings
from tests.support.s3 import S3Target, new_bucket

DAY = timedelta(days=1)


def connect(target: S3Target, name: str, *, part_size_mib: int = 5) -> S3Store:
    settings = S3Settings(part_size_mib=part_size_mib, connect_timeout_seconds=2)
    return S3Store.connect(S3Access.from_settings(settings, target.env(name)))


def until() -> datetime:
    return (datetime.now(UTC) + DAY).replace(microsecond=0)


def put(store: S3Store, key: str, data: bytes) -> None:
    store.put(
        key,
        data=data,
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        retain_until=until(),
    )


def test_a_bucket_without_object_lock_is_refused_even_with_versioning(
    s3_target: S3Target,
) -> None:
    from minio.versioningconfig import ENABLED, VersioningConfig

    name = new_bucket(s3_target, object_lock=False)
    s3_target.client().set_bucket_versioning(name, VersioningConfig(ENABLED))
    with pytest.raises(StoreError, match=r"created without Object Lock.*refusing to use it"):
        connect(s3_target, name)


def test_a_missing_bucket_is_refused_unless_asked_to_create_it(s3_target: S3Target) -> None:
    name = f"sealroom-test-absent-{os.urandom(4).hex()}"
    access = S3Access.from_settings(S3Settings(), s3_target.env(name))
    with pytest.raises(StoreError, match=r"no bucket .* create it with Object Lock"):
        S3Store.connect(access)
    S3Store.connect(access, create_bucket=True)
    assert s3_target.client().get_object_lock_config(name) is not None


def test_an_unreachable_server_is_an_outage_not_a_refusal(s3_target: S3Target) -> None:
    env = {
        **s3_target.env("nobody"),
        "SEALROOM_S3_ENDPOINT": "127.0.0.1:9",
    }  # discard: nobody there
    access = S3Access.from_settings(S3Settings(connect_timeout_seconds=1), env)
    with pytest.raises(ObjectStoreUnavailableError, match="unreachable"):
        S3Store.connect(access)


def test_the_server_refuses_bytes_that_do_not_match_their_checksum(
    s3_target: S3Target, bucket: str
) -> None:
    store = connect(s3_target, bucket)
    data = b"segment bytes"
    headers = {
        "x-amz-checksum-sha256": b64(hashlib.sha256(b"other bytes").digest()),
        **lock_headers(until(), hashlib.sha256(data).hexdigest()),
    }
    with pytest.raises(S3RequestError) as refused, translated("put"):
        store.wire.request("PUT", "sessions/x/a", body=data, headers=headers)
    assert refused.value.code == "BadDigest"
    assert store.list_keys("sessions/x/") == []


def test_a_put_whose_bytes_are_not_the_sealed_ones_writes_nothing(
    s3_target: S3Target, bucket: str, tmp_path: Path
) -> None:
    store = connect(s3_target, bucket)
    with pytest.raises(ContentMismatchError, match="does not match its sealed SHA-256"):
        store.put("sessions/x/a", data=b"abc", sha256="0" * 64, size=3, retain_until=until())
    big = tmp_path / "big"
    big.write_bytes(os.urandom(11 * 1024 * 1024))
    with pytest.raises(ContentMismatchError):
        store.put(
            "sessions/x/big", path=big, sha256="0" * 64, size=11 * 1024**2, retain_until=until()
        )
    assert store.list_keys("sessions/x/") == []
    uploads = s3_target.boto3().list_multipart_uploads(Bucket=bucket, Prefix="sessions/x/")
    assert uploads.get("Uploads", []) == []  # aborted, not left behind


def test_object_lock_holds_delete_shorten_and_overwrite_all_fail(
    s3_target: S3Target, bucket: str
) -> None:
    store = connect(s3_target, bucket)
    key = "sessions/x/segments/000000.mp4"
    original = os.urandom(2000)
    put(store, key, original)
    boto = s3_target.boto3()
    version = store.head_first(key)
    assert version is not None and version.version_id
    locked_until = version.retain_until
    assert locked_until is not None

    with pytest.raises(ClientError) as deleted:
        boto.delete_object(Bucket=bucket, Key=key, VersionId=version.version_id)
    assert deleted.value.response["Error"]["Code"] == "AccessDenied"
    with pytest.raises(ClientError):
        boto.put_object_retention(
            Bucket=bucket,
            Key=key,
            VersionId=version.version_id,
            Retention={"Mode": "COMPLIANCE", "RetainUntilDate": locked_until - timedelta(hours=1)},
        )
    with pytest.raises(ClientError):
        boto.put_object_retention(
            Bucket=bucket,
            Key=key,
            VersionId=version.version_id,
            Retention={"Mode": "GOVERNANCE", "RetainUntilDate": locked_until},
            BypassGovernanceRetention=True,
        )
    with pytest.raises(ObjectExistsError, match="already holds other bytes"):
        put(store, key, b"a spliced-in segment")  # our own writes are conditional

    # A plain PUT and a plain DELETE only stack a new version / a delete marker on top:
    # the locked original stays, and it is what the store reads.
    boto.put_object(Bucket=bucket, Key=key, Body=b"replacement")
    boto.delete_object(Bucket=bucket, Key="sessions/x/segments/000000.mp4")
    fresh = connect(s3_target, bucket)
    assert fresh.read_bytes(key) == original
    assert fresh.shadowed("sessions/x/") == [key]
    again = fresh.head(key, version_id=version.version_id)
    assert again is not None and again.retain_until == locked_until

    # Extending is allowed (that is how a longer category is applied).
    store.extend_retention(key, version.version_id, locked_until + DAY)
    extended = store.head(key, version_id=version.version_id)
    assert extended is not None and extended.retain_until == locked_until + DAY


def test_writes_are_idempotent_and_carry_the_servers_checksum(
    s3_target: S3Target, bucket: str
) -> None:
    store = connect(s3_target, bucket)
    data = os.urandom(5000)
    digest = hashlib.sha256(data).hexdigest()
    first = store.put("sessions/x/a", data=data, sha256=digest, size=5000, retain_until=until())
    second = store.put("sessions/x/a", data=data, sha256=digest, size=5000, retain_until=until())
    assert first.version_id == second.version_id
    versions = s3_target.boto3().list_object_versions(Bucket=bucket, Prefix="sessions/x/a")
    assert len(versions["Versions"]) == 1
    info = store.head_first("sessions/x/a")
    assert info is not None
    assert stored_problems(info, sha256=digest, size=5000, retain_until=first.retain_until) == []  # type: ignore[arg-type]
    assert stored_problems(info, sha256=digest, size=5000, retain_until=until() + DAY) == [
        "retention ends too early"
    ]


def test_a_large_object_goes_multipart_with_a_composite_checksum_and_streams_back(
    s3_target: S3Target, bucket: str, tmp_path: Path
) -> None:
    store = connect(s3_target, bucket)
    path = tmp_path / "big.mp4"
    path.write_bytes(os.urandom(12 * 1024 * 1024 + 17))
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    size = path.stat().st_size
    stored = store.put("sessions/x/big", path=path, sha256=digest, size=size, retain_until=until())
    assert stored.checksum is not None and stored.checksum.endswith("-3")
    info = store.head_first("sessions/x/big")
    assert info is not None and info.part_size == 5 * 1024 * 1024
    assert (
        stored_problems(info, sha256=digest, size=size, retain_until=until() - DAY, local=path)
        == []
    )
    streamed = hashlib.sha256()
    with store.open_read("sessions/x/big") as handle:
        while chunk := handle.read(1 << 20):
            streamed.update(chunk)
    assert streamed.hexdigest() == digest


def test_a_missing_object_is_file_not_found_like_the_filesystem_store(
    s3_target: S3Target, bucket: str
) -> None:
    store = connect(s3_target, bucket)
    assert not store.exists("sessions/x/none")
    with pytest.raises(FileNotFoundError):
        store.read_bytes("sessions/x/none")
    assert store.head("sessions/x/none") is None
