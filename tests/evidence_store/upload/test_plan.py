"""The uploader's decisions without a server: order, damage, holds, backoff, pacing, alarms,
retention by category, and settings from the environment."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from evidence_store import layout, token_name
from evidence_store.bucket.retention import RetentionPolicy
from evidence_store.bucket.store import S3Access, S3Store
from evidence_store.errors import UsageError
from evidence_store.outbox import Backoff
from evidence_store.settings import RetentionSettings, S3Settings, UploaderSettings
from evidence_store.upload.spool import Spool, SpoolObject
from evidence_store.upload.state import UploaderState
from evidence_store.upload.uploader import RateLimit, Uploader, spool_alarms
from tests.support.s3 import METADATA, data_dir, random_segments, write_session
from tests.support.tsa import TsaServer, tsa_client


def spool_of(root: Path) -> Spool:
    data = data_dir(root)
    return Spool(
        data.store(),
        RetentionPolicy(data.settings.s3.retention),
        quarantine_root=root / "quarantine",
    )


def relative(objects: list[SpoolObject], session_id: str) -> list[str]:
    prefix = layout.session_prefix(session_id)
    return [o.key.removeprefix(prefix) for o in objects]


def test_a_sealed_session_leaves_segment_link_signature_in_chain_order_seal_last(
    tmp_path: Path,
) -> None:
    data = data_dir(tmp_path)
    session_id = write_session(data, random_segments(2), pause_after=0)
    plan = spool_of(tmp_path).plan(session_id)
    assert plan.complete and plan.held is None and not plan.damaged
    assert relative(plan.objects, session_id) == [
        "signer/public_key.pem",
        "signer/certificate.pem",
        "chain/000000.json",  # session_started
        "chain/000000.sig",
        "segments/000000.mp4",
        "chain/000001.json",
        "chain/000001.sig",
        "chain/000002.json",  # paused
        "chain/000002.sig",
        "chain/000003.json",  # resumed
        "chain/000003.sig",
        "segments/000001.mp4",
        "chain/000004.json",
        "chain/000004.sig",
        "chain/000005.json",  # stopped
        "chain/000005.sig",
        "SHA256SUMS",
        "SHA256SUMS.sig",
        "manifest.json",
        "manifest.sig",
    ]
    started = plan.objects[0].retain_until - timedelta(days=1)
    assert all(o.retain_until == plan.objects[0].retain_until for o in plan.objects)
    assert started.microsecond == 0 and abs(started - datetime.now(UTC)) < timedelta(minutes=1)


def test_an_open_session_leaves_what_is_sealed_so_far_and_nothing_of_the_seal(
    tmp_path: Path,
) -> None:
    data = data_dir(tmp_path)
    session_id = write_session(data, random_segments(2), seal=False)
    plan = spool_of(tmp_path).plan(session_id)
    assert not plan.sealed and not plan.complete and plan.held is None
    names = relative(plan.objects, session_id)
    assert names[-3:] == ["segments/000001.mp4", "chain/000002.json", "chain/000002.sig"]
    assert "manifest.json" not in names


def test_time_stamp_tokens_leave_after_the_seal_and_a_stray_one_holds_the_session(
    tmp_path: Path, tsa: TsaServer
) -> None:
    data = data_dir(tmp_path)
    session_id = write_session(data, random_segments(1))
    store, prefix = data.store(), layout.session_prefix(session_id)
    for name in ("chain/000000.json", "manifest.json"):
        token = tsa_client(tsa).stamp(store.read_bytes(prefix + name))
        store.put_bytes(prefix + token_name(name), token)
    plan = spool_of(tmp_path).plan(session_id)
    assert plan.complete and plan.held is None
    assert relative(plan.objects, session_id)[-4:] == [
        "manifest.json",
        "manifest.sig",
        "chain/000000.tsr",
        "manifest.tsr",
    ]
    store.put_bytes(prefix + "chain/000099.tsr", store.read_bytes(prefix + "manifest.tsr"))
    held = spool_of(tmp_path).plan(session_id)
    assert held.held is not None and "chain/000099.tsr" in held.held


def test_a_case_category_sets_a_longer_retention(tmp_path: Path) -> None:
    data = data_dir(tmp_path)
    serious = METADATA.model_copy(update={"case_number": "HS-12/2026"})
    session_id = write_session(data, random_segments(1), metadata=serious)
    plan = spool_of(tmp_path).plan(session_id)
    start = plan.objects[0].retain_until - timedelta(days=2)
    assert abs(start - datetime.now(UTC)) < timedelta(minutes=1)


def _damage(path: Path) -> None:
    path.chmod(0o644)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def test_a_damaged_link_of_a_sealed_session_is_found_by_sha256sums(tmp_path: Path) -> None:
    data = data_dir(tmp_path)
    session_id = write_session(data, random_segments(2))
    _damage(data.evidence / layout.session_prefix(session_id) / "chain/000001.json")
    plan = spool_of(tmp_path).plan(session_id)
    assert [d.key.rsplit("/", 2)[-2:] for d in plan.damaged] == [["chain", "000001.json"]]
    assert not plan.complete
    names = relative(plan.objects, session_id)
    assert "chain/000001.json" not in names and "chain/000001.sig" in names
    assert "segments/000000.mp4" in names  # still sealed by SHA256SUMS


def test_a_damaged_signature_in_an_open_session_is_told_apart_by_the_next_link(
    tmp_path: Path,
) -> None:
    data = data_dir(tmp_path)
    session_id = write_session(data, random_segments(2), seal=False)
    _damage(data.evidence / layout.session_prefix(session_id) / "chain/000001.sig")
    plan = spool_of(tmp_path).plan(session_id)
    assert [d.key.rsplit("/", 1)[-1] for d in plan.damaged] == ["000001.sig"]
    assert plan.damaged[0].reason == "does not verify its link"
    assert "chain/000001.json" in relative(plan.objects, session_id)


def test_a_damaged_newest_link_holds_the_open_session_until_it_can_be_told(
    tmp_path: Path,
) -> None:
    data = data_dir(tmp_path)
    session_id = write_session(data, random_segments(2), seal=False)
    _damage(data.evidence / layout.session_prefix(session_id) / "chain/000002.json")
    plan = spool_of(tmp_path).plan(session_id)
    assert plan.held is not None and "000002.json" in plan.held
    assert not plan.damaged
    assert relative(plan.objects, session_id)[-1] == "chain/000001.sig"


def test_a_seal_that_does_not_check_out_holds_the_seal_back(tmp_path: Path) -> None:
    data = data_dir(tmp_path)
    session_id = write_session(data, random_segments(1))
    _damage(data.evidence / layout.session_prefix(session_id) / "manifest.sig")
    plan = spool_of(tmp_path).plan(session_id)
    assert plan.held is not None and "manifest.sig" in plan.held
    assert not plan.sealed and not plan.complete
    names = relative(plan.objects, session_id)
    assert names[-1] == "chain/000002.sig" and "manifest.json" not in names


def test_a_certificate_that_link_0_does_not_name_is_damaged(tmp_path: Path) -> None:
    data = data_dir(tmp_path)
    session_id = write_session(data, random_segments(1))
    _damage(data.evidence / layout.session_prefix(session_id) / "signer/certificate.pem")
    plan = spool_of(tmp_path).plan(session_id)
    assert [d.key.rsplit("/", 1)[-1] for d in plan.damaged] == ["certificate.pem"]


def test_the_backlog_is_known_without_the_object_store(tmp_path: Path) -> None:
    data = data_dir(tmp_path)
    write_session(data, random_segments(3, 1000))
    write_session(data, random_segments(1, 1000), seal=False)
    spool = spool_of(tmp_path)

    def down() -> S3Store:
        raise AssertionError("the backlog must not need the server")

    uploader = Uploader(
        spool,
        UploaderState(tmp_path / "state.json", "nowhere"),
        UploaderSettings(alarm_free_bytes=0, alarm_free_percent=0),
        connect=down,
        device_key=data.signer().public_key,
        custody=None,
    )
    backlog = uploader.backlog()
    assert backlog.sessions == 2 and backlog.open_sessions == 1
    assert backlog.objects == 19 + 7  # a sealed session of 3 segments; 1 segment so far
    assert backlog.bytes > 4000
    assert backlog.oldest_age_seconds is not None and backlog.oldest_age_seconds < 60
    assert backlog.alarms == [] and not backlog.needs_attention


def test_spool_alarms_fire_on_a_filling_disk_and_an_old_backlog() -> None:
    settings = UploaderSettings(
        alarm_free_bytes=10 * 1024**3, alarm_free_percent=10, alarm_backlog_age_seconds=600
    )
    gib = 1024**3
    assert spool_alarms(settings, free=50 * gib, total=100 * gib, oldest_age=5, where=Path()) == []
    low = spool_alarms(settings, free=5 * gib, total=100 * gib, oldest_age=None, where=Path("/s"))
    assert len(low) == 1 and low[0].startswith("spool filling: 5.0 GiB free (5%) on /s")
    share = spool_alarms(settings, free=15 * gib, total=200 * gib, oldest_age=None, where=Path())
    assert share and "(8%)" in share[0]
    old = spool_alarms(settings, free=50 * gib, total=100 * gib, oldest_age=1200, where=Path())
    assert old == ["upload backlog: the oldest object has waited 20 min (alarm after 10 min)"]


def test_backoff_grows_to_its_cap_with_jitter_and_never_drops_to_zero() -> None:
    backoff = Backoff(initial=1.0, maximum=8.0, rng=random.Random(7))
    delays = [backoff.next_delay() for _ in range(8)]
    ceilings = [1, 2, 4, 8, 8, 8, 8, 8]
    for delay, ceiling in zip(delays, ceilings, strict=True):
        assert ceiling / 2 <= delay <= ceiling
    assert len(set(delays)) == len(delays)  # jittered
    backoff.reset()
    assert backoff.next_delay() <= 1.0


def test_rate_limit_paces_bytes_to_the_configured_rate() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    limit = RateLimit(1000, clock=lambda: now[0], sleep=sleep)
    for _ in range(5):
        limit(500)
    assert now[0] == pytest.approx(2.0)  # 2500 bytes at 1000 B/s: the last chunk starts at 2 s


def test_the_first_matching_rule_picks_the_category() -> None:
    policy = RetentionPolicy(
        RetentionSettings(
            categories={"default": 3650, "serious": 7300, "juvenile": 9000},
            rules=[
                {"category": "juvenile", "unit": "vị thành niên"},  # type: ignore[list-item]
                {"category": "serious", "case_number": "^HS-"},  # type: ignore[list-item]
            ],
        )
    )
    assert policy.category(METADATA) == "default"
    assert policy.category(METADATA.model_copy(update={"case_number": "HS-1"})) == "serious"
    start = datetime(2026, 1, 1, 8, 30, 15, 999999, tzinfo=UTC)
    assert policy.session_until(METADATA, start) == datetime(2035, 12, 30, 8, 30, 15, tzinfo=UTC)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"categories": {"x": 5}}, "default_category 'default' is not in categories"),
        ({"categories": {"default": 0}}, "retention must be 1 to 36500 days"),
        ({"rules": [{"category": "nope", "room": "a"}]}, "unknown category 'nope'"),
        ({"rules": [{"category": "default"}]}, "at least one of"),
        ({"rules": [{"category": "default", "room": "("}]}, "not a regular expression"),
    ],
)
def test_bad_retention_settings_are_refused(settings: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RetentionSettings.model_validate(settings)


def test_the_environment_alone_configures_the_object_store() -> None:
    env = {
        "SEALROOM_S3_ENDPOINT": "minio.vks.local:9000",
        "SEALROOM_S3_ACCESS_KEY": "AKIA-room-1",
        "SEALROOM_S3_SECRET_KEY": "s3cr3t-value",
        "SEALROOM_S3_BUCKET": "evidence",
        "SEALROOM_S3_SECURE": "1",
    }
    access = S3Access.from_settings(S3Settings(endpoint="other:1", secure=False), env)
    assert (access.endpoint, access.bucket, access.secure) == (
        "minio.vks.local:9000",
        "evidence",
        True,
    )
    assert access.describe() == "https://minio.vks.local:9000/evidence"
    assert "s3cr3t" not in repr(access) and "AKIA" not in repr(access)
    assert S3Access.from_settings(S3Settings(), {**env, "SEALROOM_S3_SECURE": "0"}).secure is False


def test_credentials_may_come_from_files(tmp_path: Path) -> None:
    (tmp_path / "access").write_text("from-file\n")
    (tmp_path / "secret").write_text("secret-from-file\n")
    settings = S3Settings(
        endpoint="h:1",
        bucket="evidence",
        access_key_file=tmp_path / "access",
        secret_key_file=tmp_path / "secret",
    )
    access = S3Access.from_settings(settings, {})
    assert (access.access_key, access.secret_key) == ("from-file", "secret-from-file")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "SEALROOM_S3_ENDPOINT"),
        ({"SEALROOM_S3_ENDPOINT": "http://h:9000"}, "must be host:port"),
        ({"SEALROOM_S3_ENDPOINT": "h:9000"}, "SEALROOM_S3_BUCKET"),
        ({"SEALROOM_S3_ENDPOINT": "h:9000", "SEALROOM_S3_BUCKET": "bk"}, "not an S3 bucket name"),
        ({"SEALROOM_S3_ENDPOINT": "h:9000", "SEALROOM_S3_BUCKET": "bkt"}, "SEALROOM_S3_ACCESS_KEY"),
        ({"SEALROOM_S3_SECURE": "yes"}, "0 or 1"),
    ],
)
def test_an_incomplete_configuration_says_what_is_missing(
    env: dict[str, str], message: str
) -> None:
    with pytest.raises(UsageError, match=message):
        S3Access.from_settings(S3Settings(), env)
